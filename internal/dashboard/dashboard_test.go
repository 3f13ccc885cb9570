package dashboard

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandlerServesAssets(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	tests := []struct {
		path, contentType, contains string
		status                      int
	}{
		{"/", "text/html", `<script src="app.js">`, 200},
		{"/app.js", "javascript", "api/v1/nodes", 200},
		{"/style.css", "text/css", "--bg", 200},
		{"/nope.js", "text/plain", "404", 404},
	}
	for _, tt := range tests {
		resp, err := http.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || !strings.Contains(resp.Header.Get("Content-Type"), tt.contentType) || !strings.Contains(string(body), tt.contains) {
			t.Errorf("GET %s = %d %q, want %d %q containing %q", tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), tt.status, tt.contentType, tt.contains)
		}
		if resp.Header.Get("Content-Security-Policy") == "" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s lacks security headers", tt.path)
		}
	}
}

func TestPageLoadsNothingFromElsewhere(t *testing.T) {
	for _, name := range []string{"static/index.html", "static/app.js", "static/style.css"} {
		b, err := static.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"http://", "https://", "//cdn"} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s refers to %q: the dashboard must work offline", name, bad)
			}
		}
	}
}
