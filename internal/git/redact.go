package git

import (
	"cmp"
	"encoding/base64"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// redacted replaces every secret in messages.
const redacted = "***"

// tokenUser is the user name sent with a WithToken token.
const tokenUser = "x-access-token"

// minLearned is the length below which a password found in a URL or header
// is not replaced outside of its URL: redacting "abc" in every message would
// destroy the message and protect nothing worth protecting.
const minLearned = 4

// minUserToken is the length from which a URL user name without password is
// taken to be a token (https://<token>@github.com/...).
const minUserToken = 20

// userinfoRE matches the scheme and userinfo of a URL. The userinfo extends
// to the last "@" before the path, so that an unescaped "@" in a password
// does not leave the rest of the password behind.
var userinfoRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#\s]*@`)

// authHeaderRE matches the credential in an Authorization header value.
var authHeaderRE = regexp.MustCompile(`(?i)authorization:\s*(?:basic|bearer|token)\s+(\S+)`)

type redactor struct {
	secrets []string
}

func newRedactor() *redactor { return &redactor{} }

func (rd *redactor) add(s string, min int) {
	if len(s) >= min && !slices.Contains(rd.secrets, s) {
		rd.secrets = append(rd.secrets, s)
	}
}

// addToken registers a WithToken token in every form git may print it.
func (rd *redactor) addToken(token string) {
	if token == "" {
		return
	}
	rd.add(token, 1)
	rd.add(url.QueryEscape(token), 1)
	rd.add(base64.StdEncoding.EncodeToString([]byte(tokenUser+":"+token)), 1)
	rd.add(base64.StdEncoding.EncodeToString([]byte(token)), 1)
	rd.sort()
}

// learnConfig registers the credentials found in the output of
// "git config --list -z": passwords in URLs (remote URLs, insteadOf rules)
// and credentials in http.extraHeader values.
func (rd *redactor) learnConfig(list string) {
	for entry := range strings.SplitSeq(list, "\x00") {
		rd.learnURLs(entry)
		key, value, _ := strings.Cut(entry, "\n")
		if strings.HasSuffix(strings.ToLower(key), ".extraheader") {
			rd.learnHeader(value)
		}
	}
	rd.sort()
}

func (rd *redactor) learnHeader(value string) {
	for _, m := range authHeaderRE.FindAllStringSubmatch(value, -1) {
		cred := m[1]
		rd.add(cred, minLearned)
		if dec, err := base64.StdEncoding.DecodeString(cred); err == nil {
			if _, pass, ok := strings.Cut(string(dec), ":"); ok {
				rd.add(pass, minLearned)
			}
		}
	}
}

// learnURLs registers the passwords of the URLs in s, in the forms they are
// written in and percent-decoded.
func (rd *redactor) learnURLs(s string) {
	for _, loc := range userinfoRE.FindAllStringSubmatchIndex(s, -1) {
		scheme := strings.ToLower(s[loc[2]:loc[3]])
		userinfo := s[loc[3] : loc[1]-1]
		user, pass, hasPass := strings.Cut(userinfo, ":")
		secret := pass
		if !hasPass {
			// The match may begin before the scheme, as in the config key
			// "url.https://...".
			isHTTP := strings.HasSuffix(scheme, "http://") || strings.HasSuffix(scheme, "https://")
			if !isHTTP || len(user) < minUserToken {
				continue
			}
			secret = user
		}
		rd.add(secret, minLearned)
		if dec, err := url.PathUnescape(secret); err == nil {
			rd.add(dec, minLearned)
		}
		if hasPass {
			if dec, err := url.PathUnescape(userinfo); err == nil {
				rd.add(base64.StdEncoding.EncodeToString([]byte(dec)), minLearned)
			}
		}
	}
}

// sort orders secrets longest first, so that a secret containing another
// one is replaced whole.
func (rd *redactor) sort() {
	slices.SortStableFunc(rd.secrets, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
}

// redact removes all known secrets and all URL userinfo from s. Passwords of
// URLs in s itself are learned first, so that a password git prints both in
// a URL and elsewhere is removed from both places.
func (rd *redactor) redact(s string) string {
	if s == "" {
		return s
	}
	secrets := rd.secrets
	if userinfoRE.MatchString(s) {
		local := &redactor{secrets: slices.Clone(rd.secrets)}
		local.learnURLs(s)
		local.sort()
		secrets = local.secrets
	}
	for _, sec := range secrets {
		s = strings.ReplaceAll(s, sec, redacted)
	}
	return userinfoRE.ReplaceAllString(s, "${1}"+redacted+"@")
}
