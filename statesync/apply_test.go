package statesync

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestStaleRejectedUnderEveryStrategy(t *testing.T) {
	for _, strategy := range []ConflictStrategy{RemoteWins, LocalWins, LatestWins} {
		for _, pending := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/pending=%v", strategy, pending), func(t *testing.T) {
				s, c := newAt(Options{Strategy: strategy})
				if !s.ApplyRemote(State{Version: 5, Data: map[string]any{"k": "v5"}, UpdatedAt: t0.Add(time.Hour)}) {
					t.Fatal("first fresh remote state not applied")
				}
				if pending {
					c.advance(2 * time.Hour)
					s.UpdateLocal(map[string]any{"mine": 1})
				}
				for _, v := range []int64{5, 4, 0} { // duplicate, reordered, zero
					later := t0.Add(24 * time.Hour) // newer than anything local
					if s.ApplyRemote(State{Version: v, Data: map[string]any{"k": "stale"}, UpdatedAt: later}) {
						t.Fatalf("stale version %d applied", v)
					}
				}
				if s.State().Data["k"] != "v5" || s.RemoteVersion() != 5 {
					t.Fatalf("stale state leaked: %v, remote version %d", s.State().Data, s.RemoteVersion())
				}
			})
		}
	}
}

// With no Options.Now the Synchronizer reads the real clock; synctest's
// fake clock makes that deterministic.
func TestDefaultClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{Strategy: LatestWins})
		start := time.Now()
		s.UpdateLocal(map[string]any{"a": 1})
		if got := s.State().UpdatedAt; !got.Equal(start) {
			t.Fatalf("UpdatedAt = %v, want now (%v)", got, start)
		}
		time.Sleep(time.Minute)
		s.ConfirmSync(1)
		h := s.History(0)
		if len(h) != 1 || !h[0].At.Equal(start.Add(time.Minute)) {
			t.Fatalf("push event %+v, want one at start+1m", h)
		}
		// A remote state stamped before the local update loses under LatestWins.
		if s.ApplyRemote(State{Version: 1, UpdatedAt: start.Add(-time.Second)}) {
			t.Fatal("older remote state applied under LatestWins")
		}
		if !s.ApplyRemote(State{Version: 1, UpdatedAt: time.Now()}) {
			t.Fatal("newer remote state not applied under LatestWins")
		}
	})
}

func FuzzParseStrategy(f *testing.F) {
	for _, s := range []string{"", "remote_wins", "local-wins", "latest_wins", "LatestWins", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		s, err := ParseStrategy(name)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "statesync: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
			return
		}
		if back, err := ParseStrategy(s.String()); err != nil || back != s {
			t.Fatalf("ParseStrategy(%q) = %v, whose name %q parses to %v, %v", name, s, s.String(), back, err)
		}
	})
}
