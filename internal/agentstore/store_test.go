package agentstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/edgeinfra/edgeinfra/statesync"
)

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func sampleSync() *statesync.Synchronizer {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := statesync.New(statesync.Options{NodeID: "n1", MaxPending: 3, Now: func() time.Time { return at }})
	for i := range 5 {
		s.UpdateLocal(map[string]any{fmt.Sprint("k", i%4): float64(i), "nested": map[string]any{"i": float64(i)}})
	}
	s.ConfirmSync(2)
	s.ApplyRemote(statesync.State{NodeID: "n1", Version: 7, Data: map[string]any{"r": "x"}, UpdatedAt: at})
	return s
}

func TestSyncRoundTripAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	st := open(t, dir)
	if _, ok, err := st.LoadSync(); ok || err != nil {
		t.Fatalf("LoadSync on a new store = ok %v, err %v; want none", ok, err)
	}
	want := sampleSync().Export()
	if err := st.SaveSync(want); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = open(t, dir)
	defer st.Close()
	got, ok, err := st.LoadSync()
	if err != nil || !ok {
		t.Fatalf("LoadSync after reopen = ok %v, err %v", ok, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("snapshot changed across reopen:\n got %+v\nwant %+v", got, want)
	}
	r, err := statesync.Restore(statesync.Options{NodeID: "n1", MaxPending: 3}, got)
	if err != nil {
		t.Fatal(err)
	}
	if r.LocalVersion() != 5 || r.RemoteVersion() != 7 || r.PendingCount() != len(want.Pending) || !reflect.DeepEqual(r.State(), want.State) {
		t.Fatalf("restored versions local %d remote %d pending %d", r.LocalVersion(), r.RemoteVersion(), r.PendingCount())
	}
}

func TestDeltaOutbox(t *testing.T) {
	dir := t.TempDir()
	st := open(t, dir)
	for i := 1; i <= 5; i++ {
		seq, err := st.AppendDelta([]byte{byte(i)})
		if err != nil || seq != uint64(i) {
			t.Fatalf("AppendDelta #%d = %d, %v", i, seq, err)
		}
	}
	steps := []struct {
		ack     uint64
		removed int
		left    []uint64
	}{
		{ack: 0, removed: 0, left: []uint64{1, 2, 3, 4, 5}},
		{ack: 2, removed: 2, left: []uint64{3, 4, 5}},
		{ack: 2, removed: 0, left: []uint64{3, 4, 5}}, // acknowledged twice
		{ack: 4, removed: 2, left: []uint64{5}},
		{ack: 99, removed: 1, left: nil}, // beyond the last sequence
	}
	for _, step := range steps {
		n, err := st.AckDeltas(step.ack)
		if err != nil || n != step.removed {
			t.Fatalf("AckDeltas(%d) = %d, %v; want %d", step.ack, n, err, step.removed)
		}
		ds, err := st.PendingDeltas()
		if err != nil {
			t.Fatal(err)
		}
		var seqs []uint64
		for _, d := range ds {
			seqs = append(seqs, d.Seq)
			if !bytes.Equal(d.Data, []byte{byte(d.Seq)}) {
				t.Fatalf("delta %d holds %v", d.Seq, d.Data)
			}
		}
		if !reflect.DeepEqual(seqs, step.left) {
			t.Fatalf("after AckDeltas(%d) pending = %v, want %v", step.ack, seqs, step.left)
		}
	}
	st.Close()

	st = open(t, dir) // sequence numbers are never reused, even after a reopen
	defer st.Close()
	if last, err := st.LastDeltaSeq(); err != nil || last != 5 {
		t.Fatalf("LastDeltaSeq = %d, %v; want 5", last, err)
	}
	if seq, err := st.AppendDelta(nil); err != nil || seq != 6 {
		t.Fatalf("AppendDelta after reopen = %d, %v; want 6", seq, err)
	}
}

func TestReturnedBytesAreCopies(t *testing.T) {
	st := open(t, t.TempDir())
	defer st.Close()
	in := []byte("abc")
	if _, err := st.AppendDelta(in); err != nil {
		t.Fatal(err)
	}
	in[0] = 'X'
	ds, _ := st.PendingDeltas()
	ds[0].Data[1] = 'Y'
	again, _ := st.PendingDeltas()
	if string(again[0].Data) != "abc" {
		t.Fatalf("stored delta = %q, want abc", again[0].Data)
	}
}

func TestPutGet(t *testing.T) {
	st := open(t, t.TempDir())
	defer st.Close()
	if _, ok, err := st.Get("lineage"); ok || err != nil {
		t.Fatalf("Get of a missing key = ok %v, err %v", ok, err)
	}
	if err := st.Put("lineage", []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := st.Get("lineage"); !ok || err != nil || !bytes.Equal(v, []byte{1, 2}) {
		t.Fatalf("Get = %v, %v, %v", v, ok, err)
	}
	if err := st.Put("", nil); err == nil {
		t.Fatal("Put with an empty key succeeded")
	}
}

func TestOpenRejectsBadFiles(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
		want  error
	}{
		{"garbage", func(t *testing.T, path string) {
			if err := os.WriteFile(path, bytes.Repeat([]byte("not a database "), 1000), 0o600); err != nil {
				t.Fatal(err)
			}
		}, ErrCorrupt},
		{"foreign bbolt database", func(t *testing.T, path string) {
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err })
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
		}, ErrCorrupt},
		{"wrong format marker", func(t *testing.T, path string) {
			st, err := Open(filepath.Dir(path))
			if err != nil {
				t.Fatal(err)
			}
			err = st.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyFormat, []byte("v0")) })
			if err != nil {
				t.Fatal(err)
			}
			st.Close()
		}, ErrCorrupt},
		{"undecodable snapshot", nil, nil}, // checked below: Open works, LoadSync fails
	}
	for _, tt := range tests {
		if tt.setup == nil {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, filepath.Join(dir, FileName))
			st, err := Open(dir)
			if !errors.Is(err, tt.want) {
				if st != nil {
					st.Close()
				}
				t.Fatalf("Open = %v, want an error wrapping %v", err, tt.want)
			}
		})
	}

	t.Run("undecodable snapshot", func(t *testing.T) {
		st := open(t, t.TempDir())
		defer st.Close()
		err := st.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketSync).Put(keySnapshot, []byte("{oops")) })
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, err := st.LoadSync(); ok || !errors.Is(err, ErrCorrupt) {
			t.Fatalf("LoadSync = ok %v, err %v; want ErrCorrupt", ok, err)
		}
	})
}

func TestOpenTwiceIsLocked(t *testing.T) {
	dir := t.TempDir()
	st := open(t, dir)
	defer st.Close()
	if _, err := Open(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	if _, err := Open(""); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
}

func TestConcurrentUse(t *testing.T) {
	st := open(t, t.TempDir())
	defer st.Close()
	const workers, each = 4, 10
	sy := statesync.New(statesync.Options{NodeID: "n"})
	var mu sync.Mutex // the agent's order: update, save, acknowledge
	seqs := make(chan uint64, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				seq, err := st.AppendDelta([]byte{byte(w), byte(i)})
				if err != nil {
					t.Error(err)
					return
				}
				seqs <- seq
				mu.Lock()
				sy.UpdateLocal(map[string]any{fmt.Sprint("w", w): float64(i)})
				err = st.SaveSync(sy.Export())
				mu.Unlock()
				if err != nil {
					t.Error(err)
				}
				if _, err := st.PendingDeltas(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	close(seqs)
	seen := map[uint64]bool{}
	for s := range seqs {
		if seen[s] {
			t.Fatalf("sequence %d assigned twice", s)
		}
		seen[s] = true
	}
	ds, _ := st.PendingDeltas()
	if len(seen) != workers*each || len(ds) != workers*each {
		t.Fatalf("%d sequences, %d stored deltas; want %d", len(seen), len(ds), workers*each)
	}
	snap, _, err := st.LoadSync()
	if err != nil || snap.State.Version != workers*each {
		t.Fatalf("stored version %d, %v; want %d", snap.State.Version, err, workers*each)
	}
}

func FuzzDecodeSnapshot(f *testing.F) {
	raw, err := json.Marshal(sampleSync().Export())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte(`{"state":{"version":-1}}`))
	f.Add([]byte(`{"pending":[{"version":3},{"version":2}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		snap, err := decodeSnapshot(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		_, _ = statesync.Restore(statesync.Options{}, snap) // must not panic
	})
}
