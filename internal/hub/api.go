package hub

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/edgeinfra/edgeinfra/health"
	"github.com/edgeinfra/edgeinfra/internal/wire"
	"github.com/edgeinfra/edgeinfra/metrics"
)

// maxBody is the largest request body the API reads.
const maxBody = 1 << 20

// apiError is the JSON body of every error response.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, format string, args ...any) {
	var e apiError
	e.Error.Code = code
	e.Error.Message = fmt.Sprintf(format, args...)
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":{"code":"internal","message":"encoding the response failed"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func (h *Hub) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", h.getHealthz)
	mux.HandleFunc("GET /api/v1/nodes", h.listNodes)
	mux.HandleFunc("GET /api/v1/nodes/{id}", h.getNode)
	mux.HandleFunc("GET /api/v1/nodes/{id}/state", h.getState)
	mux.HandleFunc("PUT /api/v1/nodes/{id}/state", h.putState)
	mux.HandleFunc("GET /api/v1/cluster", h.getCluster)
	mux.HandleFunc("GET /api/v1/metrics", h.getMetrics)
	mux.Handle("GET /metrics", h.promHandler())
	if h.cfg.Dashboard != nil {
		mux.Handle("GET /", h.cfg.Dashboard)
	}
	return h.authorize(methodErrors(mux))
}

// methodErrors turns the mux's plain-text 404 and 405 answers for API paths
// into JSON errors.
func methodErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&jsonStatusWriter{ResponseWriter: w, method: r.Method, path: r.URL.Path}, r)
	})
}

type jsonStatusWriter struct {
	http.ResponseWriter
	method, path string
	hijacked     bool
}

func (w *jsonStatusWriter) WriteHeader(status int) {
	if w.Header().Get("Content-Type") != "application/json" && strings.HasPrefix(w.path, "/api/") {
		switch status {
		case http.StatusMethodNotAllowed:
			w.hijacked = true
			writeError(w.ResponseWriter, status, "method_not_allowed", "%s is not allowed on %s (allowed: %s)", w.method, w.path, w.Header().Get("Allow"))
			return
		case http.StatusNotFound:
			w.hijacked = true
			writeError(w.ResponseWriter, status, "not_found", "no API endpoint %s %s; see the README for the list", w.method, w.path)
			return
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *jsonStatusWriter) Write(b []byte) (int, error) {
	if w.hijacked {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *jsonStatusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (h *Hub) getHealthz(w http.ResponseWriter, r *http.Request) {
	status, code := "ok", http.StatusOK
	if !h.nc.IsConnected() {
		status, code = "nats disconnected", http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"status": status, "nodes": h.reg.len(), "nats": h.nc.ConnectedUrlRedacted()})
}

// nodeView is one row of GET /api/v1/nodes.
type nodeView struct {
	ID            string        `json:"id"`
	Region        string        `json:"region"`
	Address       string        `json:"address,omitempty"`
	Status        string        `json:"status"`
	Healthy       bool          `json:"healthy"`
	Liveness      string        `json:"liveness"` // the Tracker's alive, suspect or dead (unknown at first)
	Reason        string        `json:"reason,omitempty"`
	LastHeartbeat time.Time     `json:"last_heartbeat"`
	HeartbeatAge  float64       `json:"heartbeat_age_seconds"`
	Flapping      bool          `json:"flapping"`
	Sync          wire.SyncInfo `json:"sync"`
	StateVersion  int64         `json:"state_version"` // newest agent version the hub applied
}

// view is what the API shows of s at now. flapping is the sorted IDs of
// flapping nodes from the newest sweep (flapping changes only when a sweep
// adds checks), or nil to ask the monitor.
func (h *Hub) view(s snapshot, now time.Time, flapping []string) nodeView {
	v := nodeView{
		ID: s.Node.ID, Region: s.Node.Region, Address: s.Node.Address,
		Status: string(s.Node.Status), LastHeartbeat: s.Node.LastHeartbeat,
		Sync: s.Sync, StateVersion: s.StateVersion, Liveness: s.Liveness,
	}
	if flapping != nil {
		_, v.Flapping = slices.BinarySearch(flapping, s.Node.ID)
	} else {
		v.Flapping = h.monitor.DetectFlapping(s.Node.ID, 10)
	}
	age := now.Sub(s.Node.LastHeartbeat)
	v.HeartbeatAge = math.Round(max(age, 0).Seconds()*1000) / 1000
	switch {
	case !s.Node.Status.Serving():
		v.Reason = "status " + string(s.Node.Status)
	case s.Node.LastHeartbeat.IsZero():
		v.Reason, v.Status = health.ReasonNoHeartbeat, "unknown"
	case age > h.timeout:
		v.Reason, v.Status = health.ReasonHeartbeatTimeout, "offline"
	default:
		v.Healthy = true
	}
	return v
}

func (h *Hub) listNodes(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	all := h.reg.all()
	flapping := h.flappingNodes()
	writeNodeList(w, all, func(s *snapshot) nodeView { return h.view(*s, now, flapping) })
}

// flappingNodes returns the sorted IDs of the nodes the newest sweep found
// flapping (never nil).
func (h *Hub) flappingNodes() []string {
	if rep := h.lastReport.Load(); rep != nil && rep.FlappingNodes != nil {
		return rep.FlappingNodes
	}
	return []string{}
}

func (h *Hub) nodeOr404(w http.ResponseWriter, r *http.Request, withData bool) (snapshot, bool) {
	id := r.PathValue("id")
	if err := wire.ValidNodeID(id); err != nil {
		writeError(w, http.StatusNotFound, "not_found", "no node %q: %v", id, err)
		return snapshot{}, false
	}
	s, ok := h.reg.one(id, withData)
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "no node %q has sent a heartbeat to this hub", id)
	}
	return s, ok
}

func (h *Hub) getNode(w http.ResponseWriter, r *http.Request) {
	s, ok := h.nodeOr404(w, r, false)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, struct {
		nodeView
		History []health.Check `json:"history"`
	}{h.view(s, time.Now(), nil), h.monitor.History(s.Node.ID, 50)})
}

func (h *Hub) getState(w http.ResponseWriter, r *http.Request) {
	s, ok := h.nodeOr404(w, r, true)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, wire.State{NodeID: s.Node.ID, Version: s.StateVersion, Data: s.Data, UpdatedAt: s.StateUpdated})
}

// putState sets desired keys for a node: they are merged into the node's
// desired state in the key-value bucket (a compare-and-set, so concurrent
// hubs do not lose each other's writes), which the agent watches and
// applies by its conflict strategy.
func (h *Hub) putState(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !h.reg.known(id) {
		writeError(w, http.StatusNotFound, "not_found", "no node %q has sent a heartbeat to this hub", id)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", "request body is over %d bytes", maxBody)
			return
		}
		writeError(w, http.StatusBadRequest, "bad_request", "reading the body: %v", err)
		return
	}
	data, err := wire.DecodeData(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "%v; send a JSON object of keys to set, e.g. {\"feature.beta\": true}", err)
		return
	}
	desired, err := h.mergeDesired(r.Context(), id, data)
	if errors.Is(err, errDesiredTooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "%v", err)
		return
	}
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "storing desired state: %v", err)
		return
	}
	h.reg.setDesired(id, data, desired.UpdatedAt)
	s, _ := h.reg.one(id, true)
	writeJSON(w, http.StatusOK, wire.State{NodeID: id, Version: s.StateVersion, Data: s.Data, UpdatedAt: s.StateUpdated})
}

// errDesiredTooLarge is wrapped by mergeDesired's errors about limits.
var errDesiredTooLarge = errors.New("desired state too large")

func (h *Hub) mergeDesired(ctx context.Context, id string, data map[string]any) (wire.State, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for range 10 {
		cur := wire.State{NodeID: id, Data: map[string]any{}}
		var rev uint64
		e, err := h.desired.Get(ctx, id)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return wire.State{}, err
		default:
			if cur, err = wire.DecodeState(e.Value()); err != nil {
				return wire.State{}, err
			}
			rev = e.Revision()
		}
		if cur.Data == nil {
			cur.Data = map[string]any{}
		}
		for k, v := range data {
			cur.Data[k] = v
		}
		cur.Version++
		cur.UpdatedAt = time.Now().UTC()
		// The agent decodes the merged value with wire's limits: refuse
		// what it would refuse rather than store a value it cannot read.
		if err := wire.CheckData(cur.Data); err != nil {
			return wire.State{}, fmt.Errorf("%w: the node's desired state would be invalid: %v", errDesiredTooLarge, err)
		}
		b, err := wire.Encode(cur)
		if err != nil {
			return wire.State{}, err
		}
		if len(b) > wire.MaxMessageSize {
			return wire.State{}, fmt.Errorf("%w: the node's desired state would be %d bytes encoded, over the limit of %d; set fewer or smaller keys", errDesiredTooLarge, len(b), wire.MaxMessageSize)
		}
		if rev == 0 {
			_, err = h.desired.Create(ctx, id, b)
		} else {
			_, err = h.desired.Update(ctx, id, b, rev)
		}
		if err == nil {
			return cur, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !isRevisionMismatch(err) {
			return wire.State{}, err
		}
	}
	return wire.State{}, errors.New("too many concurrent writers; try again")
}

func isRevisionMismatch(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// clusterView is GET /api/v1/cluster: the newest health sweep.
type clusterView struct {
	health.ClusterReport
	TimeoutSeconds float64 `json:"heartbeat_timeout_seconds"`
	// Liveness is the Tracker's report: alive, suspect and dead counts per
	// region, and the regions that lost many nodes at once.
	Liveness *health.FleetReport `json:"liveness"`
}

func (h *Hub) getCluster(w http.ResponseWriter, r *http.Request) {
	rep := h.lastReport.Load()
	if rep == nil {
		h.sweep()
		rep = h.lastReport.Load()
	}
	writeJSON(w, http.StatusOK, clusterView{ClusterReport: *rep, TimeoutSeconds: h.timeout.Seconds(), Liveness: h.lastFleet.Load()})
}

// metricsView is GET /api/v1/metrics.
type metricsView struct {
	Function         string               `json:"function,omitempty"`
	Node             string               `json:"node,omitempty"`
	TotalInvocations int64                `json:"total_invocations"`
	Errors           int64                `json:"errors"`
	SuccessRate      float64              `json:"success_rate"`
	AvgLatencyMS     float64              `json:"avg_latency_ms"`
	P50MS            float64              `json:"p50_ms"`
	P90MS            float64              `json:"p90_ms"`
	P99MS            float64              `json:"p99_ms"`
	P99MS1m          float64              `json:"p99_ms_1m"` // over the last minute
	RatePerSecond1m  float64              `json:"rate_per_second_1m"`
	ErrorRate1m      float64              `json:"error_rate_1m"`
	TopErrors        []metrics.ErrorCount `json:"top_errors,omitempty"`
	Functions        []metricsView        `json:"functions,omitempty"`
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func (h *Hub) metricsFor(f metrics.Filter) metricsView {
	st := h.agg.Stats(f)
	win := h.agg.Window(f, time.Minute)
	v := metricsView{
		Function: f.FunctionID, Node: f.NodeID,
		TotalInvocations: st.Invocations, Errors: st.Errors,
		SuccessRate:  st.SuccessRate(),
		AvgLatencyMS: ms(st.AvgLatency()),
		P50MS:        ms(st.Quantile(0.5)), P90MS: ms(st.Quantile(0.9)), P99MS: ms(st.Quantile(0.99)),
		P99MS1m:         ms(win.Quantile(0.99)),
		RatePerSecond1m: win.Rate(), ErrorRate1m: win.ErrorRate(),
	}
	v.TopErrors = h.agg.TopErrors(f, 5)
	return v
}

func (h *Hub) getMetrics(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := metrics.Filter{FunctionID: q.Get("function"), NodeID: q.Get("node")}
	if f.NodeID != "" && !h.reg.known(f.NodeID) {
		writeError(w, http.StatusNotFound, "not_found", "no node %q has sent a heartbeat to this hub", f.NodeID)
		return
	}
	writeJSON(w, http.StatusOK, h.metricsCache.get(f, time.Now(), h.fleetMetrics))
}

// fleetMetrics computes GET /api/v1/metrics for f: totals and, without a
// function filter, one row per function. Each row scans every series.
func (h *Hub) fleetMetrics(f metrics.Filter) metricsView {
	v := h.metricsFor(f)
	if f.FunctionID == "" {
		seen := map[string]bool{}
		for _, k := range h.agg.Keys(metrics.Filter{NodeID: f.NodeID}) {
			if seen[k.FunctionID] {
				continue
			}
			seen[k.FunctionID] = true
			v.Functions = append(v.Functions, h.metricsFor(metrics.Filter{FunctionID: k.FunctionID, NodeID: f.NodeID}))
		}
		slices.SortFunc(v.Functions, func(a, b metricsView) int { return cmp.Compare(a.Function, b.Function) })
	}
	return v
}
