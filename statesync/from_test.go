package statesync

import (
	"errors"
	"testing"
)

// TestChangeFrom checks that every pending change says which versions it
// covers, through coalescing, so a receiver can tell a gap from a merge.
func TestChangeFrom(t *testing.T) {
	s := New(Options{MaxPending: 3})
	for i := range 7 {
		s.UpdateLocal(map[string]any{"k": i})
	}
	// Versions 1..7, queue bound 3: 1..5 coalesced into one change, then 6, 7.
	want := [][2]int64{{1, 5}, {6, 6}, {7, 7}}
	got := s.PendingChanges()
	if len(got) != len(want) {
		t.Fatalf("PendingChanges() has %d changes, want %d", len(got), len(want))
	}
	for i, ch := range got {
		if ch.From != want[i][0] || ch.Version != want[i][1] {
			t.Errorf("change %d covers %d..%d, want %d..%d", i, ch.From, ch.Version, want[i][0], want[i][1])
		}
	}
	r, err := Restore(Options{MaxPending: 3}, s.Export())
	if err != nil {
		t.Fatal(err)
	}
	for i, ch := range r.PendingChanges() {
		if ch.From != want[i][0] {
			t.Errorf("restored change %d: From = %d, want %d", i, ch.From, want[i][0])
		}
	}
}

// TestRestoreFillsFrom checks that a snapshot written before From existed
// gets it wherever it can be known: after the first change.
func TestRestoreFillsFrom(t *testing.T) {
	snap := Snapshot{State: State{Version: 9}, Pending: []Change{{Version: 4}, {Version: 7}, {Version: 9}}}
	s, err := Restore(Options{}, snap)
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{0, 5, 8}
	for i, ch := range s.PendingChanges() {
		if ch.From != want[i] {
			t.Errorf("change %d (version %d): From = %d, want %d", i, ch.Version, ch.From, want[i])
		}
	}
}

func TestRestoreRejectsBadFrom(t *testing.T) {
	for _, tt := range []struct {
		name    string
		pending []Change
	}{
		{"from after version", []Change{{Version: 3, From: 4}}},
		{"from overlaps the change before", []Change{{Version: 3, From: 1}, {Version: 5, From: 3}}},
		{"negative from", []Change{{Version: 3, From: -1}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Restore(Options{}, Snapshot{State: State{Version: 9}, Pending: tt.pending})
			if !errors.Is(err, ErrInvalidSnapshot) {
				t.Errorf("Restore = %v, want ErrInvalidSnapshot", err)
			}
		})
	}
}
