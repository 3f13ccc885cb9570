package cache

import "unsafe"

// stackHash returns a hash of the calling goroutine's stack address, to
// spread goroutines over stripes: it stays the same while a goroutine runs
// (a stack that grows moves, which only moves its goroutine to another
// stripe) and differs between goroutines that run at the same time. The
// low 11 bits depend on the call depth, not on the goroutine (stacks are
// at least 2 KiB); a Fibonacci hash spreads the rest into the high bits,
// which callers use. Converting the address to an integer keeps x on the
// stack.
func stackHash() uint32 {
	var x byte
	return uint32((uint64(uintptr(unsafe.Pointer(&x))>>11) * 0x9e3779b97f4a7c15) >> 32)
}
