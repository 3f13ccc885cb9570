package bench_test

import (
	"errors"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSoakClassify(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	read := &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}
	for _, tc := range []struct {
		name   string
		status int
		err    error
		want   outcome
	}{
		{"ok", http.StatusOK, nil, acked},
		{"rate limited", http.StatusTooManyRequests, nil, notTaken},
		{"unavailable", http.StatusServiceUnavailable, nil, notTaken},
		{"refused", 0, dial, notTaken},
		{"reset after sending", 0, read, uncertain},
		{"timeout", 0, errors.New("context deadline exceeded"), uncertain},
		{"not saved", http.StatusInternalServerError, nil, uncertain},
		{"bad request", http.StatusBadRequest, nil, rejected},
		{"accepted is not ok for PUT", http.StatusAccepted, nil, rejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := classify(tc.status, tc.err, http.StatusOK); got != tc.want {
				t.Fatalf("classify(%d, %v) = %d, want %d", tc.status, tc.err, got, tc.want)
			}
		})
	}
}

func TestSoakLedgerCheck(t *testing.T) {
	// k1 acked at 5 then 9, 13 sent without an answer; k2 acked at 6;
	// k3 only ever sent without an answer (7); 4 invocations acked, 1 unsure.
	l := newLedger()
	l.update("k1", 5, acked)
	l.update("k1", 9, acked)
	l.update("k1", 13, uncertain)
	l.update("k2", 2, uncertain)
	l.update("k2", 6, acked)
	l.update("k2", 10, notTaken)
	l.update("k3", 7, uncertain)
	l.invAcked, l.invUnsure = 4, 1
	for _, tc := range []struct {
		name    string
		data    map[string]any
		total   int64
		wantErr string // empty: no error
	}{
		{"latest acked", map[string]any{"k1": 9.0, "k2": 6.0}, 4, ""},
		{"later unanswered value", map[string]any{"k1": 13.0, "k2": 6.0, "k3": 7.0}, 5, ""},
		{"older acked value", map[string]any{"k1": 5.0, "k2": 6.0}, 4, "latest acknowledged value is 9"},
		{"missing key", map[string]any{"k1": 9.0}, 4, "k2: acknowledged value 6 missing"},
		{"uncertain before an ack", map[string]any{"k1": 9.0, "k2": 2.0}, 4, "latest acknowledged value is 6"},
		{"not-taken value", map[string]any{"k1": 9.0, "k2": 10.0}, 4, "latest acknowledged value is 6"},
		{"never sent", map[string]any{"k1": 9.0, "k2": 6.0, "k9": 1.0}, 4, "never sent"},
		{"not a number", map[string]any{"k1": "9", "k2": 6.0}, 4, "hub has 9"},
		{"lost invocation", map[string]any{"k1": 9.0, "k2": 6.0}, 3, "hub counts 3 invocations, 4 were acknowledged"},
		{"counted twice", map[string]any{"k1": 9.0, "k2": 6.0}, 6, "hub counts 6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := l.check(tc.data, tc.total)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestSoakHeapVerdict(t *testing.T) {
	series := func(n int, heap func(min float64) float64) []soakSample {
		var out []soakSample
		for i := range n {
			at := time.Duration(i) * 5 * time.Second
			out = append(out, soakSample{at: at, heapMB: heap(at.Minutes())})
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		samples   []soakSample
		wantSlope float64
		wantFlat  bool
	}{
		{"constant", series(60, func(float64) float64 { return 100 }), 0, true},
		{"warm-up then flat", series(60, func(m float64) float64 { return 100 - 50*math.Exp(-4*m) }), 0, true},
		{"steady growth", series(60, func(m float64) float64 { return 100 + 5*m }), 5, false},
		{"slow growth under 1%", series(60, func(m float64) float64 { return 100 + 0.5*m }), 0.5, true},
		{"shrinking", series(60, func(m float64) float64 { return 200 - 10*m }), -10, true},
		{"too few samples", series(5, func(m float64) float64 { return 100 + 50*m }), 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, flat := heapVerdict(tc.samples)
			if math.Abs(got-tc.wantSlope) > 0.05 || flat != tc.wantFlat {
				t.Fatalf("slope %.3f flat %v, want %.3f %v", got, flat, tc.wantSlope, tc.wantFlat)
			}
		})
	}
}

func TestSoakSlopeStdErr(t *testing.T) {
	xs := []float64{0, 1, 2, 3, 4, 5}
	line := []float64{10, 12, 14, 16, 18, 20}
	if got := slopeStdErr(xs, line); got > 1e-9 {
		t.Fatalf("a perfect line has standard error %v, want 0", got)
	}
	noisy := []float64{10, 14, 12, 18, 16, 20}
	// The fit is y = 10.571 + 1.771x; sqrt(SSR/(n-2)/Sxx) worked out by hand.
	if got := slopeStdErr(xs, noisy); math.Abs(got-0.4642) > 0.001 {
		t.Fatalf("standard error %v, want 0.4642", got)
	}
}
