package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/edgeinfra/edgeinfra/cache"
	"github.com/edgeinfra/edgeinfra/internal/wire"
	"github.com/edgeinfra/edgeinfra/metrics"
)

const (
	maxBody   = 1 << 20 // bytes of a request body (and of a cached value)
	maxKeyLen = 1024    // bytes of a cache key
	maxErrLen = 1024    // bytes of an invocation's error
)

func (a *Agent) startHTTP() error {
	addr := a.cfg.HTTPAddr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("agent: HTTP listen on %s: %w", addr, err)
	}
	ln = a.httpListener(ln)
	a.httpLn = ln
	a.httpSrv = &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	a.wg.Go(func() {
		if err := a.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("HTTP server", "err", err)
		}
	})
	return nil
}

// Handler returns the agent's local HTTP API.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		l := a.currentLink()
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "node_id": a.cfg.ID, "hub_connected": l != nil && l.nc.IsConnected(), "sync": a.sync.Summary(), "writes_rate_limited": a.rateLimited.Load()})
	})
	mux.HandleFunc("GET /v1/cache/{key}", a.getCache)
	mux.HandleFunc("PUT /v1/cache/{key}", a.putCache)
	mux.HandleFunc("DELETE /v1/cache/{key}", a.deleteCache)
	mux.HandleFunc("GET /v1/cache", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, a.cache.Summary()) })
	mux.HandleFunc("POST /v1/invocations", a.postInvocation)
	mux.HandleFunc("GET /v1/metrics", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, a.agg.Summary()) })
	mux.HandleFunc("GET /v1/state", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, a.sync.State()) })
	mux.HandleFunc("PUT /v1/state", a.putState)
	return a.guard(mux)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"encoding the response failed"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, code, format string, args ...any) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": fmt.Sprintf(format, args...)}})
}

// readBody reads a size-limited body, answering the error itself.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", "request body is over %d bytes", maxBody)
		} else {
			writeError(w, http.StatusBadRequest, "bad_request", "reading the body: %v", err)
		}
		return nil, false
	}
	return b, true
}

func cacheKey(w http.ResponseWriter, r *http.Request) (string, bool) {
	k := r.PathValue("key")
	if k == "" || len(k) > maxKeyLen {
		writeError(w, http.StatusBadRequest, "bad_request", "cache key must be 1 to %d bytes", maxKeyLen)
		return "", false
	}
	return k, true
}

func (a *Agent) getCache(w http.ResponseWriter, r *http.Request) {
	k, ok := cacheKey(w, r)
	if !ok {
		return
	}
	v, ok := a.cache.Get(k)
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "no live cache entry %q", k)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(v)
}

func (a *Agent) putCache(w http.ResponseWriter, r *http.Request) {
	k, ok := cacheKey(w, r)
	if !ok {
		return
	}
	ttl := cache.DefaultTTL
	if s := r.URL.Query().Get("ttl"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			writeError(w, http.StatusBadRequest, "bad_request", "ttl %q must be a positive Go duration such as 30s or 5m", s)
			return
		}
		ttl = d
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	a.cache.Put(k, body, ttl)
	w.WriteHeader(http.StatusNoContent)
}

func (a *Agent) deleteCache(w http.ResponseWriter, r *http.Request) {
	k, ok := cacheKey(w, r)
	if !ok {
		return
	}
	if !a.cache.Delete(k) {
		writeError(w, http.StatusNotFound, "not_found", "no cache entry %q", k)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// invocationBody is POST /v1/invocations.
type invocationBody struct {
	FunctionID string   `json:"function_id"`
	DurationMS *float64 `json:"duration_ms"`
	Success    *bool    `json:"success"`
	Error      string   `json:"error"`
}

// DecodeInvocation decodes and validates a POST /v1/invocations body.
func DecodeInvocation(b []byte) (metrics.Invocation, error) {
	var in invocationBody
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return metrics.Invocation{}, fmt.Errorf("agent: invalid JSON: %v", err)
	}
	if dec.More() {
		return metrics.Invocation{}, errors.New("agent: invalid JSON: data after the object")
	}
	if err := wire.ValidFunctionID(in.FunctionID); err != nil {
		return metrics.Invocation{}, fmt.Errorf("agent: function_id: %w", err)
	}
	switch {
	case in.DurationMS == nil:
		return metrics.Invocation{}, errors.New("agent: duration_ms is required")
	case math.IsNaN(*in.DurationMS) || *in.DurationMS < 0 || *in.DurationMS > 86_400_000:
		return metrics.Invocation{}, errors.New("agent: duration_ms must be between 0 and 86400000 (one day)")
	case in.Success == nil:
		return metrics.Invocation{}, errors.New("agent: success is required (true or false)")
	case len(in.Error) > maxErrLen:
		return metrics.Invocation{}, fmt.Errorf("agent: error must be at most %d bytes", maxErrLen)
	}
	return metrics.Invocation{
		FunctionID: in.FunctionID,
		Duration:   time.Duration(*in.DurationMS * float64(time.Millisecond)),
		Success:    *in.Success,
		Error:      in.Error,
	}, nil
}

func (a *Agent) postInvocation(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	invs, err := DecodeInvocations(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", `%v; send {"function_id":"resize","duration_ms":12.5,"success":true,"error":""} or a JSON array of such objects`, err)
		return
	}
	for _, inv := range invs {
		if !a.functions.admit(inv.FunctionID) {
			writeError(w, http.StatusBadRequest, "too_many_functions",
				"function %q would be this node's function number %d, over the limit of %d (--max-functions); nothing was recorded", inv.FunctionID, a.functions.max+1, a.functions.max)
			return
		}
	}
	if err := a.RecordInvocations(invs...); err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "%v; nothing was recorded, retry", err)
		return
	}
	// 202 with --data means on disk (journalled); without, in memory.
	writeJSON(w, http.StatusAccepted, map[string]any{"recorded": len(invs), "durable": a.store != nil})
}

func (a *Agent) putState(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	data, err := wire.DecodeData(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "%v; send a JSON object of keys to set", err)
		return
	}
	st, err := a.UpdateState(data)
	if errors.Is(err, errStateTooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "%v; nothing was changed", err)
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}
