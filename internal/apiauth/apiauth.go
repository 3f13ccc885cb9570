// Package apiauth checks the bearer token of the hub's and the agent's
// HTTP APIs (--api-token) and writes their 401 answers.
//
// Tokens are compared in constant time, over SHA-256 digests so that not
// even the length of the token leaks. A missing or wrong token gets 401
// with a JSON error, {"error":{"code":"unauthorized",…}}, and a
// WWW-Authenticate: Bearer header (RFC 6750).
package apiauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// Token is a configured API token. The zero value is no token: every
// request passes.
type Token struct {
	digest  [32]byte
	session string
	set     bool
}

// New returns the Token for token; an empty token is the zero Token.
func New(token string) Token {
	if token == "" {
		return Token{}
	}
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write([]byte("edgeinfra dashboard read session v1"))
	return Token{digest: sha256.Sum256([]byte(token)), session: hex.EncodeToString(mac.Sum(nil)), set: true}
}

// Set reports whether a token is configured.
func (t Token) Set() bool { return t.set }

// Match reports whether s is the token, in constant time.
func (t Token) Match(s string) bool {
	if !t.set {
		return false
	}
	d := sha256.Sum256([]byte(s))
	return subtle.ConstantTimeCompare(d[:], t.digest[:]) == 1
}

// Errors of Check.
var (
	ErrMissing = errors.New("this endpoint needs the API token: send the header Authorization: Bearer <token> (the value of --api-token)")
	ErrWrong   = errors.New("the bearer token is not the API token (--api-token)")
	ErrScheme  = errors.New(`the Authorization header must be "Bearer <token>"`)
)

// Check returns nil if r carries the token in its Authorization header, or
// if no token is configured.
func (t Token) Check(r *http.Request) error {
	if !t.set {
		return nil
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return ErrMissing
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ErrScheme
	}
	if !t.Match(strings.TrimSpace(tok)) {
		return ErrWrong
	}
	return nil
}

// Session is a value derived from the token (an HMAC) for a read-only
// dashboard cookie: the cookie never holds the token itself, and changing
// the token invalidates every cookie. Empty without a token.
func (t Token) Session() string { return t.session }

// MatchSession reports whether s is Session, in constant time.
func (t Token) MatchSession(s string) bool {
	return t.set && len(s) == len(t.session) && subtle.ConstantTimeCompare([]byte(s), []byte(t.session)) == 1
}

// Unauthorized writes a 401 answer for err.
func Unauthorized(w http.ResponseWriter, err error) {
	challenge := `Bearer realm="edgeinfra"`
	if errors.Is(err, ErrWrong) {
		challenge += `, error="invalid_token"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Code = "unauthorized"
	body.Error.Message = err.Error()
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write(append(b, '\n'))
}

// Reading reports whether r only reads: GET or HEAD. Every other method
// counts as mutating.
func Reading(r *http.Request) bool { return r.Method == http.MethodGet || r.Method == http.MethodHead }
