package render

import (
	"os"
	"path/filepath"
	"testing"
)

func renderYAML(t *testing.T, opts Options) string {
	t.Helper()
	result, err := Render(opts)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	out, err := result.YAML()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: ghcr.io/acme/web:v1
`

func readFile(t *testing.T, root, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
