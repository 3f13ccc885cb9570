package statesync

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestExportRestoreRoundTrip(t *testing.T) {
	s, c := newAt(Options{NodeID: "n1", MaxPending: 4})
	for i := range 6 {
		s.UpdateLocal(map[string]any{"i": float64(i), "nested": map[string]any{"i": float64(i)}})
		c.advance(time.Second)
	}
	s.ApplyRemote(State{Version: 3, Data: map[string]any{"r": "x"}, UpdatedAt: t0})
	s.ConfirmSync(5)

	b, err := json.Marshal(s.Export())
	if err != nil {
		t.Fatal(err)
	}
	var snap Snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		t.Fatal(err)
	}
	r, err := Restore(Options{NodeID: "n1", MaxPending: 4, Now: c.now}, snap)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.State().Data, s.State().Data) || r.LocalVersion() != 6 || r.RemoteVersion() != 3 {
		t.Fatalf("restored %+v (remote %d), want %+v", r.State(), r.RemoteVersion(), s.State())
	}
	if !r.State().UpdatedAt.Equal(s.State().UpdatedAt) {
		t.Fatal("UpdatedAt not restored")
	}
	if got, want := r.PendingChanges(), s.PendingChanges(); len(got) != len(want) || got[0].Version != want[0].Version {
		t.Fatalf("pending %+v, want %+v", got, want)
	}
	if !reflect.DeepEqual(r.History(0), s.History(0)) {
		t.Fatalf("history %+v, want %+v", r.History(0), s.History(0))
	}
	if !reflect.DeepEqual(r.Summary(), s.Summary()) {
		t.Fatalf("summary %+v, want %+v", r.Summary(), s.Summary())
	}
	// The restored synchronizer goes on from where it stopped.
	if st := r.UpdateLocal(map[string]any{"after": true}); st.Version != 7 {
		t.Fatalf("next version after restore = %d, want 7", st.Version)
	}
	if r.ApplyRemote(State{Version: 3}) {
		t.Fatal("restored synchronizer applied a stale remote version")
	}
}

func TestRestoreRejectsInconsistentSnapshots(t *testing.T) {
	tests := []struct {
		name string
		snap Snapshot
	}{
		{"negative local version", Snapshot{State: State{Version: -1}}},
		{"negative remote version", Snapshot{RemoteVersion: -1}},
		{"unknown event kind", Snapshot{History: []Event{{Kind: "sideways"}}}},
		{"more pulls applied than made", Snapshot{Pulls: 1, PullsApplied: 2}},
		{"pending beyond local version", Snapshot{State: State{Version: 2}, Pending: []Change{{Version: 3}}}},
		{"pending not increasing", Snapshot{State: State{Version: 5}, Pending: []Change{{Version: 3}, {Version: 3}}}},
		{"pending version zero", Snapshot{State: State{Version: 5}, Pending: []Change{{Version: 0}}}},
		{"another node", Snapshot{State: State{NodeID: "other", Version: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Restore(Options{NodeID: "n1"}, tt.snap)
			if !errors.Is(err, ErrInvalidSnapshot) {
				t.Fatalf("Restore = %v, want an error wrapping ErrInvalidSnapshot", err)
			}
		})
	}
}

func TestRestoreCoalescesIntoSmallerBound(t *testing.T) {
	s := New(Options{MaxPending: 10})
	for i := range 10 {
		s.UpdateLocal(map[string]any{"k": i})
	}
	r, err := Restore(Options{MaxPending: 2}, s.Export())
	if err != nil {
		t.Fatal(err)
	}
	p := r.PendingChanges()
	if len(p) != 2 || p[1].Version != 10 || p[1].Data["k"] != 9 {
		t.Fatalf("pending %+v, want 2 changes ending with version 10, k=9", p)
	}
}

func FuzzRestoreJSON(f *testing.F) {
	s := New(Options{NodeID: "n"})
	s.UpdateLocal(map[string]any{"a": 1.0})
	s.ApplyRemote(State{Version: 2, Data: map[string]any{"b": "x"}})
	seed, _ := json.Marshal(s.Export())
	f.Add(seed)
	f.Add([]byte(`{"state":{"version":3},"pending":[{"version":1},{"version":3}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var snap Snapshot
		if json.Unmarshal(data, &snap) != nil {
			return
		}
		r, err := Restore(Options{MaxPending: 3}, snap)
		if err != nil {
			return
		}
		if r.PendingCount() > 3 {
			t.Fatalf("restored queue of %d exceeds MaxPending 3", r.PendingCount())
		}
		prev := int64(0)
		for _, ch := range r.PendingChanges() {
			if ch.Version <= prev || ch.Version > r.LocalVersion() {
				t.Fatalf("restored pending versions out of order: %+v", r.PendingChanges())
			}
			prev = ch.Version
		}
		r.UpdateLocal(map[string]any{"z": 1})
	})
}

func TestStateJSONRoundTrip(t *testing.T) {
	in := State{
		NodeID:    "n1",
		Version:   3,
		Data:      map[string]any{"n": 1.5, "s": "x", "b": true, "nil": nil, "list": []any{"a", 2.0}, "obj": map[string]any{"k": "v"}},
		UpdatedAt: time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC),
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"node_id":"n1"`, `"version":3`, `"updated_at":"2026-03-04T05:06:07.000000008Z"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON %s lacks %s", b, key)
		}
	}
	var out State
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Fatalf("round trip gave %+v, want %+v", out, in)
	}
}
