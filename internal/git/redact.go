package git

import (
	"encoding/base64"
	"net/url"
	"strings"

	"github.com/digestpin/digestpin/internal/redact"
)

// tokenUser is the user name sent with a WithToken token.
const tokenUser = "x-access-token"

// redactor is redact.Secrets taught the forms git prints a token in and the
// credentials git's configuration holds.
type redactor struct {
	secrets redact.Secrets
}

func newRedactor() *redactor { return &redactor{} }

// addToken registers a WithToken token in every form git may print it.
func (rd *redactor) addToken(token string) {
	if token == "" {
		return
	}
	rd.secrets.Add(token, 1)
	rd.secrets.Add(url.QueryEscape(token), 1)
	rd.secrets.Add(base64.StdEncoding.EncodeToString([]byte(tokenUser+":"+token)), 1)
	rd.secrets.Add(base64.StdEncoding.EncodeToString([]byte(token)), 1)
}

// learnConfig registers the credentials found in the output of
// "git config --list -z": passwords in URLs (remote URLs, insteadOf rules)
// and credentials in http.extraHeader values.
func (rd *redactor) learnConfig(list string) {
	for entry := range strings.SplitSeq(list, "\x00") {
		rd.secrets.LearnURLs(entry)
		key, value, _ := strings.Cut(entry, "\n")
		if strings.HasSuffix(strings.ToLower(key), ".extraheader") {
			rd.secrets.LearnHeader(value)
		}
	}
}

// redact removes all known secrets and all URL userinfo from s.
func (rd *redactor) redact(s string) string { return rd.secrets.Text(s) }
