package report

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/digestpin/digestpin/cmd/digestpin-verify/internal/compare"
	"github.com/digestpin/digestpin/cmd/digestpin-verify/internal/verifier"
)

const rev = "4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70"

var (
	dWeb = "sha256:" + strings.Repeat("a", 64)
	dMig = "sha256:" + strings.Repeat("b", 64)
	dArm = "sha256:" + strings.Repeat("c", 64)
	dOld = "sha256:" + strings.Repeat("d", 64)
)

func rows() []compare.Row {
	return []compare.Row{
		{Namespace: "shop", Pod: "web-5d4f8b7c9-abcde", Container: "migrate", Init: true, Workload: "Deployment.apps shop/web",
			Expected: "ghcr.io/acme/migrate@" + dMig, ExpectedDigest: dMig, ImageID: "ghcr.io/acme/migrate@" + dMig, Actual: dMig, Status: compare.Match},
		{Namespace: "shop", Pod: "web-5d4f8b7c9-abcde", Container: "web", Workload: "Deployment.apps shop/web",
			Expected: "ghcr.io/acme/web:v2@" + dWeb, ExpectedDigest: dWeb, ImageID: "ghcr.io/acme/web@" + dArm, Actual: dArm,
			Status: compare.Match, Note: "platform linux/arm64 of the pinned index"},
	}
}

func TestVerifiedTable(t *testing.T) {
	var b strings.Builder
	err := Text(&b, &verifier.Result{Outcome: verifier.Verified, App: "shop", Revision: rev, Rows: rows(),
		Skipped: []string{"pod shop/report-1: Succeeded, not running"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `verified: shop at 4d5e6f7 is Synced and Healthy, and its pod runs the digests Git pins
POD                       CONTAINER       DIGEST                                                                   NOTE
shop/web-5d4f8b7c9-abcde  migrate (init)  sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
shop/web-5d4f8b7c9-abcde  web             sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa  platform linux/arm64 of the pinned index
not checked: pod shop/report-1: Succeeded, not running
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestDriftListsEveryMismatch(t *testing.T) {
	rs := rows()
	rs = append(rs, compare.Row{Namespace: "shop", Pod: "web-7c9d-xyz\nverified: shop", Container: "web", Workload: "Deployment.apps shop/web",
		Expected: "ghcr.io/acme/web:v2@" + dWeb, ExpectedDigest: dWeb, ImageID: "ghcr.io/acme/web@" + dOld, Actual: dOld,
		Status: compare.Mismatch, Cause: compare.OlderRevision, Detail: "a pod of an older revision is still running: its ReplicaSet shop/web-7c9d is revision 1 of Deployment.apps shop/web, which is at revision 2"},
		compare.Row{Namespace: "shop", Pod: "web-5d4f8b7c9-abcde", Container: "istio-proxy", Status: compare.NotInGit, Actual: dOld})
	var b strings.Builder
	if err := Text(&b, &verifier.Result{Outcome: verifier.Drift, App: "shop", Revision: rev, Rows: rs}); err != nil {
		t.Fatal(err)
	}
	want := `drift: shop at 4d5e6f7 is Synced and Healthy, but 1 of 3 containers do not run the digest Git pins
  pod shop/"web-7c9d-xyz\nverified: shop", container web:
    expected: ghcr.io/acme/web:v2@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa (Git, Deployment.apps shop/web)
    actual:   ghcr.io/acme/web@sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd (as the node reports it)
    likely cause: a pod of an older revision is still running: its ReplicaSet shop/web-7c9d is revision 1 of Deployment.apps shop/web, which is at revision 2
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestFollowedRevisionIsNamed(t *testing.T) {
	var b strings.Builder
	err := Text(&b, &verifier.Result{Outcome: verifier.Verified, App: "shop", Revision: rev, Current: "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"})
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != "verified: shop at 9f8e7d6, which pins the same images as 4d5e6f7, is Synced and Healthy; it runs no pods from workloads in Git\n" {
		t.Errorf("%s", b.String())
	}
}

func TestSummaries(t *testing.T) {
	got := Summary(&verifier.Result{Outcome: verifier.Superseded, App: "shop", Revision: rev, Current: "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"}, time.Minute)
	if got != "superseded: shop moved on from 4d5e6f7 to 9f8e7d6; the newer revision's pipeline verifies it" {
		t.Errorf("superseded: %s", got)
	}
	got = Summary(&verifier.Result{Outcome: verifier.TimedOut, App: "shop", Revision: rev, State: "Progressing: 1/3 pods ready",
		Conditions: []verifier.Condition{{Type: "ComparisonError", Message: "refusing to render: 1 image is not pinned.\n  - Deployment web\r"}}}, 90*time.Second)
	want := `timed out after 1m30s: shop did not run 4d5e6f7 Synced and Healthy; last state: Progressing: 1/3 pods ready
ComparisonError:
    refusing to render: 1 image is not pinned.
      - Deployment web\r`
	if got != want {
		t.Errorf("timeout:\n%s\nwant\n%s", got, want)
	}
}

func TestJSON(t *testing.T) {
	var b strings.Builder
	err := JSON(&b, &verifier.Result{Outcome: verifier.Verified, App: "shop", Revision: rev, Sync: "Synced", Health: "Healthy", Rows: rows()[:1], Elapsed: 1500 * time.Millisecond}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(b.String()), &doc); err != nil {
		t.Fatal(err)
	}
	c := doc["containers"].([]any)[0].(map[string]any)
	if doc["result"] != "verified" || doc["revision"] != rev || doc["mismatches"] != 0.0 || doc["elapsedSeconds"] != 1.5 ||
		c["pod"] != "web-5d4f8b7c9-abcde" || c["init"] != true || c["expectedDigest"] != dMig || c["status"] != "match" || c["imageID"] != "ghcr.io/acme/migrate@"+dMig {
		t.Errorf("%s", b.String())
	}
	if len(doc["skipped"].([]any)) != 0 || len(doc["conditions"].([]any)) != 0 {
		t.Errorf("empty lists must be [] not null: %s", b.String())
	}
}
