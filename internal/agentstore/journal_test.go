package agentstore

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

func journalSeqs(t *testing.T, st *Store) []uint64 {
	t.Helper()
	recs, err := st.Journal()
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, r := range recs {
		if string(r.Data) != fmt.Sprint("r", r.Seq) {
			t.Fatalf("journal record %d holds %q", r.Seq, r.Data)
		}
		seqs = append(seqs, r.Seq)
	}
	return seqs
}

func deltaData(t *testing.T, st *Store) []string {
	t.Helper()
	ds, err := st.PendingDeltas()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%d=%s", d.Seq, d.Data))
	}
	return out
}

func TestJournalFoldsIntoDeltas(t *testing.T) {
	dir := t.TempDir()
	st := open(t, dir)
	for i := 1; i <= 6; i++ {
		if seq, err := st.AppendJournal(fmt.Append(nil, "r", i)); err != nil || seq != uint64(i) {
			t.Fatalf("AppendJournal #%d = %d, %v", i, seq, err)
		}
	}
	steps := []struct {
		name          string
		seq, upTo     uint64
		data          string
		wantErr       bool
		wantJournal   []uint64
		wantDeltas    []string
		wantCommitted uint64
	}{
		{name: "append a delta for records 1-2", upTo: 2, data: "a", wantJournal: []uint64{3, 4, 5, 6}, wantDeltas: []string{"1=a"}, wantCommitted: 1},
		{name: "append another for 3-4", upTo: 4, data: "b", wantJournal: []uint64{5, 6}, wantDeltas: []string{"1=a", "2=b"}, wantCommitted: 2},
		{name: "replace the unsent one with 3-5", seq: 2, upTo: 5, data: "b+", wantJournal: []uint64{6}, wantDeltas: []string{"1=a", "2=b+"}, wantCommitted: 2},
		{name: "replacing a missing delta changes nothing", seq: 9, upTo: 6, data: "x", wantErr: true, wantJournal: []uint64{6}, wantDeltas: []string{"1=a", "2=b+"}},
	}
	for _, s := range steps {
		got, err := st.CommitDelta(s.seq, []byte(s.data), s.upTo)
		if (err != nil) != s.wantErr || got != s.wantCommitted {
			t.Fatalf("%s: CommitDelta(%d, %q, %d) = %d, %v", s.name, s.seq, s.data, s.upTo, got, err)
		}
		if j := journalSeqs(t, st); !slices.Equal(j, s.wantJournal) {
			t.Fatalf("%s: journal = %v, want %v", s.name, j, s.wantJournal)
		}
		if d := deltaData(t, st); !slices.Equal(d, s.wantDeltas) {
			t.Fatalf("%s: deltas = %v, want %v", s.name, d, s.wantDeltas)
		}
	}
	st.Close()
	st = open(t, dir) // all of it is on disk, and sequences are never reused
	defer st.Close()
	if j := journalSeqs(t, st); !slices.Equal(j, []uint64{6}) {
		t.Fatalf("journal after reopen = %v", j)
	}
	if last, err := st.LastJournalSeq(); err != nil || last != 6 {
		t.Fatalf("LastJournalSeq = %d, %v; want 6", last, err)
	}
	if seq, err := st.AppendJournal([]byte("r7")); err != nil || seq != 7 {
		t.Fatalf("AppendJournal after reopen = %d, %v; want 7", seq, err)
	}
}

func TestJournalConcurrentAppends(t *testing.T) {
	st := open(t, t.TempDir())
	defer st.Close()
	const callers, each = 16, 20
	var wg sync.WaitGroup
	seqs := make(chan uint64, callers*each)
	for range callers {
		wg.Go(func() {
			for range each {
				seq, err := st.AppendJournal(nil)
				if err != nil {
					t.Error(err)
					return
				}
				seqs <- seq
			}
		})
	}
	wg.Wait()
	close(seqs)
	seen := map[uint64]bool{}
	for s := range seqs {
		if seen[s] {
			t.Fatalf("sequence %d given twice", s)
		}
		seen[s] = true
	}
	recs, err := st.Journal()
	if err != nil || len(recs) != callers*each || len(seen) != callers*each {
		t.Fatalf("journal holds %d records (%v), %d sequences returned; want %d", len(recs), err, len(seen), callers*each)
	}
}
