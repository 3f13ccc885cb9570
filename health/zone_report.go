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

// Report counts the fleet by state and region, in O(n).
func (t *Tracker) Report() FleetReport {
	now := t.cfg.now()
	rep := FleetReport{Regions: map[string]*RegionReport{}, Flapping: []string{}, Unhealthy: []string{}, At: now}
	t.mu.Lock()
	for _, nd := range t.nodes {
		r := rep.Regions[nd.region]
		if r == nil {
			r = &RegionReport{}
			rep.Regions[nd.region] = r
		}
		rep.Total++
		r.Total++
		switch nd.state {
		case Alive:
			rep.Alive++
			r.Alive++
		case Suspect:
			rep.Suspect++
			r.Suspect++
		case Dead:
			rep.Dead++
			r.Dead++
		}
		if nd.state != Alive && now.Sub(nd.lostAt) <= t.cfg.regionWindow {
			r.RecentlyLost++
		}
		if nd.flap.flapping {
			rep.Flapping = append(rep.Flapping, nd.id)
		}
	}
	t.mu.Unlock()
	for name, r := range rep.Regions {
		if r.RecentlyLost >= t.cfg.regionMin && float64(r.RecentlyLost) >= t.cfg.regionShare*float64(r.Total) {
			r.Unhealthy = true
			rep.Unhealthy = append(rep.Unhealthy, name)
		}
	}
	slices.Sort(rep.Flapping)
	slices.Sort(rep.Unhealthy)
	return rep
}
