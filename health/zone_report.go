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
// down or flapping.
func (t *Tracker) Report() FleetReport {
	now := t.cfg.now()
	rep := FleetReport{Regions: map[string]*RegionReport{}, Flapping: []string{}, Unhealthy: []string{}, At: now}
	t.mu.Lock()
	counts := make([]RegionReport, len(t.regions))
	for k := range t.hot {
		h := &t.hot[k]
		r := &counts[h.region]
		r.Total++
		switch h.state {
		case Alive:
			r.Alive++
		case Suspect:
			r.Suspect++
		case Dead:
			r.Dead++
		}
		if h.state != Alive && now.Sub(t.cold[k].lostAt) <= t.cfg.regionWindow {
			r.RecentlyLost++
		}
		if h.flapping {
			rep.Flapping = append(rep.Flapping, t.cold[k].id)
		}
	}
	for s := range counts {
		r := &counts[s]
		if r.Total == 0 {
			continue // a free slot
		}
		name := t.regions[s]
		rep.Regions[name] = r
		rep.Total += r.Total
		rep.Alive += r.Alive
		rep.Suspect += r.Suspect
		rep.Dead += r.Dead
		if r.RecentlyLost >= t.cfg.regionMin && float64(r.RecentlyLost) >= t.cfg.regionShare*float64(r.Total) {
			r.Unhealthy = true
			rep.Unhealthy = append(rep.Unhealthy, name)
		}
	}
	t.mu.Unlock()
	slices.Sort(rep.Flapping)
	slices.Sort(rep.Unhealthy)
	return rep
}
