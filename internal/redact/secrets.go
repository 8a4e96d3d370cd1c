package redact

import (
	"cmp"
	"encoding/base64"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// MinLearned is the length below which a password found in a URL or header
// is not replaced outside of its URL: redacting "abc" in every message would
// destroy the message and protect nothing worth protecting.
const MinLearned = 4

// minUserToken is the length from which a URL user name without password is
// taken to be a token (https://<token>@github.com/...).
const minUserToken = 20

// userinfoRE matches the scheme and userinfo of a URL. The userinfo extends
// to the last "@" before the path, so that an unescaped "@" in a password
// does not leave the rest of the password behind.
var userinfoRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#\s]*@`)

// authHeaderRE matches the credential in an Authorization header value.
var authHeaderRE = regexp.MustCompile(`(?i)authorization:\s*(?:basic|bearer|token)\s+(\S+)`)

// Secrets holds the secrets known to one source of text. The zero value
// knows none and still removes URL userinfo.
type Secrets struct {
	secrets []string
}

// Add registers s when it is at least min bytes long.
func (rd *Secrets) Add(s string, min int) {
	if len(s) >= min && !slices.Contains(rd.secrets, s) {
		rd.secrets = append(rd.secrets, s)
		rd.sort()
	}
}

// LearnHeader registers the credential of an Authorization header value,
// and the password inside it when it is a basic credential.
func (rd *Secrets) LearnHeader(value string) {
	for _, m := range authHeaderRE.FindAllStringSubmatch(value, -1) {
		cred := m[1]
		rd.Add(cred, MinLearned)
		if dec, err := base64.StdEncoding.DecodeString(cred); err == nil {
			if _, pass, ok := strings.Cut(string(dec), ":"); ok {
				rd.Add(pass, MinLearned)
			}
		}
	}
}

// LearnURLs registers the passwords of the URLs in s, in the forms they are
// written in and percent-decoded.
func (rd *Secrets) LearnURLs(s string) {
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
		rd.Add(secret, MinLearned)
		if dec, err := url.PathUnescape(secret); err == nil {
			rd.Add(dec, MinLearned)
		}
		if hasPass {
			if dec, err := url.PathUnescape(userinfo); err == nil {
				rd.Add(base64.StdEncoding.EncodeToString([]byte(dec)), MinLearned)
			}
		}
	}
}

// sort orders secrets longest first, so that a secret containing another
// one is replaced whole.
func (rd *Secrets) sort() {
	slices.SortStableFunc(rd.secrets, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
}

// Text removes all known secrets and all URL userinfo from s. Passwords of
// URLs in s itself are learned first, so that a password printed both in a
// URL and elsewhere is removed from both places.
func (rd *Secrets) Text(s string) string {
	if s == "" {
		return s
	}
	secrets := rd.secrets
	if userinfoRE.MatchString(s) {
		local := &Secrets{secrets: slices.Clone(rd.secrets)}
		local.LearnURLs(s)
		secrets = local.secrets
	}
	for _, sec := range secrets {
		s = strings.ReplaceAll(s, sec, Mask)
	}
	return userinfoRE.ReplaceAllString(s, "${1}"+Mask+"@")
}
