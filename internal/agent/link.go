package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/edgeinfra/edgeinfra/internal/wire"
	"github.com/edgeinfra/edgeinfra/metrics"
	"github.com/edgeinfra/edgeinfra/node"
	"github.com/edgeinfra/edgeinfra/statesync"
)

func (a *Agent) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		a.sendHeartbeat()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (a *Agent) sendHeartbeat() {
	l := a.currentLink()
	if l == nil || a.hbPaused.Load() || !l.nc.IsConnected() {
		return
	}
	sum := a.sync.Summary()
	b, err := wire.Encode(wire.Heartbeat{
		V: wire.Version, NodeID: a.cfg.ID, Region: a.cfg.Region, Address: a.HTTPAddr(),
		Status: string(a.status.Load().(node.Status)), Epoch: a.epoch, Seq: a.hbSeq.Add(1), SentAt: time.Now(),
		Sync: wire.SyncInfo{LocalVersion: sum.LocalVersion, RemoteVersion: sum.RemoteVersion, Pending: sum.PendingCount},
	})
	if err == nil {
		err = l.nc.Publish(wire.HeartbeatSubject(a.cfg.ID), b)
	}
	if err != nil {
		a.log.Debug("heartbeat not sent", "err", err)
	}
}

func (a *Agent) pushLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.PushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.pushKick:
		}
		a.Flush(ctx)
	}
}

// pushNow makes the push loop push at once rather than at its next tick:
// after a reconnect, what queued while the hub was away should not wait up
// to a PushInterval more (a second by default, half of the catch-up time
// a long partition leaves). It does not block.
func (a *Agent) pushNow() {
	select {
	case a.pushKick <- struct{}{}:
	default:
	}
}

// Flush sends pending state changes and the metric outbox now, and
// returns the first error. It is what the push loop calls every
// PushInterval. While the hub is unreachable it still moves the metric
// delta into the outbox, so that with DataDir it is on disk.
func (a *Agent) Flush(ctx context.Context) error {
	a.pushMu.Lock()
	defer a.pushMu.Unlock()
	box, err := a.fillOutbox()
	if err != nil {
		return err
	}
	l := a.currentLink()
	if l == nil || !l.nc.IsConnected() {
		return errors.New("agent: not connected to the hub")
	}
	if err := a.pushState(ctx, l); err != nil {
		return err
	}
	return a.pushMetrics(ctx, l, box)
}

// stateWindow is how many state changes may wait for the stream's
// acknowledgement at once.
const stateWindow = 2048

// pushState publishes every pending change, oldest first, with up to
// stateWindow of them in flight at once, and confirms the highest version
// up to which the stream has acknowledged every change, in order: in
// memory once per window, and in the store once, when the round ends. A
// snapshot write costs in proportion to the queue, so a write per window
// made a 100,000-change catch-up spend most of its time rewriting the
// queue; a crash before the write only means that the restarted agent
// sends changes the stream already has again, which the hub ignores as
// versions it has passed. A change
// leaves the pending queue only when it and everything before it are in
// the stream. On a failure the round stops and the attempt number moves
// on, so the next round's copies get new message IDs: a change that got
// through while its predecessor was lost, and that the hub therefore
// skipped (wire.StateChange.Base), is stored again after the
// predecessor rather than dropped as a duplicate.
func (a *Agent) pushState(ctx context.Context, l *link) error {
	pending := a.sync.PendingChanges()
	if len(pending) == 0 {
		return nil
	}
	attempt := a.stateAttempt.Load()
	type inflight struct {
		version int64
		ack     jetstream.PubAckFuture
	}
	queue := make([]inflight, 0, min(len(pending), stateWindow))
	confirmed, released := int64(0), int64(0) // released: confirmed in memory
	timeout := time.NewTimer(a.cfg.PushTimeout)
	defer timeout.Stop()
	// settle waits for the oldest change in flight. The stream must have
	// stored the changes in version order: one stored before its
	// predecessor (reordered on the way) was skipped by the hub as a gap,
	// so it counts as failed and goes again in the next attempt.
	var lastSeq uint64
	settle := func() error {
		it := queue[0]
		queue = queue[1:]
		select {
		case ack := <-it.ack.Ok():
			if ack.Sequence <= lastSeq {
				return fmt.Errorf("agent: push change %d: stored at stream sequence %d, before its predecessor at %d; sending it again", it.version, ack.Sequence, lastSeq)
			}
			lastSeq = ack.Sequence
			confirmed = it.version
			return nil
		case err := <-it.ack.Err():
			return fmt.Errorf("agent: push change %d: %w", it.version, err)
		case <-timeout.C:
			return fmt.Errorf("agent: push change %d: no acknowledgement within %s", it.version, a.cfg.PushTimeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var err error
	base := int64(0)
	for _, ch := range pending {
		var b []byte
		b, err = wire.Encode(wire.StateChange{V: wire.Version, NodeID: a.cfg.ID, Lineage: a.lineage, Version: ch.Version, Base: base, Data: ch.Data, At: ch.At})
		if err != nil {
			err = fmt.Errorf("agent: encode change %d: %w", ch.Version, err)
			break
		}
		base = ch.Version
		var f jetstream.PubAckFuture
		f, err = l.js.PublishAsync(wire.StateSubject(a.cfg.ID), b, jetstream.WithMsgID(wire.StateMsgID(a.cfg.ID, a.lineage, ch.Version, attempt)))
		if err != nil {
			err = fmt.Errorf("agent: push change %d: %w", ch.Version, err)
			break
		}
		queue = append(queue, inflight{ch.Version, f})
		if len(queue) < stateWindow {
			continue
		}
		timeout.Reset(a.cfg.PushTimeout)
		if err = settle(); err != nil {
			break
		}
		if confirmed-released >= stateWindow {
			_ = a.confirm(confirmed, false) // cannot fail: no store write
			released = confirmed
		}
	}
	for err == nil && len(queue) > 0 {
		timeout.Reset(a.cfg.PushTimeout)
		err = settle()
	}
	if confirmed > 0 {
		if cerr := a.confirm(confirmed, true); err == nil {
			err = cerr
		}
	}
	if err != nil {
		a.stateAttempt.Add(1)
	}
	return err
}

// confirm removes the changes up to version from the pending queue and,
// with persist, writes the synchronizer to the store.
func (a *Agent) confirm(version int64, persist bool) error {
	a.stateMu.Lock()
	defer a.stateMu.Unlock()
	a.sync.ConfirmSync(version)
	if !persist {
		return nil
	}
	return a.persistLocked()
}

// fillOutbox moves the aggregator's delta into the outbox and returns the
// outbox. Only the outbox's oldest delta can have been sent (pushMetrics
// stops at the first failure), so while it waits a second delta absorbs
// every later one: the outbox stays at most two deltas long however long
// the hub is away, and with DataDir the journal is emptied every push.
// pushMu is held.
func (a *Agent) fillOutbox() ([]pendingDelta, error) {
	box, err := a.outbox()
	if err != nil {
		return nil, err
	}
	if a.unqueued == nil {
		t, err := a.takeDelta()
		if err != nil || t == nil {
			return box, err
		}
		a.unqueued = t
	}
	snap, seq := a.unqueued.snap, uint64(0)
	if len(box) >= 2 {
		tail := box[len(box)-1]
		var old metrics.Snapshot
		if err := old.UnmarshalBinary(tail.Data); err != nil {
			return nil, fmt.Errorf("agent: stored metric delta %d: %w", tail.Seq, err)
		}
		m := metrics.New()
		m.Merge(old)
		m.Merge(snap)
		snap, seq = m.Snapshot(), tail.Seq
	}
	data, err := snap.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("agent: encode metrics: %w", err)
	}
	if err := a.queueDelta(seq, data, a.unqueued.journalUpTo); err != nil {
		return nil, err // kept in unqueued, tried again next time
	}
	a.unqueued = nil
	return a.outbox()
}

// takenDelta is a delta taken from the aggregator and the last journal
// record it covers.
type takenDelta struct {
	snap        metrics.Snapshot
	journalUpTo uint64
}

// takeDelta takes the aggregator's delta, nil when there is nothing new.
// With the write side of invMu held no invocation is between its journal
// record and the aggregator, so the delta holds exactly the journal's
// records up to the last sequence number.
func (a *Agent) takeDelta() (*takenDelta, error) {
	a.invMu.Lock()
	defer a.invMu.Unlock()
	var upTo uint64
	if a.store != nil {
		var err error
		if upTo, err = a.store.s.LastJournalSeq(); err != nil {
			return nil, fmt.Errorf("agent: %w", err)
		}
	}
	d := a.agg.TakeDelta()
	if d.Len() == 0 {
		return nil, nil
	}
	return &takenDelta{snap: d, journalUpTo: upTo}, nil
}

// pushMetrics sends the outbox, oldest first. A delta is in the outbox (on
// disk with DataDir) before it is sent and leaves it once the stream has
// acknowledged it, so a crash neither loses it nor, thanks to its message
// ID, counts it twice. pushMu is held.
func (a *Agent) pushMetrics(ctx context.Context, l *link, box []pendingDelta) error {
	for _, d := range box {
		pctx, cancel := context.WithTimeout(ctx, a.cfg.PushTimeout)
		_, err := l.js.Publish(pctx, wire.MetricsSubject(a.cfg.ID), d.Data, jetstream.WithMsgID(wire.MetricsMsgID(a.cfg.ID, a.lineage, d.Seq)))
		cancel()
		if err != nil {
			return fmt.Errorf("agent: push metrics: %w", err)
		}
		if err := a.ackDelta(d.Seq); err != nil {
			return err
		}
	}
	return nil
}

// desiredLoop watches this node's key in the desired-state bucket and
// applies each new value by the conflict strategy. It retries while the
// hub (and so the bucket) is unreachable.
func (a *Agent) desiredLoop(ctx context.Context) {
	for ctx.Err() == nil {
		if err := a.watchDesired(ctx); err != nil && ctx.Err() == nil {
			a.log.Debug("desired state watch", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (a *Agent) watchDesired(ctx context.Context) error {
	l := a.currentLink()
	if l == nil || !l.nc.IsConnected() {
		return errors.New("not connected")
	}
	kctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	kv, err := l.js.KeyValue(kctx, wire.DesiredBucket)
	cancel()
	if err != nil {
		return err
	}
	reconnects := l.nc.Stats().Reconnects
	// The watch gets its own context: nats.go keeps a goroutine per watch
	// until the watch's context ends, so with the agent's context every
	// re-watch (after each reconnect) left one behind for the agent's
	// lifetime.
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	w, err := kv.Watch(wctx, a.cfg.ID)
	if err != nil {
		return err
	}
	defer func() {
		// On shutdown the connection is about to close, which ends the
		// watch; Stop could wait seconds for a hub that is gone.
		if ctx.Err() == nil {
			_ = w.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("watch ended")
			}
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue
			}
			d, err := wire.DecodeState(e.Value())
			if err != nil {
				a.log.Warn("ignoring invalid desired state", "err", err)
				continue
			}
			a.applyDesired(d)
		case <-time.After(time.Second):
		}
		if a.currentLink() != l {
			return errors.New("link replaced")
		}
		// After a reconnect (a restarted hub, say) the watch would take many
		// seconds to notice its consumer is gone; start a new one at once.
		if l.nc.Stats().Reconnects != reconnects {
			return errors.New("reconnected")
		}
	}
}

func (a *Agent) applyDesired(d wire.State) {
	a.stateMu.Lock()
	defer a.stateMu.Unlock()
	applied := a.sync.ApplyRemote(statesync.State{NodeID: a.cfg.ID, Version: d.Version, Data: d.Data, UpdatedAt: d.UpdatedAt})
	if err := a.persistLocked(); err != nil {
		a.log.Error("persist state", "err", err)
	}
	a.log.Info("desired state offered", "version", d.Version, "applied", applied)
}

// persistLocked writes the synchronizer to the store; stateMu is held.
func (a *Agent) persistLocked() error {
	if a.store == nil {
		return nil
	}
	return a.store.saveSync(a.sync.Export())
}
