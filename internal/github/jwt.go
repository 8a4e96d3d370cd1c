package github

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// JWT lifetimes. GitHub refuses an "exp" more than 10 minutes after its own
// clock and an "iat" after it; it recommends backdating "iat" by 60 seconds.
// exp is 9 minutes ahead, so a clock up to a minute ahead of GitHub's still
// passes too.
const (
	jwtBackdate = 60 * time.Second
	jwtLifetime = 9 * time.Minute
	// MaxJWTLifetime is the longest exp-iat GitHub accepts.
	MaxJWTLifetime = 10 * time.Minute
)

// App is a GitHub App: its ID (or client ID) and its private key.
type App struct {
	// ID is the App ID ("12345") or the client ID ("Iv1.abc..."); both are
	// accepted by GitHub as the "iss" claim.
	ID  string
	Key *rsa.PrivateKey
}

// ParseAppKey parses a GitHub App private key: the PEM GitHub hands out
// (PKCS#1, "RSA PRIVATE KEY") or a PKCS#8 "PRIVATE KEY" holding an RSA key.
// The error never quotes the input.
func ParseAppKey(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("the GitHub App private key is not PEM (it should begin with -----BEGIN RSA PRIVATE KEY-----)")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("the GitHub App private key is not a valid PKCS#1 RSA key")
		}
		return key, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("the GitHub App private key is not a valid PKCS#8 key")
		}
		key, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("the GitHub App private key is not an RSA key (GitHub Apps sign with RS256)")
		}
		return key, nil
	default:
		return nil, fmt.Errorf("the GitHub App private key is a PEM block of type %q, want \"RSA PRIVATE KEY\"", block.Type)
	}
}

// CheckAppID validates an App ID or client ID as given by a user.
func CheckAppID(id string) error {
	if id == "" {
		return errors.New("the GitHub App ID is empty")
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return fmt.Errorf("the GitHub App ID %q is neither an App ID nor a client ID", id)
		}
	}
	return nil
}

// JWT returns the JSON Web Token that authenticates as the app at time now:
// RS256, "iat" 60 s in the past, "exp" 9 minutes ahead, "iss" the app's ID
// (a JSON number when the ID is numeric, as GitHub's own examples send it).
func (a *App) JWT(now time.Time) (string, error) {
	if a == nil || a.Key == nil {
		return "", errors.New("no GitHub App private key")
	}
	if err := CheckAppID(a.ID); err != nil {
		return "", err
	}
	header := `{"alg":"RS256","typ":"JWT"}`
	var iss any = a.ID
	if n, err := strconv.ParseInt(a.ID, 10, 64); err == nil && n > 0 {
		iss = n
	}
	claims, err := json.Marshal(struct {
		IAT int64 `json:"iat"`
		EXP int64 `json:"exp"`
		ISS any   `json:"iss"`
	}{now.Add(-jwtBackdate).Unix(), now.Add(jwtLifetime).Unix(), iss})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString(claims)
	digest := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, a.Key, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("signing the GitHub App JWT: %w", err)
	}
	return signing + "." + enc.EncodeToString(sig), nil
}

// Claims are the registered claims of a GitHub App JWT.
type Claims struct {
	IAT, EXP int64
	ISS      string
}

// VerifyJWT checks an RS256 JWT's signature with pub and returns its claims.
// It does not judge the times; that is the verifier's policy.
func VerifyJWT(token string, pub *rsa.PublicKey) (Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Claims{}, errors.New("not a JWT")
	}
	enc := base64.RawURLEncoding
	rawHeader, err1 := enc.DecodeString(parts[0])
	rawClaims, err2 := enc.DecodeString(parts[1])
	sig, err3 := enc.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return Claims{}, errors.New("not a JWT: bad base64url")
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(rawHeader, &header); err != nil || header.Alg != "RS256" {
		return Claims{}, errors.New("not an RS256 JWT")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		return Claims{}, errors.New("bad signature")
	}
	var raw struct {
		IAT json.Number `json:"iat"`
		EXP json.Number `json:"exp"`
		ISS any         `json:"iss"`
	}
	dec := json.NewDecoder(strings.NewReader(string(rawClaims)))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return Claims{}, errors.New("claims are not a JSON object")
	}
	var c Claims
	c.IAT, err1 = raw.IAT.Int64()
	c.EXP, err2 = raw.EXP.Int64()
	if err1 != nil {
		return Claims{}, errors.New("'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued")
	}
	if err2 != nil {
		return Claims{}, errors.New("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires")
	}
	switch v := raw.ISS.(type) {
	case string:
		c.ISS = v
	case json.Number:
		c.ISS = v.String()
	default:
		return Claims{}, errors.New("'Issuer' claim ('iss') must be an Integer")
	}
	return c, nil
}
