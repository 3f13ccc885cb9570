package apiauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tok := New("s3cret")
	tests := []struct {
		name   string
		header string
		want   error
	}{
		{"right token", "Bearer s3cret", nil},
		{"scheme in any case", "bearer s3cret", nil},
		{"missing", "", ErrMissing},
		{"wrong token", "Bearer s3cre", ErrWrong},
		{"longer token", "Bearer s3cret2", ErrWrong},
		{"basic auth", "Basic czNjcmV0", ErrScheme},
		{"no space", "Bearers3cret", ErrScheme},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("PUT", "/", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			if got := tok.Check(r); got != tt.want {
				t.Fatalf("Check(%q) = %v, want %v", tt.header, got, tt.want)
			}
		})
	}
	if err := (Token{}).Check(httptest.NewRequest("PUT", "/", nil)); err != nil {
		t.Fatalf("no token configured: Check = %v", err)
	}
	if New("").Set() || (Token{}).Match("") {
		t.Fatal("the empty token is set or matches")
	}
}

func TestSession(t *testing.T) {
	a, b := New("one"), New("two")
	if a.Session() == "" || a.Session() == b.Session() || a.Session() == "one" {
		t.Fatalf("sessions %q and %q", a.Session(), b.Session())
	}
	if !a.MatchSession(a.Session()) || a.MatchSession(b.Session()) || a.MatchSession("") || (Token{}).MatchSession("") {
		t.Fatal("MatchSession")
	}
}

func TestUnauthorized(t *testing.T) {
	for _, err := range []error{ErrMissing, ErrWrong} {
		w := httptest.NewRecorder()
		Unauthorized(w, err)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("status %d", w.Code)
		}
		var body struct {
			Error struct{ Code, Message string }
		}
		if e := json.Unmarshal(w.Body.Bytes(), &body); e != nil || body.Error.Code != "unauthorized" || body.Error.Message != err.Error() {
			t.Fatalf("body %s (%v)", w.Body, e)
		}
		want := `Bearer realm="edgeinfra"`
		if err == ErrWrong {
			want += `, error="invalid_token"`
		}
		if got := w.Header().Get("WWW-Authenticate"); got != want {
			t.Fatalf("WWW-Authenticate = %q, want %q", got, want)
		}
	}
}

// FuzzCheck: any Authorization header is answered without panicking, and
// only the token itself passes.
func FuzzCheck(f *testing.F) {
	for _, h := range []string{"Bearer s3cret", "bearer s3cret", "Bearer  s3cret ", "Basic s3cret", "Bearer", "", "Bearer s3cret\x00"} {
		f.Add(h)
	}
	tok := New("s3cret")
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("PUT", "/", nil)
		r.Header["Authorization"] = []string{header}
		err := tok.Check(r)
		scheme, rest, _ := strings.Cut(header, " ")
		want := header != "" && strings.EqualFold(scheme, "bearer") && strings.TrimSpace(rest) == "s3cret"
		if (err == nil) != want {
			t.Fatalf("Check(%q) = %v, want pass=%v", header, err, want)
		}
		if err != nil && err != ErrMissing && err != ErrWrong && err != ErrScheme {
			t.Fatalf("Check(%q) = unexpected error %v", header, err)
		}
	})
}
