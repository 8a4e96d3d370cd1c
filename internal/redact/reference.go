package redact

import (
	"net/url"
	"regexp"
	"strings"
)

// A registry client's error messages end up in CI logs and pull-request
// comments, so anything that might be a credential is removed from them:
// userinfo in references and URLs, query values (redirects to blob storage
// carry signatures and tokens), and token fields of JSON bodies echoed by
// token servers.

var (
	// trailingDigest matches the "@algorithm:hex" a digest reference ends with.
	trailingDigest = regexp.MustCompile(`@[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`)

	urlPattern = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>]+`)

	secretField = regexp.MustCompile(`(?i)("(?:token|access_token|refresh_token|id_token|password|secret)"\s*:\s*)"[^"]*"`)

	authorizationHeader = regexp.MustCompile(`(?i)(authorization:\s*)[^\r\n]*`)
)

// The registry protocol's own query parameters, which say what was asked
// for and are worth keeping for debugging. Everything else is masked.
var harmlessQueryKeys = map[string]bool{
	"scope": true, "service": true, "n": true, "last": true,
	"digest": true, "mount": true, "from": true,
}

// Reference removes userinfo ("user:password@") from something that was
// meant to be an image reference. '@' cannot appear in a valid reference
// except before its digest, so anything up to another '@' is treated as
// userinfo. It returns the redacted reference and the secret it removed ("" if
// none), so that echoes of the secret in other messages can be removed too.
func Reference(ref string) (shown, secret string) {
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
	return scheme + Mask + rest[at:] + digest, rest[:at]
}

// Message removes credentials from an error message produced for the
// reference ref.
func Message(msg, ref string) string {
	if _, secret := Reference(ref); secret != "" {
		msg = strings.ReplaceAll(msg, secret+"@", Mask+"@")
		// Parsers quote fragments, so the password can appear on its own.
		if _, password, ok := strings.Cut(secret, ":"); ok && len(password) >= 3 {
			msg = strings.ReplaceAll(msg, password, Mask)
		}
		msg = strings.ReplaceAll(msg, secret, Mask)
	}
	msg = urlPattern.ReplaceAllStringFunc(msg, cleanURL)
	msg = secretField.ReplaceAllString(msg, `$1"`+Mask+`"`)
	return authorizationHeader.ReplaceAllString(msg, "${1}"+Mask)
}

func cleanURL(s string) string {
	// Messages put URLs before ": reason" or at the end of a sentence.
	trimmed := strings.TrimRight(s, ":;,.)")
	suffix := s[len(trimmed):]
	u, err := url.Parse(trimmed)
	if err != nil {
		// Unparseable URLs cannot be cleaned piecemeal.
		return Mask + suffix
	}
	if u.User == nil && u.RawQuery == "" && u.Fragment == "" {
		return s
	}
	if u.User != nil {
		u.User = url.User(Mask)
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k, vs := range q {
			if harmlessQueryKeys[k] {
				continue
			}
			for i := range vs {
				vs[i] = Mask
			}
		}
		u.RawQuery = q.Encode()
	}
	u.Fragment = ""
	return u.String() + suffix
}
