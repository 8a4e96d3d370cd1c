package argocd

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestParseApp(t *testing.T) {
	for in, want := range map[string]App{"shop": {Name: "shop"}, "team-a/shop": {Namespace: "team-a", Name: "shop"}} {
		got, err := ParseApp(in)
		if err != nil || got != want || got.String() != in {
			t.Errorf("ParseApp(%q) = %+v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "/shop", "a/", "a/b/c"} {
		if _, err := ParseApp(bad); err == nil {
			t.Errorf("ParseApp(%q) accepted", bad)
		}
	}
}

// The server's status codes become messages that say what to do; the
// messages Argo CD's API server sends are kept, on one line.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		kind Kind
		msg  string
	}{
		{status.Error(codes.Unauthenticated, "invalid session: token signature is invalid"), Unauthenticated,
			"Argo CD at argocd:443 rejected the token in ARGOCD_AUTH_TOKEN (invalid session: token signature is invalid): it is invalid, expired or revoked; generate a new one with `argocd account generate-token`"},
		{status.Error(codes.PermissionDenied, "permission denied"), Forbidden,
			`Argo CD at argocd:443 refused reading application "shop" (permission denied): the application does not exist, or the token's account lacks the RBAC permission ` + "`applications, get`" + ` on it`},
		{status.Error(codes.NotFound, "applications.argoproj.io \"shop\" not found"), NotFound,
			`Argo CD at argocd:443: reading application "shop": not found (applications.argoproj.io "shop" not found)`},
		{status.Error(codes.Unavailable, "connection error: desc = \"transport: authentication handshake failed: tls: first record does not look like a TLS handshake\""), Unreachable,
			`cannot reach Argo CD at argocd:443: connection error: desc = "transport: authentication handshake failed: tls: first record does not look like a TLS handshake" (the server speaks plain HTTP: pass --plaintext)`},
		{errors.New("error dial proxy: x509: certificate signed by unknown authority"), Unreachable,
			"cannot reach Argo CD at argocd:443: error dial proxy: x509: certificate signed by unknown authority (to accept a certificate you cannot verify, pass --insecure)"},
		{status.Error(codes.Unknown, "line one\nverified: forged\r"), Failed,
			`Argo CD at argocd:443: reading application "shop": line one verified: forged`},
	} {
		err := classify("argocd:443", `reading application "shop"`, tc.err)
		var e *Error
		if !errors.As(err, &e) || e.Kind != tc.kind || err.Error() != tc.msg || e.Server != "argocd:443" {
			t.Errorf("classify(%v) = %v (%+v)\nwant %s", tc.err, err, e, tc.msg)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("multi-line: %q", err)
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("the cause is lost: %v", err)
		}
		if IsTransient(err) != (tc.kind == Unreachable) {
			t.Errorf("IsTransient(%v) = %v", err, IsTransient(err))
		}
	}
}
