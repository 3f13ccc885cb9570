package health

import (
	"slices"
	"time"
)

// FleetReport is a Tracker's zone-aware view of the fleet.
type FleetReport struct {
	Total     int                      `json:"total"`
	Alive     int                      `json:"alive"`
	Suspect   int                      `json:"suspect"`
	Dead      int                      `json:"dead"`
	Flapping  []string                 `json:"flapping"` // node IDs, sorted
	Regions   map[string]*RegionReport `json:"regions"`
	Unhealthy []string                 `json:"unhealthy_regions"` // regions reported Unhealthy, sorted
	At        time.Time                `json:"at"`
}

// RegionReport counts one region's nodes by state.
type RegionReport struct {
	Total   int `json:"total"`
	Alive   int `json:"alive"`
	Suspect int `json:"suspect"`
	Dead    int `json:"dead"`
	// RecentlyLost counts nodes that left Alive within RegionWindow and are
	// still down.
	RecentlyLost int `json:"recently_lost"`
	// Unhealthy is set when at least RegionMinNodes nodes and RegionShare
	// of the region were lost within RegionWindow: many nodes of one region
	// going at once points to the region (a partition, a power cut), not
	// to each node.
	Unhealthy bool `json:"unhealthy"`
}

// Report counts the fleet by state and region, in O(n): one pass over the
// nodes' dense records, which loads a node's other data only when it is
// down or flapping. It takes one shard at a time (see [Tracker]).
func (t *Tracker) Report() FleetReport {
	now := t.cfg.now()
	rep := FleetReport{Regions: map[string]*RegionReport{}, Flapping: []string{}, Unhealthy: []string{}, At: now}
	for i := range t.shards {
		t.shards[i].report(now, &rep)
	}
	for name, r := range rep.Regions {
		rep.Total += r.Total
		rep.Alive += r.Alive
		rep.Suspect += r.Suspect
		rep.Dead += r.Dead
		if r.RecentlyLost >= t.cfg.regionMin && float64(r.RecentlyLost) >= t.cfg.regionShare*float64(r.Total) {
			r.Unhealthy = true
			rep.Unhealthy = append(rep.Unhealthy, name)
		}
	}
	slices.Sort(rep.Flapping)
	slices.Sort(rep.Unhealthy)
	return rep
}

// report adds s's nodes to rep's regions and flapping list.
func (s *shard) report(now time.Time, rep *FleetReport) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = slices.Grow(s.counts[:0], len(s.regions))[:len(s.regions)]
	clear(s.counts)
	for k := range s.hot {
		h := &s.hot[k]
		r := &s.counts[h.region]
		r.Total++
		switch h.state {
		case Alive:
			r.Alive++
		case Suspect:
			r.Suspect++
		case Dead:
			r.Dead++
		}
		if h.state != Alive && now.Sub(s.cold[k].lostAt) <= s.t.cfg.regionWindow {
			r.RecentlyLost++
		}
		if h.flapping {
			rep.Flapping = append(rep.Flapping, s.cold[k].id)
		}
	}
	for i := range s.counts {
		c := &s.counts[i]
		if c.Total == 0 {
			continue // a free slot
		}
		r := rep.Regions[s.regions[i]]
		if r == nil {
			r = &RegionReport{}
			rep.Regions[s.regions[i]] = r
		}
		r.Total += c.Total
		r.Alive += c.Alive
		r.Suspect += c.Suspect
		r.Dead += c.Dead
		r.RecentlyLost += c.RecentlyLost
	}
}
