// Package dashboard provides the edgeinfra hub's web dashboard: plain HTML,
// CSS and JavaScript embedded in the binary with go:embed, with no build
// step and nothing loaded from elsewhere, so the page works offline and on
// an air-gapped network.
//
// # Serving
//
// [Handler] serves the page at "/" and its assets next to it. The hub
// mounts it at its root:
//
//	mux.Handle("GET /", dashboard.Handler())
//
// The page fetches the JSON API by relative paths ("api/v1/nodes"), so it
// also works when mounted under a prefix with [http.StripPrefix].
//
// Only GET and HEAD are served; other methods get 405 with an Allow
// header. Unknown paths get 404; there is no fallback to the index page.
//
// # Caching
//
// Asset names carry no content hash, so every response says
// "Cache-Control: no-cache" and carries a strong ETag computed from the
// embedded bytes when the process starts: a browser revalidates each time
// and gets a bodiless 304 while the binary is unchanged, and never mixes an
// old app.js with a new index.html after an upgrade. Every response also
// carries "X-Content-Type-Options: nosniff" and a Content-Security-Policy
// that allows only same-origin scripts, styles, images and fetches.
//
// # What the page shows
//
// The page polls GET api/v1/nodes, api/v1/cluster and api/v1/metrics every
// two seconds (one request at a time, each abandoned after five seconds)
// and shows:
//
//   - an overview: node count by status, healthy percentage, flapping
//     nodes (named from the cluster report), alive/suspect/dead counts from
//     the hub's liveness tracker, invocations, success rate and
//     latency;
//   - health per region, with a region marked unhealthy when the liveness
//     tracker reports it so, or when at least three of its nodes exist and
//     half or more are unhealthy;
//   - per-function calls, error percentage and p50/p90/p99, and canvas
//     charts of each function's last-minute p99 and errors per second over
//     the last three minutes;
//   - a node table (id, region, status, liveness, heartbeat age, flapping, sync lag =
//     local_version − remote_version, pending pushes) sortable by any
//     column, with status sorted by severity, and filterable by id, region
//     or status; at most 500 rows are drawn, with a note saying how many
//     match, so that a fleet of thousands stays responsive;
//   - on click (or Enter) a node's detail: its last health checks as a
//     strip of bars, its sync versions and its state.
//
// When a poll fails the header turns red with "hub unreachable" (or "access
// denied" for a 401 or 403 answer) and the time of the last good data, and
// the page dims until the hub answers again. Colours follow the browser's
// light or dark preference; below 640 pixels wide the panels stack.
//
// # Concurrency
//
// The handler is safe for concurrent use; the embedded files are read-only.
package dashboard
