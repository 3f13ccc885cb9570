package metrics

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// OverflowID is the FunctionID and NodeID of the overflow series: once an
// Aggregator holds [Options.MaxSeries] series, invocations of any new
// (function, node) pair are counted there instead.
const OverflowID = "__overflow__"

// OtherErrorKind counts the errors of a series whose kind did not fit in
// [Options.MaxErrorKinds].
const OtherErrorKind = "__other__"

// UnknownErrorKind is the kind of a failed [Invocation] whose Error is empty.
const UnknownErrorKind = "unknown"

// maxKindLen bounds the bytes kept of one error kind, so a caller putting
// request data into error messages cannot grow memory without bound.
const maxKindLen = 128

// Series is a pre-resolved handle on one (function, node) series of an
// [Aggregator]. Observe is the hot path: lock-free, allocation-free and
// safe for concurrent use. A Series stays valid for the life of its
// Aggregator; keep it instead of calling [Aggregator.Series] per event.
type Series struct {
	fn, node string
	maxKinds int

	hist  atomicHist
	_     [64]byte      // keeps the counters below off the page table's cache lines
	count atomic.Uint64 // invocations; equals the sum of hist once writers are done
	sum   atomic.Uint64 // nanoseconds
	errs  atomic.Uint64

	kmu   sync.Mutex        // guards kinds
	kinds map[string]uint64 // error counts by kind

	win   *window // guarded by Aggregator.winMu
	delta *cursor // guarded by Aggregator.deltaMu
}

func newSeries(fn, node string, maxKinds int) *Series {
	return &Series{fn: fn, node: node, maxKinds: maxKinds}
}

// FunctionID returns the function the series counts.
func (s *Series) FunctionID() string { return s.fn }

// NodeID returns the node the series counts.
func (s *Series) NodeID() string { return s.node }

// Observe records one invocation that took d and failed when err is not
// nil; err.Error() is its error kind. A negative d counts as zero. Observe
// does not read the clock: see the package documentation on windows.
func (s *Series) Observe(d time.Duration, err error) {
	if d < 0 {
		d = 0
	}
	s.hist.add(binOf(d), 1)
	s.count.Add(1)
	s.sum.Add(uint64(d))
	if err != nil {
		s.observeError(err.Error())
	}
}

// observe is Record's path: like Observe, with the kind as a string.
func (s *Series) observe(d time.Duration, failed bool, kind string) {
	if d < 0 {
		d = 0
	}
	s.hist.add(binOf(d), 1)
	s.count.Add(1)
	s.sum.Add(uint64(d))
	if failed {
		s.observeError(kind)
	}
}

// observeError counts one error. It runs after the invocation was counted,
// and readers load errs before counts, so a reader never sees more errors
// than invocations.
func (s *Series) observeError(kind string) {
	s.addKind(kind, 1)
	s.errs.Add(1)
}

func (s *Series) addKind(kind string, n uint64) {
	kind = normKind(kind)
	s.kmu.Lock()
	if s.kinds == nil {
		s.kinds = make(map[string]uint64)
	}
	if _, ok := s.kinds[kind]; !ok && len(s.kinds) >= s.maxKinds {
		kind = OtherErrorKind
	}
	s.kinds[kind] += n
	s.kmu.Unlock()
}

func normKind(kind string) string {
	if kind == "" {
		return UnknownErrorKind
	}
	if len(kind) > maxKindLen {
		cut := maxKindLen
		for cut > 0 && !utf8.RuneStart(kind[cut]) {
			cut--
		}
		kind = kind[:cut]
	}
	return kind
}

// totals reads the series' all-time counters.
func (s *Series) totals() (count, errs, sum uint64) {
	errs = s.errs.Load()
	count = s.count.Load()
	sum = s.sum.Load()
	return count, errs, sum
}

// kindsInto adds the series' error counts by kind to m.
func (s *Series) kindsInto(m map[string]uint64) {
	s.kmu.Lock()
	for k, n := range s.kinds {
		m[k] += n
	}
	s.kmu.Unlock()
}

// ErrorCount is the number of errors of one kind.
type ErrorCount struct {
	Kind  string `json:"kind"`
	Count int64  `json:"count"`
}

// topKinds sorts m by count, highest first (ties by kind), and keeps n
// (all when n <= 0).
func topKinds(m map[string]uint64, n int) []ErrorCount {
	out := make([]ErrorCount, 0, len(m))
	for k, c := range m {
		if c > 0 {
			out = append(out, ErrorCount{Kind: k, Count: int64(c)})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Kind < out[j].Kind
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// cursor remembers the counters of a series as of its last take, so that
// take returns exactly what was added since: each counter is monotonic and
// read once, so every increment lands in exactly one take.
type cursor struct {
	pages [maxPages]*[pageSize]uint64
	errs  uint64
	sum   uint64
	kinds map[string]uint64 // nil unless kinds are tracked
}

// delta is what a cursor take (or a full read) returns.
type delta struct {
	errs, sum uint64
	bins      []bin // sorted by idx, counts > 0
	kinds     map[string]uint64
}

func (d *delta) empty() bool { return len(d.bins) == 0 && d.errs == 0 && d.sum == 0 }

// take fills out with the series' growth since the cursor's last take and,
// when advance is set, moves the cursor to now. out.bins is reused.
func (c *cursor) take(s *Series, out *delta, advance, withKinds bool) {
	errs := s.errs.Load()
	out.errs = errs - c.errs
	out.bins = out.bins[:0]
	for i := range numPages {
		p := s.hist.pages[i].Load()
		if p == nil {
			continue
		}
		sh := c.pages[i]
		if sh == nil && advance {
			sh = new([pageSize]uint64)
			c.pages[i] = sh
		}
		base := i << pageBits
		for j := range p {
			v := p[j].Load()
			var old uint64
			if sh != nil {
				old = sh[j]
			}
			if v != old {
				out.bins = append(out.bins, bin{idx: uint32(base + j), n: v - old})
				if advance {
					sh[j] = v
				}
			}
		}
	}
	sum := s.sum.Load()
	out.sum = sum - c.sum
	if advance {
		c.errs, c.sum = errs, sum
	}
	out.kinds = nil
	if !withKinds {
		return
	}
	s.kmu.Lock()
	for k, v := range s.kinds {
		if d := v - c.kinds[k]; d > 0 {
			if out.kinds == nil {
				out.kinds = make(map[string]uint64)
			}
			out.kinds[k] = d
			if advance {
				if c.kinds == nil {
					c.kinds = make(map[string]uint64)
				}
				c.kinds[k] = v
			}
		}
	}
	s.kmu.Unlock()
}
