package dashboard

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestHandlerServesAssets(t *testing.T) {
	h := Handler()
	tests := []struct {
		method, path, contentType, contains string
		status                              int
	}{
		{"GET", "/", "text/html; charset=utf-8", `<script src="app.js">`, 200},
		{"GET", "/app.js", "text/javascript; charset=utf-8", "api/v1/nodes", 200},
		{"GET", "/style.css", "text/css; charset=utf-8", "--bg", 200},
		{"GET", "/../style.css", "text/css; charset=utf-8", "--bg", 200},
		{"GET", "/favicon.svg", "image/svg+xml", "<svg", 200},
		{"HEAD", "/app.js", "text/javascript; charset=utf-8", "", 200},
		{"GET", "/index.html", "", "", http.StatusMovedPermanently},
		{"GET", "/nope.js", "text/plain; charset=utf-8", "404", 404},
		{"GET", "/api/v1/nodes", "text/plain; charset=utf-8", "404", 404},
		{"POST", "/", "text/plain; charset=utf-8", "dashboard: method not allowed", 405},
		{"DELETE", "/app.js", "text/plain; charset=utf-8", "dashboard: method not allowed", 405},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			resp, body := get(t, h, tt.method, tt.path, nil)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("Content-Type"); tt.contentType != "" && got != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", got, tt.contentType)
			}
			if !strings.Contains(body, tt.contains) {
				t.Errorf("body lacks %q", tt.contains)
			}
			if tt.method == "HEAD" && body != "" {
				t.Errorf("HEAD returned a body of %d bytes", len(body))
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
				t.Errorf("security headers missing: %v", resp.Header)
			}
			if tt.status == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow = %q, want %q", resp.Header.Get("Allow"), "GET, HEAD")
			}
		})
	}
}

func TestHandlerRevalidatesWithETag(t *testing.T) {
	h := Handler()
	for _, path := range []string{"/", "/app.js", "/style.css"} {
		t.Run(path, func(t *testing.T) {
			resp, body := get(t, h, "GET", path, nil)
			tag := resp.Header.Get("ETag")
			if !regexp.MustCompile(`^"[A-Za-z0-9_-]{16}"$`).MatchString(tag) {
				t.Fatalf("ETag = %q, want a strong quoted tag", tag)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
				t.Errorf("Cache-Control = %q, want no-cache", cc)
			}
			if body == "" {
				t.Fatal("empty body")
			}
			resp, body = get(t, h, "GET", path, map[string]string{"If-None-Match": tag})
			if resp.StatusCode != http.StatusNotModified || body != "" {
				t.Errorf("revalidation = %d with %d bytes, want 304 and no body", resp.StatusCode, len(body))
			}
			resp, _ = get(t, h, "GET", path, map[string]string{"If-None-Match": `"stale"`})
			if resp.StatusCode != http.StatusOK {
				t.Errorf("stale tag: status = %d, want 200", resp.StatusCode)
			}
		})
	}
}

func TestETagsDifferByContent(t *testing.T) {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		t.Fatal(err)
	}
	tags := etagsOf(sub)
	seen := map[string]string{}
	for name, tag := range tags {
		if other, dup := seen[tag]; dup {
			t.Errorf("%s and %s share ETag %s", name, other, tag)
		}
		seen[tag] = name
	}
	for _, name := range []string{"index.html", "app.js", "style.css", "favicon.svg"} {
		if tags[name] == "" {
			t.Errorf("no ETag for %s", name)
		}
	}
}

func TestPageLoadsNothingFromElsewhere(t *testing.T) {
	err := fs.WalkDir(static, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(name)
		if err != nil {
			return err
		}
		text := strings.ReplaceAll(string(b), `xmlns="http://www.w3.org/2000/svg"`, "") // a name, not a fetch
		for _, bad := range []string{"http://", "https://", "//cdn", "@import", "url("} {
			if strings.Contains(text, bad) {
				t.Errorf("%s refers to %q: the dashboard must work offline", name, bad)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestIndexReferencesExistingAssets(t *testing.T) {
	b, err := static.ReadFile("static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(string(b), -1)
	if len(refs) < 2 {
		t.Fatalf("index.html references %d assets, want the script and the stylesheet", len(refs))
	}
	for _, m := range refs {
		if _, err := static.ReadFile("static/" + m[1]); err != nil {
			t.Errorf("index.html references %q, which is not embedded", m[1])
		}
	}
}
