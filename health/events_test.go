package health

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestTrackerCancelWhileEmitting ends subscriptions while two goroutines
// keep causing events (joins, suspicions, recoveries) in every shard: no
// event may be sent on a closed channel (that would panic), and each
// cancelled channel is closed.
func TestTrackerCancelWhileEmitting(t *testing.T) {
	tr := NewTracker(TrackerOptions{SuspectAfter: time.Millisecond, DeadAfter: 2 * time.Millisecond, StallThreshold: -1})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			at := t0
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				at = at.Add(time.Millisecond)
				tr.Heartbeat(fmt.Sprint(w, "-", i%300), at)
				if i%50 == 0 {
					tr.Sweep(at)
				}
			}
		})
	}
	for range 300 {
		ch, cancel := tr.Subscribe(4)
		cancel()
		for range ch { // ends once the channel is closed
		}
	}
	close(stop)
	wg.Wait()
}
