package metrics

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// FuzzUnmarshalBinary feeds arbitrary bytes to the decoder: it never
// panics, every failure wraps ErrInvalidSnapshot, and whatever it accepts
// re-encodes to the same bytes and merges without panicking.
func FuzzUnmarshalBinary(f *testing.F) {
	empty, _ := Snapshot{}.MarshalBinary()
	full, _ := fixture().Snapshot().MarshalBinary()
	a := New()
	a.Series("f", "n").Observe(MaxTrackedDuration, errors.New("x"))
	a.Series("", "").Observe(0, nil)
	edge, _ := a.Snapshot().MarshalBinary()
	for _, seed := range [][]byte{nil, empty, full, edge, full[:len(full)/2], []byte("EIMS\x01\x00\x00\x00\x00\x00")} {
		f.Add(seed)
	}
	f.Fuzz(checkDecode)
}

// FuzzDecodeBody fuzzes the structure behind the header and checksum: the
// input is framed and sealed with a valid CRC so that the fuzzer does not
// spend its time failing the checksum.
func FuzzDecodeBody(f *testing.F) {
	full, _ := fixture().Snapshot().MarshalBinary()
	f.Add(full[5 : len(full)-crcLen])
	f.Add([]byte{0})
	f.Add([]byte{1, 1, 'f', 0, 0, 0, 2, 0, 1, 3, 2, 1, 1, 'k', 1})
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDecode(t, reseal(append([]byte(snapMagic+"\x01"), body...)))
	})
}

func checkDecode(t *testing.T, data []byte) {
	{
		var s Snapshot
		if err := s.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrInvalidSnapshot) {
				t.Fatalf("error %v does not wrap ErrInvalidSnapshot", err)
			}
			return
		}
		again, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("round trip changed the encoding:\n in %x\nout %x", data, again)
		}
		agg := NewWithOptions(Options{MaxSeries: 4})
		agg.Merge(s)
		if agg.TotalInvocations(Filter{}) != s.Invocations() {
			t.Fatalf("merged %d invocations, snapshot holds %d", agg.TotalInvocations(Filter{}), s.Invocations())
		}
		agg.Quantile(Filter{}, 0.99)
		agg.Window(Filter{}, time.Minute)
	}
}
