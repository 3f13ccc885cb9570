package health

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

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
	dropped atomic.Uint64
}

// Subscribe returns a channel of events with room for buffer of them
// (at least 1) and a function that ends the subscription and closes the
// channel. The tracker never waits for a subscriber: when the channel is
// full, the event is dropped for that subscriber and counted in
// [Tracker.Dropped]. A consumer that must see every event keeps up, or
// reconciles from [Tracker.Nodes] after a drop. The events of one node
// arrive in order; those of nodes in different shards may interleave
// differently from the order of the calls that caused them.
func (t *Tracker) Subscribe(buffer int) (<-chan Event, func()) {
	s := &subscriber{ch: make(chan Event, max(buffer, 1))}
	t.subsMu.Lock()
	subs := append(t.subscribers(), s) // subscribers returns a copy
	t.subs.Store(&subs)
	t.subsMu.Unlock()
	var once sync.Once
	cancel := func() {
		once.Do(func() {
			t.subsMu.Lock()
			defer t.subsMu.Unlock()
			subs := slices.DeleteFunc(t.subscribers(), func(x *subscriber) bool { return x == s })
			t.subs.Store(&subs)
			// Events are sent under a shard lock: once every shard's lock
			// has been taken after the store, nobody is sending to s, and
			// nobody will.
			for i := range t.shards {
				t.shards[i].mu.Lock()
				//lint:ignore SA2001 an empty critical section is the point: a barrier
				t.shards[i].mu.Unlock()
			}
			close(s.ch)
		})
	}
	return s.ch, cancel
}

// subscribers returns a copy of the subscriber list.
func (t *Tracker) subscribers() []*subscriber {
	if p := t.subs.Load(); p != nil {
		return slices.Clone(*p)
	}
	return nil
}

// Dropped returns how many events were dropped because a subscriber's
// channel was full.
func (t *Tracker) Dropped() uint64 { return t.dropped.Load() }

// emit delivers e to every subscriber without blocking; a shard lock is
// held.
func (t *Tracker) emit(e Event) {
	p := t.subs.Load()
	if p == nil {
		return
	}
	for _, s := range *p {
		select {
		case s.ch <- e:
		default:
			s.dropped.Add(1)
			t.dropped.Add(1)
		}
	}
}
