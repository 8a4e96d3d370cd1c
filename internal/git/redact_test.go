package git

import (
	"encoding/base64"
	"testing"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	rd := newRedactor()
	rd.addToken("tok-123")
	rd.learnConfig("remote.origin.url\nhttps://ci:p%40ssword1@git.example.com/r.git\x00" +
		"http.https://github.com/.extraheader\nAUTHORIZATION: basic " + b64("x-access-token:ghs_checkout") + "\x00" +
		"url.https://ghp_0123456789abcdefghij@github.com/.insteadof\nhttps://github.com/\x00" +
		"remote.short.url\nhttps://u:abc@host/r.git\x00" +
		"user.name\nCI\x00")

	for in, want := range map[string]string{
		"nothing secret here": "nothing secret here",
		"fatal: unable to access 'https://x:SUPERSECRET@127.0.0.1:1/r.git/': refused": "fatal: unable to access 'https://xxxxx@127.0.0.1:1/r.git/': refused",
		// An unescaped "@" in a password does not leave a part behind, and
		// the password is removed where git repeats it outside the URL.
		"push to https://u:p@ss@host/x failed for p@ss":             "push to https://xxxxx@host/x failed for xxxxx",
		"ssh://git@github.com/o/r.git: git says no":                 "ssh://xxxxx@github.com/o/r.git: git says no",
		"token tok-123, as header " + b64("x-access-token:tok-123"): "token xxxxx, as header xxxxx",
		"configured p%40ssword1 and p@ssword1":                      "configured xxxxx and xxxxx",
		"header " + b64("x-access-token:ghs_checkout"):              "header xxxxx",
		"decoded ghs_checkout":                                      "decoded xxxxx",
		"user token ghp_0123456789abcdefghij":                       "user token xxxxx",
		// Passwords shorter than minLearned are only removed from URLs.
		"abc in https://u:abc@host/r.git": "abc in https://xxxxx@host/r.git",
	} {
		if got := rd.redact(in); got != want {
			t.Errorf("redact(%q) =\n%q, want\n%q", in, got, want)
		}
	}
}

func TestWithConfig(t *testing.T) {
	t.Parallel()
	env := []string{"A=1", "GIT_CONFIG_COUNT=2", "GIT_CONFIG_KEY_0=k0", "GIT_CONFIG_VALUE_0=v0", "GIT_CONFIG_KEY_1=k1", "GIT_CONFIG_VALUE_1=v1"}
	got := withConfig(env, [2]string{"http.extraHeader", ""}, [2]string{"http.extraHeader", "X: y"})
	want := []string{"A=1", "GIT_CONFIG_KEY_0=k0", "GIT_CONFIG_VALUE_0=v0", "GIT_CONFIG_KEY_1=k1", "GIT_CONFIG_VALUE_1=v1",
		"GIT_CONFIG_KEY_2=http.extraHeader", "GIT_CONFIG_VALUE_2=", "GIT_CONFIG_KEY_3=http.extraHeader", "GIT_CONFIG_VALUE_3=X: y",
		"GIT_CONFIG_COUNT=4"}
	if len(got) != len(want) {
		t.Fatalf("withConfig() = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("withConfig() = %q, want %q", got, want)
		}
	}
	if _, err := baseEnv([]string{"GIT_CONFIG_COUNT=x"}); err == nil {
		t.Error("baseEnv accepted GIT_CONFIG_COUNT=x")
	}
}
