package cache

import _ "unsafe" // go:linkname

// procID returns the id of the P (the scheduler's processor) the calling
// goroutine runs on, as sync.Pool finds its per-P pool. Goroutines that
// run at the same time run on different Ps, so a reader lock striped by P
// is never shared by two running readers; one striped by a hash of the
// goroutine's stack (as otter stripes its read buffers) was shared by two
// long-lived readers in a quarter of the runs with four stripes, and made
// those runs' reads twice as slow. A goroutine moved to another P between
// this call and its use of the stripe only shares it for that use.
func procID() uint64 {
	p := runtime_procPin()
	runtime_procUnpin()
	return uint64(p)
}

// The Go team keeps these two linkable for the packages that use them
// (go.dev/issue/67401); the runtime has no exported way to read the P.

//go:linkname runtime_procPin runtime.procPin
func runtime_procPin() int

//go:linkname runtime_procUnpin runtime.procUnpin
func runtime_procUnpin()
