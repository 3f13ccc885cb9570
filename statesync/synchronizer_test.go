package statesync

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// clock is a manual clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newAt(opts Options) (*Synchronizer, *clock) {
	c := &clock{t: t0}
	opts.Now = c.now
	return New(opts), c
}

func TestUpdateLocal(t *testing.T) {
	s, c := newAt(Options{NodeID: "n1"})
	st := s.UpdateLocal(map[string]any{"a": 1, "b": "x"})
	if st.Version != 1 || st.NodeID != "n1" || !st.UpdatedAt.Equal(t0) {
		t.Fatalf("UpdateLocal = %+v, want version 1 of n1 at t0", st)
	}
	c.advance(time.Second)
	st = s.UpdateLocal(map[string]any{"b": "y"})
	want := map[string]any{"a": 1, "b": "y"}
	if !reflect.DeepEqual(st.Data, want) || st.Version != 2 || !st.UpdatedAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("second UpdateLocal = %+v, want %v at version 2", st, want)
	}
	p := s.PendingChanges()
	if len(p) != 2 || p[0].Version != 1 || p[1].Version != 2 || !reflect.DeepEqual(p[1].Data, map[string]any{"b": "y"}) {
		t.Fatalf("PendingChanges = %+v", p)
	}
	if s.LocalVersion() != 2 || s.PendingCount() != 2 || s.IsSynced() {
		t.Fatalf("LocalVersion %d, PendingCount %d, IsSynced %v", s.LocalVersion(), s.PendingCount(), s.IsSynced())
	}
}

func TestUpdateLocalEmptyStillVersions(t *testing.T) {
	s := New(Options{})
	s.UpdateLocal(nil)
	if s.LocalVersion() != 1 || s.PendingCount() != 1 {
		t.Fatalf("after UpdateLocal(nil): version %d, pending %d; want 1, 1", s.LocalVersion(), s.PendingCount())
	}
	if p := s.PendingChanges(); p[0].Data == nil {
		t.Fatal("an empty change should carry an empty, non-nil map")
	}
}

func TestApplyRemoteStrategies(t *testing.T) {
	later, earlier := t0.Add(time.Hour), t0.Add(-time.Hour)
	tests := []struct {
		name       string
		strategy   ConflictStrategy
		pending    bool // a local change is pending when the remote state arrives
		remoteTime time.Time
		want       bool
	}{
		{"remote wins, no pending", RemoteWins, false, earlier, true},
		{"remote wins, pending", RemoteWins, true, earlier, true},
		{"local wins, no pending", LocalWins, false, earlier, true},
		{"local wins, pending", LocalWins, true, later, false},
		{"latest wins, remote newer", LatestWins, true, later, true},
		{"latest wins, remote older", LatestWins, true, earlier, false},
		{"latest wins, same time", LatestWins, true, t0, false},
		{"latest wins, remote newer, no pending", LatestWins, false, later, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newAt(Options{Strategy: tt.strategy})
			s.UpdateLocal(map[string]any{"k": "local", "mine": true}) // local UpdatedAt = t0
			if !tt.pending {
				s.ConfirmSync(1)
			}
			got := s.ApplyRemote(State{Version: 7, Data: map[string]any{"k": "remote"}, UpdatedAt: tt.remoteTime})
			if got != tt.want {
				t.Fatalf("ApplyRemote = %v, want %v", got, tt.want)
			}
			st := s.State()
			wantK := "local"
			wantRV := int64(0)
			if tt.want {
				wantK, wantRV = "remote", 7
			}
			if st.Data["k"] != wantK || st.Data["mine"] != true || s.RemoteVersion() != wantRV {
				t.Fatalf("after ApplyRemote: data %v, remote version %d; want k=%s, mine kept, remote version %d", st.Data, s.RemoteVersion(), wantK, wantRV)
			}
			if st.Version != 1 {
				t.Fatalf("ApplyRemote changed the local version to %d", st.Version)
			}
			h := s.History(1)
			if len(h) != 1 || h[0].Kind != Pull || h[0].Version != 7 || h[0].Applied != tt.want {
				t.Fatalf("last event = %+v, want a Pull of version 7 applied=%v", h, tt.want)
			}
		})
	}
}

func TestApplyRemoteRejectsStale(t *testing.T) {
	s := New(Options{})
	for _, tt := range []struct {
		version int64
		want    bool
	}{
		{0, false}, // not greater than the initial remote version 0
		{3, true},
		{3, false}, // duplicate
		{2, false}, // reordered
		{4, true},
		{-1, false},
	} {
		if got := s.ApplyRemote(State{Version: tt.version, Data: map[string]any{"v": tt.version}}); got != tt.want {
			t.Errorf("ApplyRemote(version %d) = %v, want %v", tt.version, got, tt.want)
		}
	}
	if s.RemoteVersion() != 4 || s.State().Data["v"] != int64(4) {
		t.Fatalf("remote version %d, data %v; want 4 applied last", s.RemoteVersion(), s.State().Data)
	}
	if n := len(s.History(0)); n != 6 {
		t.Fatalf("History has %d events, want one Pull per ApplyRemote call (6)", n)
	}
}

func TestApplyRemoteKeepsLaterUpdatedAt(t *testing.T) {
	s, _ := newAt(Options{})
	s.UpdateLocal(map[string]any{"a": 1}) // t0
	s.ApplyRemote(State{Version: 1, UpdatedAt: t0.Add(-time.Minute)})
	if got := s.State().UpdatedAt; !got.Equal(t0) {
		t.Fatalf("UpdatedAt = %v, want the later local time %v", got, t0)
	}
	s.ApplyRemote(State{Version: 2, UpdatedAt: t0.Add(time.Minute)})
	if got := s.State().UpdatedAt; !got.Equal(t0.Add(time.Minute)) {
		t.Fatalf("UpdatedAt = %v, want the later remote time", got)
	}
	if s.PendingCount() != 1 {
		t.Fatal("ApplyRemote changed the pending queue")
	}
}

func TestConfirmSync(t *testing.T) {
	s, _ := newAt(Options{})
	for i := range 5 {
		s.UpdateLocal(map[string]any{"i": i})
	}
	if n := s.ConfirmSync(0); n != 0 {
		t.Fatalf("ConfirmSync(0) = %d, want 0", n)
	}
	if len(s.History(0)) != 0 {
		t.Fatal("a ConfirmSync that removed nothing recorded an event")
	}
	if n := s.ConfirmSync(3); n != 3 {
		t.Fatalf("ConfirmSync(3) = %d, want 3", n)
	}
	if p := s.PendingChanges(); len(p) != 2 || p[0].Version != 4 {
		t.Fatalf("pending after ConfirmSync(3) = %+v", p)
	}
	h := s.History(0)
	if len(h) != 1 || h[0] != (Event{Kind: Push, Version: 3, Applied: true, Changes: 3, At: t0}) {
		t.Fatalf("History = %+v", h)
	}
	if n := s.ConfirmSync(100); n != 2 || !s.IsSynced() {
		t.Fatalf("ConfirmSync(100) = %d, synced %v", n, s.IsSynced())
	}
}

func TestCoalescingKeepsLatestValues(t *testing.T) {
	s := New(Options{MaxPending: 3})
	for i := 1; i <= 10; i++ {
		s.UpdateLocal(map[string]any{fmt.Sprintf("k%d", i%4): i})
	}
	p := s.PendingChanges()
	if len(p) != 3 {
		t.Fatalf("PendingCount = %d, want MaxPending 3", len(p))
	}
	if p[0].Version != 8 || p[1].Version != 9 || p[2].Version != 10 {
		t.Fatalf("versions %d %d %d, want 8 9 10 (the oldest carries the newest version it absorbed)", p[0].Version, p[1].Version, p[2].Version)
	}
	replayed := map[string]any{}
	for _, ch := range p {
		mergeInto(replayed, ch.Data)
	}
	if !reflect.DeepEqual(replayed, s.State().Data) {
		t.Fatalf("replay = %v, state = %v", replayed, s.State().Data)
	}
	if s.Summary().Coalesced != 7 {
		t.Fatalf("Coalesced = %d, want 7", s.Summary().Coalesced)
	}
}

// TestCoalescingProperty replays random updates, with random confirmations,
// through many queue bounds: applying the confirmed changes and then the
// pending ones must always rebuild the local state.
func TestCoalescingProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		maxPending := 1 + r.IntN(8)
		s := New(Options{MaxPending: maxPending})
		remote := map[string]any{} // what the remote side has received and confirmed
		for range 1 + r.IntN(60) {
			upd := map[string]any{}
			for range 1 + r.IntN(3) {
				upd[fmt.Sprintf("k%d", r.IntN(6))] = r.IntN(1000)
			}
			s.UpdateLocal(upd)
			if s.PendingCount() > maxPending {
				t.Fatalf("trial %d: PendingCount %d > MaxPending %d", trial, s.PendingCount(), maxPending)
			}
			if r.IntN(5) == 0 { // the remote side takes the queue and confirms some prefix
				p := s.PendingChanges()
				k := r.IntN(len(p) + 1)
				for _, ch := range p[:k] {
					mergeInto(remote, ch.Data)
				}
				if k > 0 {
					s.ConfirmSync(p[k-1].Version)
				}
			}
		}
		for _, ch := range s.PendingChanges() {
			mergeInto(remote, ch.Data)
		}
		if !reflect.DeepEqual(remote, s.State().Data) {
			t.Fatalf("trial %d (MaxPending %d): replay %v != state %v", trial, maxPending, remote, s.State().Data)
		}
	}
}

func TestCopies(t *testing.T) {
	s := New(Options{})
	in := map[string]any{"nested": map[string]any{"x": 1}, "list": []any{1, 2}}
	s.UpdateLocal(in)
	in["nested"].(map[string]any)["x"] = 99
	in["list"].([]any)[0] = 99
	in["new"] = true

	out := s.State()
	if out.Data["nested"].(map[string]any)["x"] != 1 || out.Data["list"].([]any)[0] != 1 || out.Data["new"] != nil {
		t.Fatalf("mutating the caller's map changed the state: %v", out.Data)
	}
	out.Data["nested"].(map[string]any)["x"] = 42
	p := s.PendingChanges()
	p[0].Data["list"].([]any)[1] = 42
	if got := s.State().Data; got["nested"].(map[string]any)["x"] != 1 || got["list"].([]any)[1] != 2 {
		t.Fatalf("mutating handed-out maps changed the state: %v", got)
	}
	remote := State{Version: 1, Data: map[string]any{"r": map[string]any{"y": 1}}}
	s.ApplyRemote(remote)
	remote.Data["r"].(map[string]any)["y"] = 2
	if s.State().Data["r"].(map[string]any)["y"] != 1 {
		t.Fatal("mutating the remote state after ApplyRemote changed the local state")
	}
}

func TestHistoryLimitAndBound(t *testing.T) {
	s := New(Options{HistorySize: 5})
	for v := int64(1); v <= 12; v++ {
		s.ApplyRemote(State{Version: v})
	}
	all := s.History(0)
	if len(all) != 5 || all[0].Version != 8 || all[4].Version != 12 {
		t.Fatalf("History(0) = %+v, want versions 8..12", all)
	}
	if h := s.History(2); len(h) != 2 || h[0].Version != 11 || h[1].Version != 12 {
		t.Fatalf("History(2) = %+v, want versions 11, 12", h)
	}
	if h := s.History(-1); len(h) != 5 {
		t.Fatalf("History(-1) returned %d events, want all 5", len(h))
	}
}

func TestDefaults(t *testing.T) {
	s := New(Options{MaxPending: -4})
	for range 150 {
		s.UpdateLocal(map[string]any{"a": 1})
	}
	if s.PendingCount() != 100 {
		t.Fatalf("PendingCount = %d, want the default MaxPending 100", s.PendingCount())
	}
	if sum := s.Summary(); sum.MaxPending != 100 || sum.Strategy != "remote_wins" {
		t.Fatalf("Summary = %+v", sum)
	}
}

func TestSummaryJSON(t *testing.T) {
	s, _ := newAt(Options{NodeID: "n1", Strategy: LatestWins})
	s.UpdateLocal(map[string]any{"a": 1})
	b, err := json.Marshal(s.Summary())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"node_id", "strategy", "local_version", "remote_version", "pending_count", "is_synced", "updated_at"} {
		if _, ok := m[k]; !ok {
			t.Errorf("Summary JSON lacks %q: %s", k, b)
		}
	}
	if m["strategy"] != "latest_wins" || m["local_version"] != 1.0 {
		t.Errorf("Summary JSON = %s", b)
	}
}

func TestParseStrategy(t *testing.T) {
	for _, s := range []ConflictStrategy{RemoteWins, LocalWins, LatestWins} {
		got, err := ParseStrategy(s.String())
		if err != nil || got != s {
			t.Errorf("ParseStrategy(%q) = %v, %v", s.String(), got, err)
		}
	}
	if _, err := ParseStrategy("newest"); err == nil {
		t.Error("ParseStrategy accepted an unknown name")
	}
}

func TestConcurrentUse(t *testing.T) {
	s := New(Options{MaxPending: 10})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				s.UpdateLocal(map[string]any{fmt.Sprintf("w%d", w): i})
				s.ApplyRemote(State{Version: int64(i), Data: map[string]any{"r": i}})
				if p := s.PendingChanges(); len(p) > 0 {
					s.ConfirmSync(p[0].Version)
				}
				_ = s.State()
				_ = s.Summary()
				_ = s.History(3)
			}
		})
	}
	wg.Wait()
	if s.LocalVersion() != 800 {
		t.Fatalf("LocalVersion = %d, want 800", s.LocalVersion())
	}
	for w := range 4 {
		if got := s.State().Data[fmt.Sprintf("w%d", w)]; got != 199 {
			t.Errorf("w%d = %v, want its last value 199", w, got)
		}
	}
}
