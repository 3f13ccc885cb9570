package health

import (
	"fmt"
	"testing"

	"github.com/edgeinfra/edgeinfra/node"
)

// TestHistoryGrowsWithChecks checks that a node's history holds room for the
// checks it has, not for HistorySize of them: a fleet of 100k nodes checked
// once must not cost 100k full histories.
func TestHistoryGrowsWithChecks(t *testing.T) {
	tests := []struct {
		name            string
		size, checks    int
		wantLen, maxCap int
	}{
		{"one check", 100, 1, 1, 4},
		{"a few checks", 100, 5, 5, 8},
		{"full", 100, 100, 100, 100},
		{"wrapped", 100, 250, 100, 100},
		{"size one", 1, 3, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMonitor(Options{HistorySize: tt.size, Now: fixedNow})
			for i := range tt.checks {
				m.CheckNode(node.Node{ID: "n", Status: node.Online, LastHeartbeat: t0, Address: fmt.Sprint(i)})
			}
			r := ringOf(m, "n")
			if len(r.buf) != tt.wantLen || cap(r.buf) > tt.maxCap {
				t.Fatalf("after %d checks: len %d cap %d, want len %d cap <= %d", tt.checks, len(r.buf), cap(r.buf), tt.wantLen, tt.maxCap)
			}
			if got := len(m.History("n", 0)); got != tt.wantLen {
				t.Fatalf("History kept %d checks, want %d", got, tt.wantLen)
			}
		})
	}
}

// TestHistoryOrderWhileGrowing checks History's order across the moment the
// buffer stops growing and starts to wrap.
func TestHistoryOrderWhileGrowing(t *testing.T) {
	for checks := 1; checks <= 12; checks++ {
		m := NewMonitor(Options{HistorySize: 7, Now: fixedNow})
		for i := range checks {
			st := node.Online
			if i%3 == 0 {
				st = node.Offline
			}
			m.CheckNode(node.Node{ID: "n", Status: st, LastHeartbeat: t0})
		}
		h := m.History("n", 0)
		first := max(checks-7, 0)
		for j, c := range h {
			if want := (first+j)%3 != 0; c.Healthy != want {
				t.Fatalf("%d checks: History[%d].Healthy = %v, want %v", checks, j, c.Healthy, want)
			}
		}
		changes := 0
		for j := 1; j < len(h); j++ {
			if h[j].Healthy != h[j-1].Healthy {
				changes++
			}
		}
		if got := m.DetectFlapping("n", 0); got != (changes >= 3) {
			t.Fatalf("%d checks: DetectFlapping = %v disagrees with the history", checks, got)
		}
	}
}

// TestTransitionsMatchHistory checks the flap count, kept as bits of the
// newest 64 checks, against a walk over History for every window size,
// before and after the history wraps and past 64 checks.
func TestTransitionsMatchHistory(t *testing.T) {
	m := NewMonitor(Options{HistorySize: 80, Now: fixedNow})
	seed := uint32(7)
	for i := range 200 {
		seed = seed*1664525 + 1013904223
		st := node.Online
		if seed>>28 < 6 {
			st = node.Offline
		}
		m.CheckNode(node.Node{ID: "n", Status: st, LastHeartbeat: t0})
		h := m.History("n", 0)
		for _, w := range []int{0, 1, 2, 3, 10, 63, 64, 65, 80, 100} {
			want := 0
			start := 0
			if w > 0 && w < len(h) {
				start = len(h) - w
			}
			for j := start + 1; j < len(h); j++ {
				if h[j].Healthy != h[j-1].Healthy {
					want++
				}
			}
			if got := ringOf(m, "n").transitions(w); got != want {
				t.Fatalf("after %d checks, window %d: %d transitions, want %d", i+1, w, got, want)
			}
		}
	}
}

// ringOf returns the history of id, which must have one.
func ringOf(m *Monitor, id string) *ring { return &m.recs[m.index[id]].ring }
