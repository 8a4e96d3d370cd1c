package registry

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/digestpin/digestpin/internal/untrusted"
)

// Error messages end up in CI logs and pull-request comments, so anything
// that might be a credential is removed from them: userinfo in references and
// URLs, query values (redirects to blob storage carry signatures and tokens),
// and token fields of JSON bodies echoed by token servers.

const redacted = "xxxxx"

var (
	// trailingDigest matches the "@algorithm:hex" a digest reference ends with.
	trailingDigest = regexp.MustCompile(`@[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`)

	urlPattern = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>]+`)

	secretField = regexp.MustCompile(`(?i)("(?:token|access_token|refresh_token|id_token|password|secret)"\s*:\s*)"[^"]*"`)

	authorizationHeader = regexp.MustCompile(`(?i)(authorization:\s*)[^\r\n]*`)
)

// The registry protocol's own query parameters, which say what was asked
// for and are worth keeping for debugging. Everything else is redacted.
var harmlessQueryKeys = map[string]bool{
	"scope": true, "service": true, "n": true, "last": true,
	"digest": true, "mount": true, "from": true,
}

// redactReference removes userinfo ("user:password@") from something that was
// meant to be an image reference. '@' cannot appear in a valid reference
// except before its digest, so anything up to another '@' is treated as
// userinfo. It returns the redacted reference and the secret it removed ("" if
// none), so that echoes of the secret in other messages can be removed too.
func redactReference(ref string) (shown, secret string) {
	scheme, rest := "", ref
	if i := strings.Index(rest, "://"); i >= 0 {
		scheme, rest = rest[:i+3], rest[i+3:]
	}
	digest := trailingDigest.FindString(rest)
	rest = strings.TrimSuffix(rest, digest)
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return ref, ""
	}
	return scheme + redacted + rest[at:] + digest, rest[:at]
}

// redactMessage removes credentials from an error message produced for the
// reference ref.
func redactMessage(msg, ref string) string {
	if _, secret := redactReference(ref); secret != "" {
		msg = strings.ReplaceAll(msg, secret+"@", redacted+"@")
		// Parsers quote fragments, so the password can appear on its own.
		if _, password, ok := strings.Cut(secret, ":"); ok && len(password) >= 3 {
			msg = strings.ReplaceAll(msg, password, redacted)
		}
		msg = strings.ReplaceAll(msg, secret, redacted)
	}
	msg = urlPattern.ReplaceAllStringFunc(msg, redactURL)
	msg = secretField.ReplaceAllString(msg, `$1"`+redacted+`"`)
	return authorizationHeader.ReplaceAllString(msg, "${1}"+redacted)
}

func redactURL(s string) string {
	// Messages put URLs before ": reason" or at the end of a sentence.
	trimmed := strings.TrimRight(s, ":;,.)")
	suffix := s[len(trimmed):]
	u, err := url.Parse(trimmed)
	if err != nil {
		// Unparseable URLs cannot be cleaned piecemeal.
		return redacted + suffix
	}
	if u.User == nil && u.RawQuery == "" && u.Fragment == "" {
		return s
	}
	if u.User != nil {
		u.User = url.User(redacted)
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k, vs := range q {
			if harmlessQueryKeys[k] {
				continue
			}
			for i := range vs {
				vs[i] = redacted
			}
		}
		u.RawQuery = q.Encode()
	}
	u.Fragment = ""
	return u.String() + suffix
}

// redactedError presents err with credentials removed from its message while
// keeping err in the chain for errors.Is and errors.As.
type redactedError struct {
	msg string
	err error
}

// redact also escapes what the registry or the reference put in the
// message (diagnostics from a response body, the reference as written), so
// that neither can forge lines of the output.
func redact(err error, ref string) error {
	// A body's final newline is dropped rather than shown escaped.
	msg := strings.TrimRight(redactMessage(err.Error(), ref), "\r\n")
	return &redactedError{msg: untrusted.Text(msg), err: err}
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
