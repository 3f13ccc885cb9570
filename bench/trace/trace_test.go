package trace

import (
	"slices"
	"testing"
)

func TestMixIsInjective(t *testing.T) {
	seen := make(map[uint64]uint64, 1<<16)
	for _, base := range []uint64{0, saltZipf, saltLoop, 1 << 63} {
		for i := range uint64(1 << 14) {
			k := Mix(base + i)
			if prev, dup := seen[k]; dup {
				t.Fatalf("Mix(%d) == Mix(%d) == %d", base+i, prev, k)
			}
			seen[k] = base + i
		}
	}
}

func TestTraceShapes(t *testing.T) {
	tests := []struct {
		name         string
		trace        Trace
		wantLen      int
		wantDistinct int // 0: not checked exactly
		minDistinct  int
		maxDistinct  int
	}{
		{"loop", LoopTrace(100, 1000), 1000, 100, 0, 0},
		{"zipf", ZipfTrace(1, 1000, 0.9, 20_000), 20_000, 0, 500, 1000},
		// 4 bursts of 50 one-time keys plus at most 1000 hot keys.
		{"scan", ScanTrace(1, 1000, 0.9, 50, 200, 1000), 1000, 0, 200 + 1, 200 + 800},
		// 4 phases over 500 keys moved by 250 each: at most 500+3*250 keys.
		{"shift", ShiftTrace(1, 500, 0.9, 4, 40_000), 40_000, 0, 1000, 1250},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := len(tt.trace.Keys); got != tt.wantLen {
				t.Errorf("len = %d, want %d", got, tt.wantLen)
			}
			d := tt.trace.Distinct()
			if tt.wantDistinct != 0 && d != tt.wantDistinct {
				t.Errorf("Distinct() = %d, want %d", d, tt.wantDistinct)
			}
			if tt.wantDistinct == 0 && (d < tt.minDistinct || d > tt.maxDistinct) {
				t.Errorf("Distinct() = %d, want in [%d, %d]", d, tt.minDistinct, tt.maxDistinct)
			}
		})
	}
}

func TestLoopCycles(t *testing.T) {
	tr := LoopTrace(7, 70)
	for i := 7; i < len(tr.Keys); i++ {
		if tr.Keys[i] != tr.Keys[i-7] {
			t.Fatalf("Keys[%d] != Keys[%d]: the loop does not repeat with period 7", i, i-7)
		}
	}
}

func TestScanKeysAreOneTime(t *testing.T) {
	tr := ScanTrace(3, 100, 0.9, 30, 100, 1300) // 10 rounds of 100 hot + 30 scan
	count := map[uint64]int{}
	for _, k := range tr.Keys {
		count[k]++
	}
	for round := range 10 {
		for i := range 30 {
			k := tr.Keys[round*130+100+i]
			if count[k] != 1 {
				t.Fatalf("scan key at round %d, position %d seen %d times, want 1", round, i, count[k])
			}
		}
	}
}

func TestShiftRetiresOldKeys(t *testing.T) {
	tr := ShiftTrace(9, 1000, 0.9, 4, 40_000)
	phase := func(p int) []uint64 { return tr.Keys[p*10_000 : (p+1)*10_000] }
	hot0 := topKey(phase(0))
	for p := 2; p < 4; p++ {
		if slices.Contains(phase(p), hot0) {
			t.Errorf("phase %d still requests phase 0's most popular key", p)
		}
	}
	if hot1 := topKey(phase(1)); hot1 == hot0 {
		t.Error("phases 0 and 1 have the same most popular key")
	}
}

func topKey(keys []uint64) uint64 {
	count := map[uint64]int{}
	var best uint64
	for _, k := range keys {
		count[k]++
		if count[k] > count[best] {
			best = k
		}
	}
	return best
}

func TestSuite(t *testing.T) {
	suite := Suite(Small)
	names := make([]string, len(suite))
	for i, tr := range suite {
		names[i] = tr.Name
		if len(tr.Keys) != 200_000 {
			t.Errorf("%s: %d keys, want 200000", tr.Name, len(tr.Keys))
		}
	}
	want := []string{"zipf-0.7", "zipf-0.9", "zipf-1.1", "scan", "shift", "loop"}
	if !slices.Equal(names, want) {
		t.Errorf("Suite(Small) names = %v, want %v", names, want)
	}
	if got, want := Capacities(Small), []int{100, 500, 1000, 2500}; !slices.Equal(got, want) {
		t.Errorf("Capacities(Small) = %v, want %v", got, want)
	}
	if got := Capacities(Long); got[len(got)-1] != 25_000 {
		t.Errorf("Capacities(Long) = %v, want the largest to be 25000", got)
	}
}
