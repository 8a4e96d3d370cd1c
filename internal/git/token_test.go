package git

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// echoServer is a Git smart-HTTP endpoint that refuses every request with an
// error message quoting the credentials it received, so that git prints
// them and the test can check they are redacted.
type echoServer struct {
	*httptest.Server
	mu         sync.Mutex
	auth       [][]string // Authorization values per request
	userAgents []string
	argvLeaks  []string // command lines that contained watchFor
	watchFor   string
}

func newEchoServer(t *testing.T, watchFor string) *echoServer {
	s := &echoServer{watchFor: watchFor}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *echoServer) serve(w http.ResponseWriter, req *http.Request) {
	auth := req.Header.Values("Authorization")
	s.mu.Lock()
	s.auth = append(s.auth, auth)
	s.userAgents = append(s.userAgents, req.UserAgent())
	s.argvLeaks = append(s.argvLeaks, scanArgv(s.watchFor)...)
	s.mu.Unlock()

	decoded := ""
	for _, a := range auth {
		_, b64, _ := strings.Cut(a, " ")
		d, _ := base64.StdEncoding.DecodeString(b64)
		decoded += string(d)
	}
	service := req.URL.Query().Get("service")
	w.Header().Set("Content-Type", "application/x-"+service+"-advertisement")
	msg := fmt.Sprintf("ERR got %q decoded %q see https://u:PWSECRET@example.com/x\n", auth, decoded)
	fmt.Fprint(w, pktLine("# service="+service+"\n")+"0000"+pktLine(msg))
}

func pktLine(s string) string { return fmt.Sprintf("%04x%s", len(s)+4, s) }

// scanArgv returns the command lines of running processes that contain s
// (Linux only: elsewhere it finds nothing).
func scanArgv(s string) []string {
	if s == "" {
		return nil
	}
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var leaks []string
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), s) {
			leaks = append(leaks, strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return leaks
}

func TestTokenReplacesConfiguredHeader(t *testing.T) {
	// Not parallel: it sets GIT_CONFIG_* in the environment.
	const token = "tok-SECRET-123"
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+token))
	oldHeader := "basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:OLDTOKEN1"))
	srv := newEchoServer(t, token)

	bare, _ := newRemote(t)
	dir := cloneT(t, bare)
	// What actions/checkout leaves behind with persist-credentials.
	gitT(t, dir, "config", "http."+srv.URL+"/.extraheader", "AUTHORIZATION: "+oldHeader)
	gitT(t, dir, "remote", "add", "ci", srv.URL+"/r.git")
	head := gitT(t, bare, "rev-parse", "main")
	// Settings CI passes through the environment are kept beside ours.
	t.Setenv("GIT_CONFIG_COUNT", "1")
	t.Setenv("GIT_CONFIG_KEY_0", "http.userAgent")
	t.Setenv("GIT_CONFIG_VALUE_0", "digestpin-test")
	secrets := []string{token, wantAuth[len("Basic "):], "OLDTOKEN1", oldHeader[len("basic "):], "PWSECRET"}

	r := openT(t, dir, WithToken("  "+token+"\n"))
	_, err := r.Fetch(t.Context(), "ci", "main")
	assertNoSecret(t, err, secrets...)
	if !strings.Contains(err.Error(), `remote error: got ["Basic xxxxx"] decoded "x-access-token:xxxxx" see https://xxxxx@example.com/x`) {
		t.Errorf("Fetch() error = %v", err)
	}
	err = r.Push(t.Context(), "ci", head, "main", head)
	assertNoSecret(t, err, secrets...)
	if !strings.Contains(err.Error(), "remote error: got") {
		t.Errorf("Push() error = %v", err)
	}

	// Without a token, the clone's own credentials are used (and redacted).
	r = openT(t, dir)
	_, err = r.Fetch(t.Context(), "ci", "main")
	assertNoSecret(t, err, secrets...)

	srv.mu.Lock()
	defer srv.mu.Unlock()
	want := [][]string{{wantAuth}, {wantAuth}, {oldHeader}}
	if fmt.Sprint(srv.auth) != fmt.Sprint(want) {
		t.Errorf("Authorization headers received = %q, want %q", srv.auth, want)
	}
	for _, ua := range srv.userAgents {
		if ua != "digestpin-test" {
			t.Errorf("User-Agent = %q: inherited GIT_CONFIG_* settings were lost", ua)
		}
	}
	if len(srv.argvLeaks) > 0 {
		t.Errorf("token visible in process arguments: %q", srv.argvLeaks)
	}
}
