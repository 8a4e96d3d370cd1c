package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/digestpin/digestpin/internal/redact"
	"github.com/digestpin/digestpin/internal/retry"
)

// Options configure a Client. The zero value talks to github.com.
type Options struct {
	// APIURL is the REST API URL or the Enterprise Server host; see
	// ParseAPIURL. Default https://api.github.com.
	APIURL string
	// HTTPClient sends the requests. Default: a client with a 60 s timeout.
	HTTPClient *http.Client
	// UserAgent is sent with every request (GitHub requires one).
	// Default "digestpin".
	UserAgent string
	// MaxWait bounds the total time spent waiting for rate limits to lift
	// (Retry-After, x-ratelimit-reset) over the life of the client.
	// Default 3 minutes. A wait GitHub asks for that does not fit in what
	// is left fails at once with ErrRateLimited.
	MaxWait time.Duration
	// Now is the clock the JWT is dated with. Default time.Now.
	Now func() time.Time
	// Sleep waits between attempts. Default: a timer that honours ctx.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client calls GitHub's REST and GraphQL APIs. Its methods may be called
// concurrently.
type Client struct {
	ep      Endpoints
	hc      *http.Client
	ua      string
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error
	budget  *waitBudget
	auth    string   // Authorization header value of the installation token
	secrets []string // replaced in every message
}

// New returns a client for the API at opts.APIURL.
func New(opts Options) (*Client, error) {
	ep, err := ParseAPIURL(opts.APIURL)
	if err != nil {
		return nil, err
	}
	c := &Client{ep: ep, hc: opts.HTTPClient, ua: opts.UserAgent, now: opts.Now, sleep: opts.Sleep}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 60 * time.Second}
	}
	if c.ua == "" {
		c.ua = "digestpin"
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = retry.Sleep
	}
	maxWait := opts.MaxWait
	if maxWait <= 0 {
		maxWait = 3 * time.Minute
	}
	c.budget = &waitBudget{left: maxWait}
	return c, nil
}

// Endpoints returns the API endpoints the client uses.
func (c *Client) Endpoints() Endpoints { return c.ep }

// WithToken returns a client that authenticates with an installation token.
// The token is added to the secrets removed from messages.
func (c *Client) WithToken(token string) *Client {
	cp := *c
	cp.auth = "token " + token
	cp.secrets = append(slices.Clip(c.secrets), token)
	return &cp
}

// redact removes the client's secrets and any URL userinfo from s.
func (c *Client) redact(s string) string {
	var rd redact.Secrets
	for _, sec := range c.secrets {
		rd.Add(sec, 1)
	}
	return rd.Text(s)
}

// call is one API request.
type call struct {
	op     string // for messages
	method string
	url    string
	body   any
	auth   string // Authorization header; default the installation token
	secret string // a secret in auth that is not the token (the JWT)
	// need is the permission the request needs, for 403 messages.
	need string
	// notFound is the hint for a 404.
	notFound string
	// notFoundKind replaces ErrNotFound for a 404.
	notFoundKind error
	// ruleBranch, when set, makes a rule violation name this branch.
	ruleBranch string
	// unauthorizedHint is the hint for a 401.
	unauthorizedHint string
	// retryUnavailable allows retrying 502/503/504 and network failures:
	// only for requests that change nothing.
	retryUnavailable bool
}

// apiError is the JSON body of a REST error.
type apiError struct {
	Message string `json:"message"`
	Errors  []struct {
		Resource string `json:"resource"`
		Field    string `json:"field"`
		Code     string `json:"code"`
		Message  string `json:"message"`
	} `json:"errors"`
}

func (a apiError) text() string {
	parts := []string{a.Message}
	for _, e := range a.Errors {
		switch {
		case e.Message != "":
			parts = append(parts, e.Message)
		case e.Code != "":
			parts = append(parts, strings.TrimSpace(e.Resource+" "+e.Field+" "+e.Code))
		}
	}
	return strings.Join(parts, ": ")
}

// do sends the call and decodes a 2xx JSON answer into out (when not nil).
func (c *Client) do(ctx context.Context, cl call, out any) error {
	var body []byte
	if cl.body != nil {
		var err error
		if body, err = json.Marshal(cl.body); err != nil {
			return err
		}
	}
	auth := cl.auth
	if auth == "" {
		auth = c.auth
	}
	secrets := c.secrets
	if cl.secret != "" {
		secrets = append(slices.Clip(secrets), cl.secret)
	}
	red := &Client{secrets: secrets}
	unavailable := 0
	for {
		req, err := http.NewRequestWithContext(ctx, cl.method, cl.url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "application/vnd.github+json")
		req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
		req.Header.Set("User-Agent", c.ua)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if cl.retryUnavailable && unavailable < 2 {
				unavailable++
				if err := c.sleep(ctx, retry.Backoff(time.Second, 4*time.Second, unavailable)); err != nil {
					return err
				}
				continue
			}
			return &Error{Op: cl.op, Kind: ErrServer, Cause: errors.New(red.redact(err.Error()))}
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		resp.Body.Close()
		if err != nil {
			return &Error{Op: cl.op, Kind: ErrServer, Cause: errors.New(red.redact(err.Error()))}
		}
		if resp.StatusCode/100 == 2 {
			if out == nil || len(data) == 0 {
				return nil
			}
			if err := json.Unmarshal(data, out); err != nil {
				return &Error{Op: cl.op, Status: resp.StatusCode, Kind: ErrServer, Message: "the answer is not the JSON expected"}
			}
			return nil
		}
		var ae apiError
		_ = json.Unmarshal(data, &ae)
		msg := oneLine(red.redact(ae.text()))
		if wait, limited := rateLimitWait(resp, ae.Message, c.now()); limited {
			if err := c.budget.take(ctx, wait, c.sleep); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return &Error{Op: cl.op, Status: resp.StatusCode, Kind: ErrRateLimited, Message: msg, RetryAfter: wait,
					Hint: fmt.Sprintf("GitHub asks to wait %s, longer than the time left to wait (%s); run again later", wait.Round(time.Second), c.budget.remaining().Round(time.Second))}
			}
			continue
		}
		switch resp.StatusCode {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			if cl.retryUnavailable && unavailable < 2 {
				unavailable++
				if err := c.sleep(ctx, retry.Backoff(time.Second, 4*time.Second, unavailable)); err != nil {
					return err
				}
				continue
			}
		}
		return c.statusError(cl, resp, msg)
	}
}

func (c *Client) statusError(cl call, resp *http.Response, msg string) error {
	e := &Error{Op: cl.op, Status: resp.StatusCode, Message: msg}
	switch code := resp.StatusCode; {
	case code == http.StatusUnauthorized:
		e.Kind, e.Hint = ErrUnauthorized, cl.unauthorizedHint
		if e.Hint == "" {
			e.Hint = "GitHub refused the installation token; it may have expired"
		}
	case code == http.StatusForbidden && isRuleViolation(msg):
		e.Kind, e.Hint = ErrRuleViolation, RuleViolationHint(cl.ruleBranch)
	case code == http.StatusForbidden:
		e.Kind, e.Permission = ErrForbidden, cl.need
		if accepted := resp.Header.Get("X-Accepted-GitHub-Permissions"); accepted != "" {
			e.Permission = permissionsText(accepted)
		}
		e.Hint = forbiddenHint(e.Permission)
	case code == http.StatusNotFound:
		e.Kind, e.Hint = ErrNotFound, cl.notFound
		if cl.notFoundKind != nil {
			e.Kind = cl.notFoundKind
		}
	case code == http.StatusUnprocessableEntity && isRuleViolation(msg):
		e.Kind, e.Hint = ErrRuleViolation, RuleViolationHint(cl.ruleBranch)
	case code == http.StatusUnprocessableEntity || code == http.StatusConflict || code == http.StatusBadRequest || code == http.StatusMethodNotAllowed:
		e.Kind = ErrUnprocessable
	default:
		e.Kind = ErrServer
	}
	return e
}

func forbiddenHint(permission string) string {
	if permission == "" {
		return "the GitHub App's installation lacks a permission this needs"
	}
	return fmt.Sprintf("the GitHub App's installation lacks the %s permission: grant it in the app's settings and approve it on the installation", permission)
}

// permissionsText turns "contents=write; pull_requests=write" into
// `"contents: write" (or "pull_requests: write")`.
func permissionsText(h string) string {
	var sets []string
	for set := range strings.SplitSeq(h, ";") {
		var perms []string
		for p := range strings.SplitSeq(set, ",") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok {
				perms = append(perms, oneLine(k)+": "+oneLine(v))
			}
		}
		if len(perms) > 0 {
			sets = append(sets, strconv.Quote(strings.Join(perms, ", ")))
		}
	}
	return strings.Join(sets, " or ")
}

// rateLimitWait reports whether resp is a rate-limit refusal and how long
// GitHub asks to wait: Retry-After when given; else, with no requests left,
// until x-ratelimit-reset; else (a secondary limit without either) a
// minute, as GitHub's documentation says.
func rateLimitWait(resp *http.Response, message string, now time.Time) (time.Duration, bool) {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return 0, false
	}
	retryAfter := resp.Header.Get("Retry-After")
	remaining := resp.Header.Get("X-RateLimit-Remaining")
	secondary := strings.Contains(strings.ToLower(message), "rate limit")
	if retryAfter == "" && remaining != "0" && !secondary {
		return 0, false
	}
	if s, err := strconv.Atoi(strings.TrimSpace(retryAfter)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if remaining == "0" {
		if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			return max(time.Unix(reset, 0).Sub(now), 0) + time.Second, true
		}
	}
	return time.Minute, true
}

// waitBudget is the time left for rate-limit waits, shared by the copies
// WithToken makes.
type waitBudget struct {
	mu   sync.Mutex
	left time.Duration
}

// take waits d when the budget allows, or fails at once with ErrRateLimited.
func (b *waitBudget) take(ctx context.Context, d time.Duration, sleep func(context.Context, time.Duration) error) error {
	b.mu.Lock()
	ok := d <= b.left
	if ok {
		b.left -= d
	}
	b.mu.Unlock()
	if !ok {
		return ErrRateLimited
	}
	return sleep(ctx, d)
}

func (b *waitBudget) remaining() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.left
}
