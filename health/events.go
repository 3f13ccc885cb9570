package health

import "time"

// EventKind names a node's transition.
type EventKind string

// The events a Tracker emits.
const (
	EventJoin      EventKind = "join"       // a node was seen for the first time
	EventSuspect   EventKind = "suspect"    // alive → suspect
	EventDead      EventKind = "dead"       // alive or suspect → dead
	EventRecovered EventKind = "recovered"  // suspect or dead → alive
	EventFlapStart EventKind = "flap-start" // the node started flapping
	EventFlapStop  EventKind = "flap-stop"  // the node stopped flapping
)

// Event is one transition of one node.
type Event struct {
	Kind     EventKind `json:"kind"`
	NodeID   string    `json:"node_id"`
	Region   string    `json:"region,omitempty"`
	State    State     `json:"state"`
	Previous State     `json:"previous"`
	At       time.Time `json:"at"`
}

type subscriber struct {
	ch      chan Event
	dropped uint64
}

// Subscribe returns a channel of events with room for buffer of them
// (at least 1) and a function that ends the subscription and closes the
// channel. The tracker never waits for a subscriber: when the channel is
// full, the event is dropped for that subscriber and counted in
// [Tracker.Dropped]. A consumer that must see every event keeps up, or
// reconciles from [Tracker.Nodes] after a drop.
func (t *Tracker) Subscribe(buffer int) (<-chan Event, func()) {
	s := &subscriber{ch: make(chan Event, max(buffer, 1))}
	t.mu.Lock()
	t.subs[s] = struct{}{}
	t.mu.Unlock()
	cancel := func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if _, ok := t.subs[s]; ok {
			delete(t.subs, s)
			close(s.ch)
		}
	}
	return s.ch, cancel
}

// Dropped returns how many events were dropped because a subscriber's
// channel was full.
func (t *Tracker) Dropped() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dropped
}

// emit delivers e to every subscriber without blocking; t.mu is held.
func (t *Tracker) emit(e Event) {
	for s := range t.subs {
		select {
		case s.ch <- e:
		default:
			s.dropped++
			t.dropped++
		}
	}
}
