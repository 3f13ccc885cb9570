package hub

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestAPIToken(t *testing.T) {
	dash := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("dashboard")) })
	open := startHub(t, Config{APIToken: "s3cret", Dashboard: dash})
	closed := startHub(t, Config{APIToken: "s3cret", ReadAccess: ReadToken, Dashboard: dash})
	none := startHub(t, Config{Dashboard: dash})
	for _, h := range []*Hub{open, closed, none} {
		a := connect(t, h)
		a.heartbeat("n1", "eu", 1)
		eventually(t, "n1 known", func() bool { return h.reg.known("n1") })
	}
	session := "edgeinfra_session=" + closed.token.Session()
	tests := []struct {
		name         string
		h            *Hub
		method, path string
		auth, cookie string
		body         string
		want         int
		wantAuthErr  string // WWW-Authenticate when 401
	}{
		{"no token: PUT open", none, "PUT", "/api/v1/nodes/n1/state", "", "", `{"a":1}`, 200, ""},
		{"open reads: GET", open, "GET", "/api/v1/nodes", "", "", "", 200, ""},
		{"open reads: dashboard", open, "GET", "/", "", "", "", 200, ""},
		{"PUT without token", open, "PUT", "/api/v1/nodes/n1/state", "", "", `{"a":1}`, 401, `Bearer realm="edgeinfra"`},
		{"PUT with a wrong token", open, "PUT", "/api/v1/nodes/n1/state", "Bearer nope", "", `{"a":1}`, 401, `Bearer realm="edgeinfra", error="invalid_token"`},
		{"PUT with basic auth", open, "PUT", "/api/v1/nodes/n1/state", "Basic czNjcmV0", "", `{"a":1}`, 401, `Bearer realm="edgeinfra"`},
		{"PUT with the token", open, "PUT", "/api/v1/nodes/n1/state", "Bearer s3cret", "", `{"a":1}`, 200, ""},
		{"DELETE without token", open, "DELETE", "/api/v1/nodes", "", "", "", 401, `Bearer realm="edgeinfra"`},
		{"DELETE with token: 405", open, "DELETE", "/api/v1/nodes", "Bearer s3cret", "", "", 405, ""},
		{"closed: GET without token", closed, "GET", "/api/v1/nodes", "", "", "", 401, `Bearer realm="edgeinfra"`},
		{"closed: GET with token", closed, "GET", "/api/v1/nodes", "Bearer s3cret", "", "", 200, ""},
		{"closed: /metrics without token", closed, "GET", "/metrics", "", "", "", 401, `Bearer realm="edgeinfra"`},
		{"closed: /metrics with token", closed, "GET", "/metrics", "Bearer s3cret", "", "", 200, ""},
		{"closed: /healthz open", closed, "GET", "/healthz", "", "", "", 200, ""},
		{"closed: dashboard without token", closed, "GET", "/", "", "", "", 401, `Bearer realm="edgeinfra"`},
		{"closed: dashboard with cookie", closed, "GET", "/", "", session, "", 200, ""},
		{"closed: API with cookie", closed, "GET", "/api/v1/cluster", "", session, "", 200, ""},
		{"closed: wrong cookie", closed, "GET", "/api/v1/cluster", "", "edgeinfra_session=" + open.token.Session() + "x", "", 401, `Bearer realm="edgeinfra"`},
		{"closed: cookie cannot PUT", closed, "PUT", "/api/v1/nodes/n1/state", "", session, `{"a":1}`, 401, `Bearer realm="edgeinfra"`},
		{"closed: ?token= wrong", closed, "GET", "/?token=nope", "", "", "", 401, `Bearer realm="edgeinfra"`},
		{"closed: ?token= right", closed, "GET", "/?token=s3cret&x=1", "", "", "", 303, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			if tt.cookie != "" {
				r.Header.Set("Cookie", tt.cookie)
			}
			w := httptest.NewRecorder()
			tt.h.Handler().ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, w.Code, w.Body, tt.want)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.wantAuthErr {
				t.Fatalf("WWW-Authenticate = %q, want %q", got, tt.wantAuthErr)
			}
			if w.Code == 401 && strings.HasPrefix(tt.path, "/api/") && !strings.Contains(w.Body.String(), `"code":"unauthorized"`) {
				t.Fatalf("401 body %s", w.Body)
			}
			if w.Code == 401 && tt.path == "/" && !strings.Contains(w.Body.String(), `<form method=post action=/login>`) {
				t.Fatalf("dashboard 401 without the token form: %s", w.Body)
			}
		})
	}

	// The redirect of ?token= drops the token and sets a read-only cookie.
	r := httptest.NewRequest("GET", "/?token=s3cret&x=1", nil)
	w := httptest.NewRecorder()
	closed.Handler().ServeHTTP(w, r)
	if loc := w.Header().Get("Location"); loc != "/?x=1" {
		t.Fatalf("Location = %q, want /?x=1", loc)
	}
	checkSessionCookie(t, w, closed)

	// The form of the 401 page.
	for _, tt := range []struct {
		token string
		want  int
	}{{"nope", 401}, {"s3cret", 303}} {
		r := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"token": {tt.token}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		closed.Handler().ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Fatalf("POST /login token=%s = %d, want %d", tt.token, w.Code, tt.want)
		}
		if tt.want == 303 {
			checkSessionCookie(t, w, closed)
		}
	}
}

func checkSessionCookie(t *testing.T, w *httptest.ResponseRecorder, h *Hub) {
	t.Helper()
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies %v", cookies)
	}
	c := cookies[0]
	if c.Name != sessionCookie || c.Value != h.token.Session() || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
		t.Fatalf("cookie %+v", c)
	}
	if strings.Contains(c.Value, "s3cret") {
		t.Fatal("the cookie holds the token")
	}
}

func TestAccessConfig(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{ReadAccess: ReadToken}, "--read-access token needs --api-token"},
		{Config{ReadAccess: "closed", APIToken: "x"}, `--read-access "closed": want open or token`},
	} {
		tt.cfg.Logger = quiet()
		if h, err := Start(t.Context(), tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			if err == nil {
				h.Close()
			}
			t.Errorf("Start(%+v) = %v, want an error mentioning %q", tt.cfg, err, tt.want)
		}
	}
}

func TestWarnOpenAPI(t *testing.T) {
	for _, tt := range []struct {
		addr, token string
		warn        bool
	}{
		{"127.0.0.1:0", "", false},
		{"0.0.0.0:0", "", true},
		{"0.0.0.0:0", "s3cret", false},
	} {
		var logs bytes.Buffer
		h, err := Start(t.Context(), Config{HTTPAddr: tt.addr, APIToken: tt.token, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		h.Close()
		if got := strings.Contains(logs.String(), "set --api-token"); got != tt.warn {
			t.Errorf("HTTP on %s, token %q: warned %v, want %v\n%s", tt.addr, tt.token, got, tt.warn, logs.String())
		}
	}
}
