package health

import "time"

// TrackerOptions configures a [Tracker]. The zero value is valid.
type TrackerOptions struct {
	// SuspectAfter is how long a node may be silent before it is suspect.
	// Zero means 30s.
	SuspectAfter time.Duration
	// DeadAfter is how long a node may be silent before it is dead; it is
	// at least SuspectAfter. Zero means twice SuspectAfter.
	DeadAfter time.Duration
	// PhiThreshold, when positive, replaces SuspectAfter by a phi-accrual
	// detector: a node is suspect once phi, the suspicion computed from the
	// node's own heartbeat intervals, reaches this value (8 is Cassandra's
	// default, meaning a wrong suspicion about once in 10^8 tries if the
	// intervals are normal). DeadAfter still applies.
	PhiThreshold float64
	// PhiWindow is how many heartbeat intervals phi-accrual remembers per
	// node. Zero means 100.
	PhiWindow int
	// MinPhiStdDev is the smallest standard deviation phi-accrual assumes,
	// so very regular heartbeats do not make it hair-trigger. Zero means
	// SuspectAfter/10.
	MinPhiStdDev time.Duration
	// SweepInterval is how often Run sweeps, and what Sweep expects between
	// two calls. Zero means SuspectAfter/10 (at least 10ms).
	SweepInterval time.Duration
	// StallThreshold is how much later than expected a sweep may come
	// before the tracker assumes it was stalled (GC pause, CPU starvation,
	// a suspended VM) and credits the stall to every node instead of
	// convicting nodes for time it was not looking. Zero means
	// SuspectAfter/2; negative turns stall protection off.
	StallThreshold time.Duration
	// WeightedFlapping selects Nagios-style flap detection over the last 21
	// results, with transitions weighted from 0.75 (oldest) to 1.25
	// (newest), starting at FlapStart and stopping below FlapStop. False
	// uses the Monitor's rule: 3 or more transitions among the last 10
	// results.
	WeightedFlapping bool
	// FlapStart and FlapStop are the weighted state-change percentages
	// (0..100) that start and stop flapping. Zero means 50 and 25.
	FlapStart, FlapStop float64
	// RegionShare and RegionMinNodes decide when a region is reported
	// unhealthy: at least RegionMinNodes nodes and at least RegionShare
	// (0..1) of the region became suspect or dead within RegionWindow,
	// which looks like a partition rather than independent failures. Zeros
	// mean 0.5, 3 and twice DeadAfter.
	RegionShare    float64
	RegionMinNodes int
	RegionWindow   time.Duration
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

// trackerConfig is TrackerOptions with every default applied.
type trackerConfig struct {
	suspect, dead, sweep, stall, minStd, regionWindow time.Duration
	phi, flapStart, flapStop, regionShare             float64
	phiWindow, regionMin                              int
	weighted                                          bool
	now                                               func() time.Time
}

func (o TrackerOptions) config() trackerConfig {
	c := trackerConfig{
		suspect: o.SuspectAfter, dead: o.DeadAfter, sweep: o.SweepInterval, stall: o.StallThreshold,
		minStd: o.MinPhiStdDev, phi: o.PhiThreshold, phiWindow: o.PhiWindow, weighted: o.WeightedFlapping,
		flapStart: o.FlapStart, flapStop: o.FlapStop, regionShare: o.RegionShare, regionMin: o.RegionMinNodes,
		regionWindow: o.RegionWindow, now: o.Now,
	}
	if c.suspect <= 0 {
		c.suspect = 30 * time.Second
	}
	if c.dead <= 0 {
		c.dead = 2 * c.suspect
	}
	c.dead = max(c.dead, c.suspect)
	if c.sweep <= 0 {
		c.sweep = max(c.suspect/10, 10*time.Millisecond)
	}
	if c.stall == 0 {
		c.stall = c.suspect / 2
	}
	if c.minStd <= 0 {
		c.minStd = c.suspect / 10
	}
	if c.phiWindow <= 0 {
		c.phiWindow = 100
	}
	if c.flapStart <= 0 {
		c.flapStart = 50
	}
	if c.flapStop <= 0 {
		c.flapStop = 25
	}
	if c.regionShare <= 0 {
		c.regionShare = 0.5
	}
	if c.regionMin <= 0 {
		c.regionMin = 3
	}
	if c.regionWindow <= 0 {
		c.regionWindow = 2 * c.dead
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}
