package clusterloop

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/demo-cluster.txt")

var (
	hostPort   = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	digestRE   = regexp.MustCompile(`sha256:[0-9a-f]{64}`)
	commitRE   = regexp.MustCompile(`\b[0-9a-f]{40}\b`)
	shortRE    = regexp.MustCompile(`\bat [0-9a-f]{7}\b`)
	durationRE = regexp.MustCompile(`after [0-9.]+(ms|s)\.`)
	demoDir    = regexp.MustCompile(`/tmp/dpd\d+`)
)

// normalizeDemo replaces what differs between runs (ports, digests,
// commits, pod names, times, the directory) with stable names, keeping
// which digest is which.
func normalizeDemo(t *testing.T, s string) string {
	// verify's progress lines depend on how far Argo CD got when it
	// looked; checkProgress holds them to the forms verify prints.
	var kept, progress strings.Builder
	verifying := false
	for line := range strings.Lines(s) {
		verifying = verifying || strings.HasPrefix(line, "4. ")
		if p, ok := strings.CutPrefix(line, "     "); verifying && ok && progressLine.MatchString(strings.TrimSuffix(p, "\n")) {
			progress.WriteString(p)
			continue
		}
		kept.WriteString(line)
	}
	checkProgress(t, progress.String())
	s = kept.String()
	s = demoDir.ReplaceAllString(s, "<dir>")
	s = hostPort.ReplaceAllString(s, "<host>")
	seen := map[string]string{}
	s = digestRE.ReplaceAllStringFunc(s, func(d string) string {
		if _, ok := seen[d]; !ok {
			seen[d] = fmt.Sprintf("sha256:<digest %d>", len(seen)+1)
		}
		return seen[d]
	})
	s = commitRE.ReplaceAllString(s, "<commit>")
	s = shortRE.ReplaceAllString(s, "at <commit>")
	s = durationRE.ReplaceAllString(s, "after <time>.")
	return normalize(s)
}

// TestDemoCluster: `digestpin demo --cluster` tells the whole story on a
// control plane and an Argo CD of its own, ending with verify's table.
func TestDemoCluster(t *testing.T) {
	needCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "digestpin"), "demo", "--cluster")
	cmd.Env = append(os.Environ(), "DIGESTPIN_CLUSTER_BIN="+binDir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("digestpin demo --cluster: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	got := normalizeDemo(t, stdout.String())
	golden := filepath.Join("testdata", "demo-cluster.txt")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("demo --cluster output (normalized) =\n%s\nwant (%s)\n%s\nraw:\n%s", got, golden, want, stdout.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	if !strings.HasSuffix(stdout.String(), "; run with --keep to look around.\n") {
		t.Errorf("the demo does not say it cleaned up")
	}
}
