package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/edgeinfra/edgeinfra/internal/dashboard"
)

// fakeAPI answers the three endpoints the dashboard polls with a fleet of n
// nodes, or with 401 while deny is set.
func fakeAPI(n int, deny *atomic.Bool) http.Handler {
	nodes := make([]map[string]any, n)
	for i := range nodes {
		nodes[i] = map[string]any{
			"id": fmt.Sprintf("edge-%05d", i), "region": []string{"eu", "us", "ap"}[i%3],
			"status": "online", "healthy": true, "last_heartbeat": time.Now().UTC(),
			"heartbeat_age_seconds": 0.5, "flapping": i == 7,
			"sync": map[string]any{"local_version": i % 5, "remote_version": 0, "pending": i % 5},
		}
	}
	reply := func(body any) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			out := body
			if deny.Load() {
				w.WriteHeader(http.StatusUnauthorized)
				out = map[string]any{"error": map[string]string{"code": "unauthorized", "message": "a bearer token is required"}}
			}
			json.NewEncoder(w).Encode(out)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/nodes", reply(nodes))
	mux.Handle("GET /api/v1/cluster", reply(map[string]any{"total": n, "healthy": n, "flapping_nodes": []string{"edge-00007"}}))
	mux.Handle("GET /api/v1/metrics", reply(map[string]any{"total_invocations": 0}))
	mux.Handle("GET /", dashboard.Handler())
	return mux
}

// TestDashboardLargeFleetAndDeniedAccess checks, against a stand-in API,
// that a large fleet's table is capped with a note while the overview
// counts every node, and that a hub refusing access is shown as such.
func TestDashboardLargeFleetAndDeniedAccess(t *testing.T) {
	bin := chromium(t)
	const nodes = 1200
	var deny atomic.Bool
	srv := httptest.NewServer(fakeAPI(nodes, &deny))
	defer srv.Close()
	p := openBrowser(t, bin)
	p.do(chromedp.Navigate(srv.URL))

	p.waitFor("the node count", `document.getElementById("c-total").textContent === "1,200"`)
	p.waitFor("the table capped at 500 rows", rows+`.length === 500`)
	p.waitFor("the cap explained", `document.getElementById("nodes-more").textContent.startsWith("showing 500 of 1,200 nodes")`)
	p.waitFor("the flapping node named", `document.getElementById("c-flapping-sub").textContent === "edge-00007"`)
	p.waitFor("sync lag 4 for edge-00004", fmt.Sprintf(`%s.find(r => r.dataset.id === "edge-00004").children[6].textContent === "4"`, rows))

	// Sorting by sync lag, descending, brings lagging nodes first.
	p.do(chromedp.Click(chromedp.CSS(`th[data-sort="lag"]`)), chromedp.Click(chromedp.CSS(`th[data-sort="lag"]`)))
	p.waitFor("the most lagging node first", rows+`[0].children[6].textContent === "4"`)

	deny.Store(true)
	p.waitFor("access denied", `document.getElementById("conn").textContent.startsWith("access denied by the hub (HTTP 401)") && document.body.classList.contains("stale")`)
	deny.Store(false)
	p.waitFor("live again", `document.getElementById("conn").classList.contains("ok") && !document.body.classList.contains("stale")`)
}
