package semver

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// TestAgreesWithNodeSemver holds Admits equal to npm's node-semver, whose
// constraint syntax this package reads, over testdata/npm/table.txt: 75
// constraints as people write them and 250 generated ones, each judged
// against 73 versions. gen.js (next to the table) regenerates it. Commas,
// != and == are this package's additions and are tested in
// constraint_test.go.
func TestAgreesWithNodeSemver(t *testing.T) {
	f, err := os.Open("testdata/npm/table.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var versions []Version
	rows := 0
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := scanner.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		constraint, verdicts, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("malformed line %q", line)
		}
		if constraint == "versions" {
			for _, s := range strings.Fields(verdicts) {
				versions = append(versions, mustParse(t, s))
			}
			continue
		}
		if len(verdicts) != len(versions) {
			t.Fatalf("%q: %d verdicts for %d versions", constraint, len(verdicts), len(versions))
		}
		rows++
		c, err := ParseConstraint(constraint)
		if err != nil {
			t.Errorf("npm accepts %q, ParseConstraint: %v", constraint, err)
			continue
		}
		for i, v := range versions {
			if want := verdicts[i] == '1'; c.Admits(v) != want {
				t.Errorf("%q admits %s: got %t, node-semver says %t", constraint, v.Original, !want, want)
			}
		}
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}
	if rows < 300 || len(versions) < 70 {
		t.Fatalf("table has %d constraints and %d versions; regenerate it", rows, len(versions))
	}
}
