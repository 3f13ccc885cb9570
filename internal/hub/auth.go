package hub

import (
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/edgeinfra/edgeinfra/internal/apiauth"
)

// ReadAccess says who may read the HTTP API, /metrics and the dashboard
// when an API token is set.
type ReadAccess string

const (
	// ReadOpen lets anyone read; only changes need the token.
	ReadOpen ReadAccess = "open"
	// ReadToken needs the token for reads too (except /healthz).
	ReadToken ReadAccess = "token"
)

// ParseReadAccess parses the --read-access flag.
func ParseReadAccess(s string) (ReadAccess, error) {
	switch ReadAccess(s) {
	case ReadOpen, ReadToken:
		return ReadAccess(s), nil
	}
	return "", fmt.Errorf("hub: --read-access %q: want open or token", s)
}

// sessionCookie holds apiauth.Token.Session for browsers: it grants reads
// only, so a leaked cookie cannot change anything, and it is HttpOnly and
// SameSite=Strict.
const sessionCookie = "edgeinfra_session"

// Access control (Config.APIToken, Config.ReadAccess):
//
//   - /healthz is always open, for load balancers and probes.
//   - Requests other than GET and HEAD need "Authorization: Bearer
//     <token>". A cookie is never enough for them, which rules out
//     cross-site request forgery.
//   - With ReadToken, reads need the bearer header or the session cookie.
//     A browser gets the cookie by opening any page with ?token=<token>
//     (answered by a redirect to the same URL without it, so the token
//     leaves the address bar) or through the form that the 401 page of
//     the dashboard shows, which posts to /login.

// configureAccess checks APIToken and ReadAccess.
func (h *Hub) configureAccess() error {
	switch h.cfg.ReadAccess {
	case "":
		h.cfg.ReadAccess = ReadOpen
	case ReadOpen, ReadToken:
	default:
		_, err := ParseReadAccess(string(h.cfg.ReadAccess))
		return err
	}
	if h.cfg.ReadAccess == ReadToken && h.cfg.APIToken == "" {
		return fmt.Errorf("hub: --read-access token needs --api-token (EDGEINFRA_API_TOKEN)")
	}
	h.token = apiauth.New(h.cfg.APIToken)
	return nil
}

// authorize wraps the routes with the access control above.
func (h *Hub) authorize(next http.Handler) http.Handler {
	tok := h.token
	if !tok.Set() {
		return next
	}
	readToken := h.cfg.ReadAccess == ReadToken
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/healthz":
		case readToken && r.URL.Path == "/login" && r.Method == http.MethodPost:
			h.login(w, r)
			return
		case !apiauth.Reading(r):
			if err := tok.Check(r); err != nil {
				apiauth.Unauthorized(w, err)
				return
			}
		case readToken:
			if q := r.URL.Query(); q.Has("token") {
				h.tokenLink(w, r, q)
				return
			}
			if c, err := r.Cookie(sessionCookie); err == nil && tok.MatchSession(c.Value) {
				break
			}
			if err := tok.Check(r); err != nil {
				if isAPI(r.URL.Path) {
					apiauth.Unauthorized(w, err)
				} else {
					loginPage(w, http.StatusUnauthorized, "")
				}
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func isAPI(path string) bool { return strings.HasPrefix(path, "/api/") || path == "/metrics" }

// tokenLink answers a read with ?token=: a right token sets the session
// cookie and redirects to the URL without the token.
func (h *Hub) tokenLink(w http.ResponseWriter, r *http.Request, q url.Values) {
	if !h.token.Match(q.Get("token")) {
		if isAPI(r.URL.Path) {
			apiauth.Unauthorized(w, apiauth.ErrWrong)
		} else {
			loginPage(w, http.StatusUnauthorized, "That is not the API token.")
		}
		return
	}
	h.setSession(w)
	q.Del("token")
	u := *r.URL
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
}

// login handles the dashboard's token form.
func (h *Hub) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil || !h.token.Match(r.PostForm.Get("token")) {
		loginPage(w, http.StatusUnauthorized, "That is not the API token.")
		return
	}
	h.setSession(w)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (h *Hub) setSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: h.token.Session(), Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: h.scheme() == "https",
	})
}

// loginPage answers a browser without the session: a form for the token.
func loginPage(w http.ResponseWriter, status int, problem string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("WWW-Authenticate", `Bearer realm="edgeinfra"`)
	w.WriteHeader(status)
	msg := ""
	if problem != "" {
		msg = "<p role=alert>" + html.EscapeString(problem) + "</p>"
	}
	fmt.Fprintf(w, `<!doctype html><meta charset=utf-8><title>edgeinfra: sign in</title>
<main style="font-family:sans-serif;max-width:28em;margin:4em auto">
<h1>edgeinfra</h1><p>This hub's dashboard needs the API token (the hub's <code>--api-token</code>).</p>%s
<form method=post action=/login><input type=password name=token autocomplete=current-password required autofocus aria-label="API token">
<button>Open the dashboard</button></form></main>
`, msg)
}

// warnOpenAPI logs a warning when changes need no token and the HTTP API
// listens beyond loopback.
func (h *Hub) warnOpenAPI() {
	if h.token.Set() || h.httpLn == nil {
		return
	}
	if a, ok := h.httpLn.Addr().(*net.TCPAddr); ok && !a.IP.IsLoopback() {
		h.log.Warn("the HTTP API accepts changes from anyone who can reach it: set --api-token (EDGEINFRA_API_TOKEN)", "http", h.HTTPAddr())
	}
}
