package hub

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/edgeinfra/edgeinfra/internal/wire"
)

// TestStateOrdering feeds the registry state changes out of order, twice
// and coalesced, as a stream fed by a pipelining agent over a bad link can
// hold them, and checks that it applies versions only in increasing order,
// never skips a key, and holds what arrives early.
func TestStateOrdering(t *testing.T) {
	type arrival struct {
		prev, version int64
		keys          []string // each set to the version
	}
	tests := []struct {
		name     string
		arrivals []arrival
		applied  []int64 // versions applied, in order
		held     int     // changes held at the end
		want     map[string]any
	}{
		{
			name:     "in order",
			arrivals: []arrival{{0, 1, []string{"a"}}, {1, 2, []string{"b"}}, {2, 3, []string{"a"}}},
			applied:  []int64{1, 2, 3},
			want:     map[string]any{"a": int64(3), "b": int64(2)},
		},
		{
			name:     "reordered: held until the gap fills",
			arrivals: []arrival{{0, 1, []string{"a"}}, {2, 3, []string{"c"}}, {3, 4, []string{"a"}}, {1, 2, []string{"b"}}},
			applied:  []int64{1, 2, 3, 4},
			want:     map[string]any{"a": int64(4), "b": int64(2), "c": int64(3)},
		},
		{
			name:     "duplicates ignored",
			arrivals: []arrival{{0, 1, []string{"a"}}, {0, 1, []string{"a"}}, {2, 3, []string{"c"}}, {2, 3, []string{"c"}}, {1, 2, []string{"b"}}, {1, 2, []string{"b"}}},
			applied:  []int64{1, 2, 3},
			want:     map[string]any{"a": int64(1), "b": int64(2), "c": int64(3)},
		},
		{
			// 2 was lost, 3 landed; the agent coalesced 2..4 and resent it.
			name:     "coalesced change fills the gap and passes the held one",
			arrivals: []arrival{{0, 1, []string{"a"}}, {2, 3, []string{"c"}}, {1, 4, []string{"b", "c", "d"}}},
			applied:  []int64{1, 4},
			want:     map[string]any{"a": int64(1), "b": int64(4), "c": int64(4), "d": int64(4)},
		},
		{
			// The hub applied 2, the agent (its acknowledgement lost)
			// coalesced 2..3 and sent it: it covers 3, so it applies.
			name:     "coalesced change overlapping the applied version",
			arrivals: []arrival{{0, 1, []string{"a"}}, {1, 2, []string{"b"}}, {1, 3, []string{"b", "c"}}},
			applied:  []int64{1, 2, 3},
			want:     map[string]any{"a": int64(1), "b": int64(3), "c": int64(3)},
		},
		{
			name:     "older arrives after newer without prev: stale",
			arrivals: []arrival{{0, 2, []string{"b"}}, {0, 1, []string{"a"}}},
			applied:  []int64{2},
			want:     map[string]any{"b": int64(2)},
		},
		{
			name:     "gap never filled: held",
			arrivals: []arrival{{0, 1, []string{"a"}}, {5, 6, []string{"f"}}},
			applied:  []int64{1},
			held:     1,
			want:     map[string]any{"a": int64(1)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRegistry()
			var applied []int64
			r.onApply = func(_ string, _ uint64, v int64) { applied = append(applied, v) }
			for _, a := range tt.arrivals {
				data := map[string]any{}
				for _, k := range a.keys {
					data[k] = a.version
				}
				r.applyState(wire.StateChange{NodeID: "n", Lineage: 1, Prev: a.prev, Version: a.version, Data: data})
			}
			if !slices.Equal(applied, tt.applied) {
				t.Errorf("applied versions %v, want %v", applied, tt.applied)
			}
			if held, _ := r.heldCount(); held != tt.held {
				t.Errorf("held %d changes, want %d", held, tt.held)
			}
			s, _ := r.one("n", true)
			if !maps.Equal(s.Data, tt.want) {
				t.Errorf("data %v, want %v", s.Data, tt.want)
			}
		})
	}
}

// TestReleaseHeld checks the way out for gaps that cannot fill: the
// replay's end releases held changes, oldest first, counting the gaps.
func TestReleaseHeld(t *testing.T) {
	r := newRegistry()
	var applied []int64
	r.onApply = func(_ string, _ uint64, v int64) { applied = append(applied, v) }
	for _, c := range []struct{ prev, version int64 }{{7, 9}, {3, 5}, {5, 6}} {
		r.applyState(wire.StateChange{NodeID: "n", Lineage: 1, Prev: c.prev, Version: c.version, Data: map[string]any{"v": c.version}})
	}
	if n := r.releaseHeld(); n != 3 {
		t.Errorf("releaseHeld() = %d, want 3", n)
	}
	if want := []int64{5, 6, 9}; !slices.Equal(applied, want) {
		t.Errorf("applied %v, want %v", applied, want)
	}
	if held, gaps := r.heldCount(); held != 0 || gaps != 2 {
		t.Errorf("heldCount() = %d held, %d gaps; want 0, 2", held, gaps)
	}
}

// TestHeldBounded checks that a node cannot make the hub hold changes
// without end.
func TestHeldBounded(t *testing.T) {
	r := newRegistry()
	for v := int64(2); v < heldLimit+10; v++ {
		r.applyState(wire.StateChange{NodeID: "n", Lineage: 1, Prev: v, Version: v + 1})
	}
	if held, gaps := r.heldCount(); held > heldLimit || gaps != 1 {
		t.Errorf("heldCount() = %d held, %d gaps; want at most %d held, 1 gap", held, gaps, heldLimit)
	}
}

// TestReleaseUnanchored checks that a hub which never saw the start of a
// lineage (it restarted without data) stops waiting for it, while a
// lineage it has begun keeps waiting for its gaps.
func TestReleaseUnanchored(t *testing.T) {
	r := newRegistry()
	r.applyState(wire.StateChange{NodeID: "fresh", Lineage: 1, Prev: 41, Version: 42, Data: map[string]any{"k": 1}})
	r.applyState(wire.StateChange{NodeID: "begun", Lineage: 1, Prev: 0, Version: 1})
	r.applyState(wire.StateChange{NodeID: "begun", Lineage: 1, Prev: 2, Version: 3})
	if n := r.releaseUnanchored(time.Now().Add(-time.Hour)); n != 0 {
		t.Errorf("releaseUnanchored before the wait = %d, want 0", n)
	}
	if n := r.releaseUnanchored(time.Now().Add(time.Second)); n != 1 {
		t.Errorf("releaseUnanchored after the wait = %d, want 1", n)
	}
	if s, _ := r.one("fresh", false); s.StateVersion != 42 {
		t.Errorf("fresh node at version %d, want 42", s.StateVersion)
	}
	if s, _ := r.one("begun", false); s.StateVersion != 1 {
		t.Errorf("begun node at version %d, want 1 (still waiting for 2)", s.StateVersion)
	}
}
