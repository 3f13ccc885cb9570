package agentstore

import (
	"testing"

	"github.com/edgeinfra/edgeinfra/statesync"
)

// Each write is one bbolt commit with an fsync, so these measure the disk.
func BenchmarkSaveSync(b *testing.B) {
	st, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	sy := statesync.New(statesync.Options{NodeID: "bench"})
	for i := range 100 {
		sy.UpdateLocal(map[string]any{"key" + string(rune('a'+i%26)): float64(i)})
	}
	snap := sy.Export()
	b.ReportAllocs()
	for b.Loop() {
		if err := st.SaveSync(snap); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendAckDelta(b *testing.B) {
	st, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	delta := make([]byte, 256)
	b.ReportAllocs()
	for b.Loop() {
		seq, err := st.AppendDelta(delta)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.AckDeltas(seq); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendJournal measures acknowledged journal appends, one caller
// at a time and from many concurrent callers sharing commits.
func BenchmarkAppendJournal(b *testing.B) {
	rec := make([]byte, 64)
	b.Run("callers=1", func(b *testing.B) {
		st, err := Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		for b.Loop() {
			if _, err := st.AppendJournal(rec); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	})
	b.Run("callers=64", func(b *testing.B) {
		st, err := Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		b.SetParallelism(32) // × GOMAXPROCS goroutines
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := st.AppendJournal(rec); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	})
}
