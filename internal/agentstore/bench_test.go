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
