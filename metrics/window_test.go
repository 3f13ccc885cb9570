package metrics

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestWindows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := New()
		rec := func(n int, d time.Duration, ok bool) {
			for range n {
				a.Record(Invocation{FunctionID: "f", NodeID: "n", Duration: d, Success: ok})
			}
		}
		rec(60, time.Millisecond, true) // t = 0
		time.Sleep(2 * time.Minute)
		rec(30, 10*time.Millisecond, false) // t = 2m
		time.Sleep(30 * time.Second)
		rec(120, 100*time.Millisecond, true) // t = 2m30s

		tests := []struct {
			name  string
			last  time.Duration
			inv   int64
			errs  int64
			span  time.Duration
			p50   time.Duration
			rate  float64
			match Filter
		}{
			{"last minute", time.Minute, 150, 30, time.Minute, 100 * time.Millisecond, 2.5, Filter{}},
			{"last 5 minutes", 5 * time.Minute, 210, 30, 150 * time.Second, 100 * time.Millisecond, 1.4, Filter{}},
			{"longer than MaxWindow clamps", time.Hour, 210, 30, 150 * time.Second, 100 * time.Millisecond, 1.4, Filter{}},
			{"last 10s", WindowStep, 120, 0, 10 * time.Second, 100 * time.Millisecond, 12, Filter{}},
			{"filtered out", time.Minute, 0, 0, time.Minute, 0, 0, Filter{NodeID: "other"}},
		}
		// t.Run cannot be called inside a bubble, so cases report their name.
		for _, tt := range tests {
			st := a.Window(tt.match, tt.last)
			if st.Invocations != tt.inv || st.Errors != tt.errs || st.Span != tt.span {
				t.Errorf("%s: Window(%v) = %d inv, %d errs over %v; want %d, %d over %v",
					tt.name, tt.last, st.Invocations, st.Errors, st.Span, tt.inv, tt.errs, tt.span)
			}
			if e := relErr(st.Quantile(0.5), tt.p50); e > RelativeAccuracy {
				t.Errorf("%s: p50 = %v, want %v", tt.name, st.Quantile(0.5), tt.p50)
			}
			if !approx(st.Rate(), tt.rate, 1e-9) {
				t.Errorf("%s: rate = %v/s, want %v/s", tt.name, st.Rate(), tt.rate)
			}
		}
		if st := a.Window(Filter{}, 0); st.Invocations != 0 || st.Span != 0 {
			t.Errorf("Window(0) = %+v, want zero", st)
		}

		// Six minutes on, nothing is left in any window, but totals stay.
		time.Sleep(6 * time.Minute)
		if st := a.Window(Filter{}, MaxWindow); st.Invocations != 0 {
			t.Errorf("after 6 idle minutes the 5m window holds %d invocations", st.Invocations)
		}
		if got := a.TotalInvocations(Filter{}); got != 210 {
			t.Errorf("TotalInvocations = %d, want 210", got)
		}
	})
}

// TestWindowObservePlacement shows how Series.Observe, which does not read
// the clock, lands in the sub-window of the latest clock read.
func TestWindowObservePlacement(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := New()
		s := a.Series("f", "n")
		s.Observe(time.Millisecond, nil)
		time.Sleep(30 * time.Second)
		// The latest clock read was New's, at 0s: the next one, at 30s, closes
		// that sub-window with the invocation in it.
		if st := a.Window(Filter{}, WindowStep); st.Invocations != 0 {
			t.Errorf("10s window at 30s holds %d, want 0", st.Invocations)
		}
		if st := a.Window(Filter{}, time.Minute); st.Invocations != 1 {
			t.Errorf("1m window holds %d, want 1", st.Invocations)
		}
		time.Sleep(time.Minute)
		if st := a.Window(Filter{}, time.Minute); st.Invocations != 0 {
			t.Errorf("1m window after 90s holds %d, want 0", st.Invocations)
		}
	})
}

func TestWindowClockGoingBack(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := NewWithOptions(Options{Now: func() time.Time { return now }})
	a.Record(Invocation{FunctionID: "f", Duration: time.Millisecond, Success: true})
	now = now.Add(-time.Hour)
	a.Record(Invocation{FunctionID: "f", Duration: time.Millisecond, Success: true})
	if st := a.Window(Filter{}, time.Minute); st.Invocations != 2 || st.Span != 0 {
		t.Errorf("Window after the clock went back = %d inv over %v, want 2 over 0", st.Invocations, st.Span)
	}
	now = now.Add(2 * time.Hour)
	if st := a.Window(Filter{}, time.Minute); st.Invocations != 0 {
		t.Errorf("Window an hour later = %d, want 0", st.Invocations)
	}
}

func TestNoWindows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := NewWithOptions(Options{NoWindows: true})
		a.Record(Invocation{FunctionID: "f", Duration: time.Millisecond, Success: true})
		time.Sleep(time.Minute)
		a.Record(Invocation{FunctionID: "f", Duration: time.Millisecond, Success: true})
		if st := a.Window(Filter{}, time.Minute); st.Invocations != 0 {
			t.Errorf("Window with NoWindows = %d invocations, want 0", st.Invocations)
		}
		if a.list[0].win != nil {
			t.Error("NoWindows aggregator allocated window state")
		}
		if got := a.TotalInvocations(Filter{}); got != 2 {
			t.Errorf("TotalInvocations = %d, want 2", got)
		}
	})
}
