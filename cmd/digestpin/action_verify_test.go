package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestActionVerifies: command verify passes its inputs to digestpin verify
// as flags, promote's record as a file, the server and the token through
// the environment only, and asks for --output json.
func TestActionVerifies(t *testing.T) {
	dir := t.TempDir()
	record := `{"commit":"4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70","pushed":true}`
	r, outputs, args := runAction(t, dir, "", map[string]string{
		"command":           "verify",
		"app":               "shop-prod",
		"promote-result":    record,
		"timeout":           "3m",
		"grpc-web":          "true",
		"argocd-server":     "argocd.example.com:443",
		"argocd-auth-token": "secret-argocd-token",
	})
	temp := filepath.Dir(filepath.Dir(args[slices.Index(args, "--promote-result")+1]))
	want := []string{"verify", "--app", "shop-prod", "--promote-result", filepath.Join(temp, "digestpin-action", "promote.json"),
		"--timeout", "3m", "--refresh", "--grpc-web", "--output", "json"}
	if !slices.Equal(args, want) {
		t.Errorf("digestpin got\n%q\nwant\n%q", args, want)
	}
	got, err := os.ReadFile(want[4])
	if err != nil || string(got) != record+"\n" {
		t.Errorf("promote.json = %q, %v", got, err)
	}
	for _, a := range args {
		if strings.Contains(a, "secret-argocd-token") {
			t.Error("the Argo CD token is on digestpin's command line")
		}
	}
	// digestpin-verify is not built next to the test's digestpin: the step
	// fails with verify's own message, and sets no result.
	if r.code != 2 || !strings.Contains(r.stderr, "digestpin verify needs the digestpin-verify binary") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	if _, ok := outputs["result"]; ok {
		t.Errorf("outputs %v", outputs)
	}
}
