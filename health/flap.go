package health

// flapWindow is how many results flap detection keeps: 21 as in Nagios
// (20 possible transitions); the unweighted rule uses the newest 10.
const flapWindow = 21

// flapHistory is a ring of a node's newest health results.
type flapHistory struct {
	ok       [flapWindow]bool
	n, next  int
	flapping bool
}

// record adds a result and returns whether the node was flapping before
// and is now.
func (f *flapHistory) record(ok bool, cfg trackerConfig) (was, now bool) {
	f.ok[f.next] = ok
	f.next = (f.next + 1) % flapWindow
	f.n = min(f.n+1, flapWindow)
	was = f.flapping
	if cfg.weighted {
		pct := f.weightedChange()
		switch {
		case !f.flapping && pct >= cfg.flapStart:
			f.flapping = true
		case f.flapping && pct < cfg.flapStop:
			f.flapping = false
		}
	} else {
		f.flapping = f.transitions(clusterFlapWindow) >= flapTransitions
	}
	return was, f.flapping
}

// at returns the i-th newest result (0 is the newest).
func (f *flapHistory) at(i int) bool {
	return f.ok[(f.next-1-i+2*flapWindow)%flapWindow]
}

// transitions counts changes between consecutive results among the newest
// window.
func (f *flapHistory) transitions(window int) int {
	window = min(window, f.n)
	c := 0
	for i := 1; i < window; i++ {
		if f.at(i) != f.at(i-1) {
			c++
		}
	}
	return c
}

// weightedChange is Nagios' percent state change: each of the 20 possible
// transitions among 21 results weighs from 0.75 (oldest) to 1.25 (newest),
// and the result is their weighted share, 0..100.
func (f *flapHistory) weightedChange() float64 {
	if f.n < 2 {
		return 0
	}
	// The weights of the 20 pairs average 1, so their sum is 20: dividing
	// by it (not by the pairs seen so far) keeps few results from reaching
	// a high percentage, as in Nagios.
	var changed float64
	for i := 0; i < f.n-1; i++ { // i = 0 is the newest pair
		if f.at(i) != f.at(i+1) {
			changed += 1.25 - 0.5*float64(i)/float64(flapWindow-2)
		}
	}
	return 100 * changed / float64(flapWindow-1)
}
