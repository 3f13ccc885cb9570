package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/edgeinfra/edgeinfra/internal/wire"
)

// pushWindow is how many state changes may await the stream's
// acknowledgement at once. One at a time, a round trip per change made an
// agent back from a long partition take minutes to catch up; a window
// makes it a matter of bandwidth. It stays well below what one NATS
// connection buffers.
const pushWindow = 512

// confirmBatch is how many acknowledged changes are confirmed together
// while a push is under way.
const confirmBatch = 256

// errAckTimeout reports a change the stream did not acknowledge in time.
var errAckTimeout = errors.New("no acknowledgement from the stream in time; it is sent again at the next push")

// pushState publishes the pending changes, oldest first, keeping up to
// pushWindow of them in flight, and confirms them as the stream
// acknowledges them.
//
// Only the highest version up to which the stream acknowledged every change
// is confirmed, so a change leaves the queue only once it and everything
// before it are in the stream. A change whose acknowledgement is lost ends
// the push with an error; the next push sends it and those after it again
// with the same message IDs, which the stream drops as duplicates. Each
// change names the version it follows (Prev), so the hub applies changes in
// version order even when a resent one lands in the stream after later
// ones. pushMu is held.
func (a *Agent) pushState(ctx context.Context, l *link) error {
	pending := a.sync.PendingChanges()
	if len(pending) == 0 {
		return nil
	}
	type inFlight struct {
		version int64
		ack     jetstream.PubAckFuture
		sentAt  time.Time
	}
	window := make([]inFlight, 0, min(len(pending), pushWindow))
	subject := wire.StateSubject(a.cfg.ID)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()

	var acked int64  // the highest version up to which every change is acknowledged
	unconfirmed := 0 // changes acknowledged since the last confirm
	var err error
	next := 0
	for err == nil {
		for next < len(pending) && len(window) < pushWindow {
			ch := pending[next]
			prev := max(ch.From-1, 0) // From 0: not known, follows nothing known
			b, encErr := wire.Encode(wire.StateChange{V: wire.Version, NodeID: a.cfg.ID, Lineage: a.lineage, Version: ch.Version, Prev: prev, Data: ch.Data, At: ch.At})
			if encErr != nil {
				err = fmt.Errorf("agent: encode change %d: %w", ch.Version, encErr)
				break
			}
			f, pubErr := l.js.PublishAsync(subject, b, jetstream.WithMsgID(wire.StateChangeMsgID(a.cfg.ID, a.lineage, prev, ch.Version)))
			if pubErr != nil {
				err = fmt.Errorf("agent: push change %d: %w", ch.Version, pubErr)
				break
			}
			window = append(window, inFlight{version: ch.Version, ack: f, sentAt: time.Now()})
			next++
		}
		if len(window) == 0 {
			break
		}
		head := window[0]
		select {
		case <-head.ack.Ok():
		case e := <-head.ack.Err():
			err = fmt.Errorf("agent: push change %d: %w", head.version, e)
		default:
			timer.Reset(time.Until(head.sentAt.Add(a.cfg.PushTimeout)))
			select {
			case <-head.ack.Ok():
			case e := <-head.ack.Err():
				err = fmt.Errorf("agent: push change %d: %w", head.version, e)
			case <-timer.C:
				err = fmt.Errorf("agent: push change %d: %w", head.version, errAckTimeout)
			case <-ctx.Done():
				err = fmt.Errorf("agent: push change %d: %w", head.version, ctx.Err())
			}
			timer.Stop()
		}
		if err != nil {
			break
		}
		acked = head.version
		window = window[1:]
		if unconfirmed++; unconfirmed >= confirmBatch {
			_ = a.confirm(acked, false) // cannot fail without persist
			unconfirmed = 0
		}
	}
	if acked > 0 {
		// Writing the synchronizer costs in proportion to the queue (a
		// 100k-change snapshot takes a good part of a second), so it is
		// done once, at the end, when the queue is short. A crash before
		// it only means that changes already in the stream are sent again
		// after the restart, and the stream drops them as duplicates.
		if cerr := a.confirm(acked, true); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

// confirm removes the changes up to version from the queue and, with
// persist, writes the synchronizer to the store.
func (a *Agent) confirm(version int64, persist bool) error {
	a.stateMu.Lock()
	defer a.stateMu.Unlock()
	a.sync.ConfirmSync(version)
	if !persist {
		return nil
	}
	return a.persistLocked()
}
