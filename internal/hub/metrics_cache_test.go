package hub

import (
	"testing"
	"time"

	"github.com/edgeinfra/edgeinfra/metrics"
)

func TestMetricsCacheReusesForTTL(t *testing.T) {
	var c metricsCache
	calls := 0
	compute := func(f metrics.Filter) metricsView {
		calls++
		return metricsView{Function: f.FunctionID, TotalInvocations: int64(calls)}
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fn := metrics.Filter{FunctionID: "resize"}
	tests := []struct {
		name      string
		f         metrics.Filter
		at        time.Duration
		wantTotal int64
	}{
		{"first computes", fn, 0, 1},
		{"within the TTL reuses", fn, metricsTTL - time.Millisecond, 1},
		{"another filter computes", metrics.Filter{}, metricsTTL - time.Millisecond, 2},
		{"after the TTL recomputes", fn, metricsTTL, 3},
		{"a clock going back recomputes", fn, 0, 4},
	}
	for _, tt := range tests {
		if got := c.get(tt.f, t0.Add(tt.at), compute); got.TotalInvocations != tt.wantTotal || got.Function != tt.f.FunctionID {
			t.Errorf("%s: get = %+v, want total %d for %q", tt.name, got, tt.wantTotal, tt.f.FunctionID)
		}
	}
}

func TestMetricsCacheIsBounded(t *testing.T) {
	var c metricsCache
	now := time.Now()
	for i := range 3 * metricsCacheSize {
		c.get(metrics.Filter{NodeID: string(rune('a' + i))}, now, func(metrics.Filter) metricsView { return metricsView{} })
		if len(c.entries) > metricsCacheSize {
			t.Fatalf("%d entries, over the bound %d", len(c.entries), metricsCacheSize)
		}
	}
}
