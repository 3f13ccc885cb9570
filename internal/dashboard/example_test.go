package dashboard_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/edgeinfra/edgeinfra/internal/dashboard"
)

// The hub serves the dashboard at its root, beside its JSON API. Here a
// stand-in API answers GET /api/v1/nodes.
func ExampleHandler() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/nodes", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, "[]")
	})
	mux.Handle("GET /", dashboard.Handler())

	for _, path := range []string{"/", "/app.js", "/api/v1/nodes", "/missing"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		ct, _, _ := strings.Cut(rec.Header().Get("Content-Type"), ";")
		fmt.Println(path, rec.Code, ct)
	}
	// Output:
	// / 200 text/html
	// /app.js 200 text/javascript
	// /api/v1/nodes 200 application/json
	// /missing 404 text/plain
}
