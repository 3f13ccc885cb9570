package metrics

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSnapshotMergeRoundTrip(t *testing.T) {
	src := fixture()
	b, err := src.Snapshot().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var snap Snapshot
	if err := snap.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if snap.Len() != 4 || snap.Invocations() != 6 || snap.Errors() != 3 {
		t.Errorf("decoded snapshot: %d series, %d inv, %d errs; want 4, 6, 3", snap.Len(), snap.Invocations(), snap.Errors())
	}
	once, hub := New(), New()
	once.Merge(snap)
	hub.Merge(snap)
	hub.Merge(snap)
	for _, f := range []Filter{{}, {FunctionID: "resize"}, {NodeID: "ams"}, {FunctionID: "auth", NodeID: "ams"}} {
		if got, want := hub.TotalInvocations(f), 2*src.TotalInvocations(f); got != want {
			t.Errorf("TotalInvocations(%+v) = %d, want %d", f, got, want)
		}
		if got, want := hub.ErrorCount(f), 2*src.ErrorCount(f); got != want {
			t.Errorf("ErrorCount(%+v) = %d, want %d", f, got, want)
		}
		if got, want := hub.AvgLatency(f), src.AvgLatency(f); got != want {
			t.Errorf("AvgLatency(%+v) = %v, want %v", f, got, want)
		}
		if got, want := once.Quantile(f, 0.9), src.Quantile(f, 0.9); got != want {
			t.Errorf("Quantile(%+v, 0.9) = %v, want %v", f, got, want)
		}
		if got, want := snap.Stats(f).Invocations, src.TotalInvocations(f); got != want {
			t.Errorf("Snapshot.Stats(%+v).Invocations = %d, want %d", f, got, want)
		}
	}
	if got, want := hub.TopErrors(Filter{}, 0), src.TopErrors(Filter{}, 0); len(got) != len(want) || got[0].Count != 2*want[0].Count {
		t.Errorf("TopErrors after two merges = %v, source %v", got, want)
	}
	b2, _ := snap.MarshalBinary()
	if !bytes.Equal(b, b2) {
		t.Error("re-encoding a decoded snapshot changed its bytes")
	}
}

func TestTakeDelta(t *testing.T) {
	a := New()
	if d := a.TakeDelta(); d.Len() != 0 {
		t.Fatalf("first delta of an empty aggregator has %d series", d.Len())
	}
	a.Record(Invocation{FunctionID: "f", NodeID: "n", Duration: time.Millisecond, Success: false, Error: "x"})
	a.Record(Invocation{FunctionID: "g", NodeID: "n", Duration: time.Millisecond, Success: true})
	d1 := a.TakeDelta()
	a.Record(Invocation{FunctionID: "f", NodeID: "n", Duration: 3 * time.Millisecond, Success: false, Error: "x"})
	d2 := a.TakeDelta()
	d3 := a.TakeDelta()
	tests := []struct {
		name           string
		d              Snapshot
		series         int
		inv, errs      int64
		sum            time.Duration
		wantFirstKinds []kindCount
	}{
		{"first", d1, 2, 2, 1, 2 * time.Millisecond, []kindCount{{"x", 1}}},
		{"second: only f changed", d2, 1, 1, 1, 3 * time.Millisecond, []kindCount{{"x", 1}}},
		{"idle", d3, 0, 0, 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.d.Stats(Filter{})
			if tt.d.Len() != tt.series || st.Invocations != tt.inv || st.Errors != tt.errs || st.Sum != tt.sum {
				t.Errorf("delta: %d series, %d inv, %d errs, sum %v; want %d, %d, %d, %v",
					tt.d.Len(), st.Invocations, st.Errors, st.Sum, tt.series, tt.inv, tt.errs, tt.sum)
			}
			if tt.series > 0 && !reflect.DeepEqual(tt.d.series[0].kinds, tt.wantFirstKinds) {
				t.Errorf("kinds = %v, want %v", tt.d.series[0].kinds, tt.wantFirstKinds)
			}
		})
	}
}

// TestTakeDeltaExactUnderLoad ships deltas while writers record; the hub
// that merges every delta ends up with exactly what the agent recorded.
func TestTakeDeltaExactUnderLoad(t *testing.T) {
	agent, hub := New(), New()
	var done atomic.Bool
	var shipped sync.WaitGroup
	shipped.Go(func() {
		for !done.Load() {
			b, _ := agent.TakeDelta().MarshalBinary()
			var d Snapshot
			if err := d.UnmarshalBinary(b); err != nil {
				t.Error(err)
				return
			}
			hub.Merge(d)
		}
	})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			s := agent.Series("f", fmt.Sprint("n", w%2))
			for i := range 5000 {
				var err error
				if i%10 == 0 {
					err = fmt.Errorf("kind%d", i%3)
				}
				s.Observe(time.Duration(i)*time.Microsecond, err)
			}
		})
	}
	wg.Wait()
	done.Store(true)
	shipped.Wait()
	hub.Merge(agent.TakeDelta())

	want, got := agent.Snapshot(), hub.Snapshot()
	if !reflect.DeepEqual(want, got) {
		t.Errorf("hub after merging all deltas differs from the agent:\nagent %v inv %v errs\nhub   %v inv %v errs",
			want.Invocations(), want.Errors(), got.Invocations(), got.Errors())
	}
	if got.Invocations() != 20000 || got.Errors() != 2000 {
		t.Errorf("hub has %d inv, %d errs; want 20000, 2000", got.Invocations(), got.Errors())
	}
}

func TestMergeRespectsMaxSeries(t *testing.T) {
	src := fixture()
	hub := NewWithOptions(Options{MaxSeries: 1})
	hub.Merge(src.Snapshot())
	if got := hub.TotalInvocations(Filter{}); got != 6 {
		t.Errorf("TotalInvocations = %d, want 6", got)
	}
	if got := hub.Summary(); got.Series != 1 || got.OverflowInvocations != 4 {
		t.Errorf("Summary = %+v, want 1 series and 4 overflow", got)
	}
}

func TestUnmarshalRejects(t *testing.T) {
	good, _ := fixture().Snapshot().MarshalBinary()
	flip := bytes.Clone(good)
	flip[len(flip)/2] ^= 0xff
	badVersion := bytes.Clone(good)
	badVersion[4] = 9
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"magic", append([]byte("XXXX"), good[4:]...), "bad magic"},
		{"version", badVersion, "unsupported version 9"},
		{"flipped byte", flip, "checksum mismatch"},
		{"truncated", good[:len(good)-3], "checksum mismatch"},
		{"trailing", reseal(append(unseal(good), 0)), "trailing bytes"},
		{"bucket index out of range", reseal(encodeRaw(1, "f", "n", 0, 0, 1, uint64(numBins), 1, 0)), "out of range"},
		{"empty bucket", reseal(encodeRaw(1, "f", "n", 0, 0, 1, 5, 0, 0)), "empty bucket"},
		{"too many series", reseal(encodeRaw(1 << 40)), "exceeds the data"},
		{"kind without count", reseal(append(encodeRaw(1, "f", "n", 0, 0, 0, 1), append([]byte{1, 'k'}, 0)...)), "no count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Snapshot
			err := s.UnmarshalBinary(tt.data)
			if !errors.Is(err, ErrInvalidSnapshot) || !bytes.Contains([]byte(err.Error()), []byte(tt.want)) {
				t.Errorf("UnmarshalBinary = %v, want ErrInvalidSnapshot with %q", err, tt.want)
			}
		})
	}
}

// encodeRaw writes the header and then each argument: strings with their
// length, integers as uvarints; the caller reseals it.
func encodeRaw(vals ...any) []byte {
	b := append([]byte(snapMagic), SnapshotVersion)
	for _, v := range vals {
		switch v := v.(type) {
		case string:
			b = appendString(b, v)
		case int:
			b = binary.AppendUvarint(b, uint64(v))
		case uint64:
			b = binary.AppendUvarint(b, v)
		}
	}
	return b
}

func unseal(b []byte) []byte { return bytes.Clone(b[:len(b)-crcLen]) }

func reseal(body []byte) []byte {
	return binary.LittleEndian.AppendUint32(body, crc32.Checksum(body, castagnoli))
}
