package metrics

import (
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func fixture() *Aggregator {
	a := New()
	for _, inv := range []Invocation{
		{FunctionID: "resize", NodeID: "fra", Duration: 10 * time.Millisecond, Success: true},
		{FunctionID: "resize", NodeID: "fra", Duration: 30 * time.Millisecond, Success: false, Error: "timeout"},
		{FunctionID: "resize", NodeID: "ams", Duration: 20 * time.Millisecond, Success: true},
		{FunctionID: "auth", NodeID: "fra", Duration: 2 * time.Millisecond, Success: true},
		{FunctionID: "auth", NodeID: "ams", Duration: 4 * time.Millisecond, Success: false, Error: "denied"},
		{FunctionID: "auth", NodeID: "ams", Duration: 6 * time.Millisecond, Success: false},
	} {
		a.Record(inv)
	}
	return a
}

func TestQueries(t *testing.T) {
	a := fixture()
	tests := []struct {
		name    string
		f       Filter
		total   int64
		errs    int64
		success float64
		avg     time.Duration
	}{
		{"all", Filter{}, 6, 3, 50, 12 * time.Millisecond},
		{"function", Filter{FunctionID: "resize"}, 3, 1, 100 * 2.0 / 3, 20 * time.Millisecond},
		{"node", Filter{NodeID: "ams"}, 3, 2, 100 * 1.0 / 3, 10 * time.Millisecond},
		{"function and node", Filter{FunctionID: "auth", NodeID: "ams"}, 2, 2, 0, 5 * time.Millisecond},
		{"function and node, other", Filter{FunctionID: "resize", NodeID: "fra"}, 2, 1, 50, 20 * time.Millisecond},
		{"unknown function", Filter{FunctionID: "nope"}, 0, 0, 0, 0},
		{"unknown pair", Filter{FunctionID: "auth", NodeID: "nope"}, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := a.TotalInvocations(tt.f); got != tt.total {
				t.Errorf("TotalInvocations(%+v) = %d, want %d", tt.f, got, tt.total)
			}
			if got := a.ErrorCount(tt.f); got != tt.errs {
				t.Errorf("ErrorCount(%+v) = %d, want %d", tt.f, got, tt.errs)
			}
			if got := a.SuccessRate(tt.f); !approx(got, tt.success, 1e-9) {
				t.Errorf("SuccessRate(%+v) = %v, want %v", tt.f, got, tt.success)
			}
			if got := a.AvgLatency(tt.f); got != tt.avg {
				t.Errorf("AvgLatency(%+v) = %v, want %v", tt.f, got, tt.avg)
			}
		})
	}
}

func approx(a, b, eps float64) bool { return a-b <= eps && b-a <= eps }

func TestEmptyAggregator(t *testing.T) {
	a := New()
	if a.TotalInvocations(Filter{}) != 0 || a.ErrorCount(Filter{}) != 0 || a.SuccessRate(Filter{}) != 0 ||
		a.AvgLatency(Filter{}) != 0 || a.Quantile(Filter{}, 0.5) != 0 {
		t.Error("empty aggregator reported non-zero values")
	}
	if got := a.Summary(); got != (Summary{MaxSeries: DefaultMaxSeries}) {
		t.Errorf("Summary() = %+v, want zero counts", got)
	}
}

func TestRecordEdges(t *testing.T) {
	a := New()
	a.Record(Invocation{FunctionID: "f", NodeID: "n", Duration: -time.Second, Success: true})
	a.Record(Invocation{FunctionID: "f", NodeID: "n", Duration: time.Second, Success: true, Error: "ignored"})
	a.Record(Invocation{FunctionID: "", NodeID: "", Duration: time.Second})
	if got := a.AvgLatency(Filter{FunctionID: "f"}); got != 500*time.Millisecond {
		t.Errorf("negative duration: AvgLatency = %v, want 500ms (negative counts as 0)", got)
	}
	if got := a.ErrorCount(Filter{FunctionID: "f"}); got != 0 {
		t.Errorf("Error on success counted: ErrorCount = %d, want 0", got)
	}
	if got := a.TopErrors(Filter{}, 0); len(got) != 1 || got[0] != (ErrorCount{UnknownErrorKind, 1}) {
		t.Errorf("TopErrors = %v, want one %q", got, UnknownErrorKind)
	}
	if got := a.TotalInvocations(Filter{}); got != 3 {
		t.Errorf("TotalInvocations = %d, want 3 (empty IDs are a series too)", got)
	}
}

func TestSeriesObserve(t *testing.T) {
	a := New()
	s := a.Series("f", "n")
	if a.Series("f", "n") != s {
		t.Fatal("Series returned a new handle for the same pair")
	}
	s.Observe(time.Millisecond, nil)
	s.Observe(3*time.Millisecond, errors.New("boom"))
	a.Record(Invocation{FunctionID: "f", NodeID: "n", Duration: 2 * time.Millisecond, Success: true})
	if got := a.TotalInvocations(Filter{FunctionID: "f", NodeID: "n"}); got != 3 {
		t.Errorf("TotalInvocations = %d, want 3", got)
	}
	if got := a.TopErrors(Filter{}, 1); len(got) != 1 || got[0].Kind != "boom" {
		t.Errorf("TopErrors = %v, want boom", got)
	}
	if s.FunctionID() != "f" || s.NodeID() != "n" {
		t.Errorf("handle names %q/%q", s.FunctionID(), s.NodeID())
	}
}

func TestTopErrors(t *testing.T) {
	a := NewWithOptions(Options{MaxErrorKinds: 3})
	for i, kind := range []string{"a", "b", "b", "c", "c", "c", "d", "e", strings.Repeat("é", 200)} {
		a.Record(Invocation{FunctionID: "f", NodeID: []string{"x", "y"}[i%2], Error: kind})
	}
	tests := []struct {
		name string
		f    Filter
		n    int
		want []ErrorCount
	}{
		// x sees a, b, c, d, long: d and long fold into OtherErrorKind. y sees b, c, c, e.
		{"top 2", Filter{}, 2, []ErrorCount{{"c", 3}, {OtherErrorKind, 2}}},
		{"all", Filter{}, 0, []ErrorCount{{"c", 3}, {OtherErrorKind, 2}, {"b", 2}, {"a", 1}, {"e", 1}}},
		{"node x", Filter{NodeID: "x"}, 0, []ErrorCount{{OtherErrorKind, 2}, {"a", 1}, {"b", 1}, {"c", 1}}},
		{"no match", Filter{FunctionID: "g"}, 5, []ErrorCount{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := a.TopErrors(tt.f, tt.n)
			if len(got) != len(tt.want) {
				t.Fatalf("TopErrors(%+v, %d) = %v, want %v", tt.f, tt.n, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("TopErrors(%+v, %d)[%d] = %v, want %v", tt.f, tt.n, i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestNormKindTruncatesOnRuneBoundary(t *testing.T) {
	k := normKind(strings.Repeat("é", 100))
	if len(k) > maxKindLen || !strings.HasPrefix(strings.Repeat("é", 100), k) || len(k)%2 != 0 {
		t.Errorf("normKind kept %d bytes %q", len(k), k)
	}
}

func TestMaxSeriesOverflow(t *testing.T) {
	a := NewWithOptions(Options{MaxSeries: 2})
	for i, fn := range []string{"a", "b", "c", "d", "a", "c"} {
		a.Record(Invocation{FunctionID: fn, NodeID: "n", Duration: time.Duration(i+1) * time.Millisecond, Success: fn != "d"})
	}
	if got := a.TotalInvocations(Filter{}); got != 6 {
		t.Errorf("TotalInvocations = %d, want 6 (nothing dropped)", got)
	}
	if got := a.TotalInvocations(Filter{FunctionID: "a"}); got != 2 {
		t.Errorf("series a = %d, want 2", got)
	}
	if got := a.TotalInvocations(Filter{FunctionID: "c"}); got != 0 {
		t.Errorf("series c = %d, want 0 (folded into overflow)", got)
	}
	ov := Filter{FunctionID: OverflowID, NodeID: OverflowID}
	if got := a.TotalInvocations(ov); got != 3 {
		t.Errorf("overflow series = %d, want 3", got)
	}
	if got := a.ErrorCount(ov); got != 1 {
		t.Errorf("overflow errors = %d, want 1", got)
	}
	sum := a.Summary()
	if sum.Series != 2 || sum.OverflowInvocations != 3 || sum.MaxSeries != 2 {
		t.Errorf("Summary = %+v, want 2 series, 3 overflow", sum)
	}
	if got := a.Keys(Filter{}); len(got) != 3 || got[2] != ov {
		t.Errorf("Keys = %v, want a, b, overflow", got)
	}
	if NewWithOptions(Options{MaxSeries: -1}).Summary().MaxSeries != -1 {
		t.Error("negative MaxSeries is not reported as unlimited")
	}
}

func TestSummaryJSON(t *testing.T) {
	b, err := json.Marshal(fixture().Summary())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"series":4,"functions":2,"nodes":2,"total_invocations":6,"total_errors":3,"success_rate":50,"avg_latency_ms":12,"overflow_invocations":0,"max_series":10000}`
	if string(b) != want {
		t.Errorf("Summary JSON = %s, want %s", b, want)
	}
}

func TestConcurrentRecordAndQuery(t *testing.T) {
	a := New()
	const writers, per = 8, 2000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			s := a.Series("hot", "n")
			for i := range per {
				if i%2 == 0 {
					s.Observe(time.Microsecond, nil)
				} else {
					a.Record(Invocation{FunctionID: "f", NodeID: string(rune('a' + w)), Duration: time.Millisecond, Success: i%3 != 0})
				}
			}
		})
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if r := a.SuccessRate(Filter{}); r < 0 || r > 100 {
				t.Errorf("SuccessRate = %v during writes", r)
			}
			a.Quantile(Filter{FunctionID: "f"}, 0.9)
			a.TakeDelta()
			a.Summary()
		}
	})
	wg.Wait()
	close(stop)
	readers.Wait()
	if got := a.TotalInvocations(Filter{}); got != writers*per {
		t.Errorf("TotalInvocations = %d, want %d", got, writers*per)
	}
	if got := a.TotalInvocations(Filter{FunctionID: "hot"}); got != writers*per/2 {
		t.Errorf("hot series = %d, want %d", got, writers*per/2)
	}
}

// TestMemoryDoesNotGrowWithInvocations records 10x more invocations into
// the same series and checks the heap stays put.
func TestMemoryDoesNotGrowWithInvocations(t *testing.T) {
	heapAfter := func(n int) uint64 {
		a := New()
		for i := range n {
			a.Record(Invocation{
				FunctionID: "f" + string(rune('a'+i%10)), NodeID: "n",
				Duration: time.Duration(i%5000+1) * time.Microsecond, Success: i%7 != 0, Error: "e",
			})
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		runtime.KeepAlive(a)
		return ms.HeapAlloc
	}
	small := heapAfter(20_000)
	large := heapAfter(200_000)
	if large > small+256<<10 {
		t.Errorf("heap grew from %d to %d bytes with 10x the invocations", small, large)
	}
}
