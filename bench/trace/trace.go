package trace

import (
	"fmt"
	"math/rand/v2"
)

// Trace is a named sequence of key accesses.
type Trace struct {
	// Name identifies the trace in benchmark names and tables, for example
	// "zipf-0.9". It contains no spaces or slashes.
	Name string
	// Keys are the accessed keys, in order.
	Keys []uint64
}

// Distinct returns the number of distinct keys in t. It builds a set, so it
// costs O(len(t.Keys)) time and memory.
func (t Trace) Distinct() int {
	seen := make(map[uint64]struct{}, len(t.Keys)/4)
	for _, k := range t.Keys {
		seen[k] = struct{}{}
	}
	return len(seen)
}

// Mix maps x to a well-spread 64-bit key. It is a bijection (the
// splitmix64 finalizer), so distinct inputs never collide.
func Mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Salts keep the key spaces of different traces apart, so a trace's keys
// never coincide with another's by accident.
const (
	saltZipf  = 1 << 40
	saltScan  = 2 << 40
	saltOnce  = 3 << 40
	saltShift = 4 << 40
	saltLoop  = 5 << 40
)

func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
}

// ZipfTrace returns length accesses to items distinct keys whose
// popularity follows a Zipf distribution with exponent s.
func ZipfTrace(seed uint64, items int, s float64, length int) Trace {
	z := NewZipf(newRand(seed), uint64(items), s)
	keys := make([]uint64, length)
	for i := range keys {
		keys[i] = Mix(saltZipf + z.Next())
	}
	return Trace{Name: fmt.Sprintf("zipf-%.1f", s), Keys: keys}
}

// ScanTrace returns length accesses to a Zipf(s) hot set of items keys,
// interrupted after every `every` hot accesses by a burst of `burst`
// sequential keys that are never requested again (a scan).
func ScanTrace(seed uint64, items int, s float64, burst, every, length int) Trace {
	z := NewZipf(newRand(seed), uint64(items), s)
	keys := make([]uint64, 0, length)
	var once uint64 // next never-seen scan key
	for len(keys) < length {
		for i := 0; i < every && len(keys) < length; i++ {
			keys = append(keys, Mix(saltScan+z.Next()))
		}
		for i := 0; i < burst && len(keys) < length; i++ {
			keys = append(keys, Mix(saltOnce+once))
			once++
		}
	}
	return Trace{Name: "scan", Keys: keys}
}

// ShiftTrace returns length accesses drawn from a Zipf(s) distribution
// over items keys, in `phases` equal phases. Each phase moves the key
// space by items/2, so the most popular keys of one phase are the least
// popular half of the next, and the keys of phase p-2 are never requested
// again.
func ShiftTrace(seed uint64, items int, s float64, phases, length int) Trace {
	if phases < 1 {
		phases = 1
	}
	z := NewZipf(newRand(seed), uint64(items), s)
	keys := make([]uint64, length)
	per := (length + phases - 1) / phases
	for i := range keys {
		offset := uint64(i/per) * uint64(items/2)
		keys[i] = Mix(saltShift + offset + z.Next())
	}
	return Trace{Name: "shift", Keys: keys}
}

// LoopTrace returns length accesses that cycle through items keys in the
// same order: 0, 1, …, items-1, 0, 1, …
func LoopTrace(items, length int) Trace {
	keys := make([]uint64, length)
	for i := range keys {
		keys[i] = Mix(saltLoop + uint64(i%items))
	}
	return Trace{Name: "loop", Keys: keys}
}
