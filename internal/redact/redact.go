// Package redact removes credentials from text that reaches users: error
// messages, CI logs, pull-request comments. Its guarantee: a secret it was
// told about or can recognise (URL userinfo, signed query values, token
// fields of JSON bodies, Authorization header values, userinfo written
// before an image reference) is replaced by Mask before the text is shown.
//
// Secrets collects the secrets one source knows of (a token, passwords
// learned from git's configuration) and removes them wherever they appear;
// Message cleans what a registry client says about one image reference.
package redact

// Mask replaces every secret. It is made of characters that net/url leaves
// unescaped in userinfo and query values, so a cleaned URL reads as
// "https://xxxxx@host/...", not "%2A%2A%2A".
const Mask = "xxxxx"

// Reword returns an error that reads msg and keeps err in its chain for
// errors.Is and errors.As: the way to show a cleaned message without
// losing what caused it.
func Reword(err error, msg string) error {
	return &rewordedError{msg: msg, err: err}
}

type rewordedError struct {
	msg string
	err error
}

func (e *rewordedError) Error() string { return e.msg }
func (e *rewordedError) Unwrap() error { return e.err }
