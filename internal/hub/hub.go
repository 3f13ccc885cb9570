package hub

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/edgeinfra/edgeinfra/health"
	"github.com/edgeinfra/edgeinfra/internal/apiauth"
	"github.com/edgeinfra/edgeinfra/internal/tlsconf"
	"github.com/edgeinfra/edgeinfra/internal/wire"
	"github.com/edgeinfra/edgeinfra/metrics"
	"github.com/edgeinfra/edgeinfra/node"
)

// Config configures a hub. The zero value runs an embedded NATS server on a
// random loopback port, keeps everything in memory and serves HTTP on a
// random loopback port.
type Config struct {
	// HTTPAddr is the HTTP API's listen address. Empty means 127.0.0.1:0.
	HTTPAddr string
	// NATSListen is the embedded NATS server's client address. Empty means
	// 127.0.0.1 on a random port. Ignored with NATSURL.
	NATSListen string
	// NATSURL connects to an existing NATS cluster (with JetStream) instead
	// of embedding a server.
	NATSURL string
	// StreamReplicas is how many servers of the NATS cluster keep a copy of
	// the stream and of the desired-state bucket, so that the fleet's state
	// survives losing a server. Zero means 1. It cannot exceed the number of
	// JetStream servers: the embedded server is one, so set it only with
	// NATSURL (3 is usual for a 3-server cluster).
	StreamReplicas int
	// DataDir keeps JetStream's files (the stream of state changes and
	// metric deltas, and desired state). Empty means memory only.
	DataDir string
	// HeartbeatTimeout is how old a node's last heartbeat may be for the
	// node to be healthy. Zero means 60s.
	HeartbeatTimeout time.Duration
	// SweepInterval is how often the hub checks every node's health (the
	// checks make the per-node history). Zero means HeartbeatTimeout/10,
	// between 100ms and 5s.
	SweepInterval time.Duration
	// CheckpointInterval is how often the hub stores a checkpoint of the
	// fleet state and metrics it derived from the stream (and it stores
	// one at a graceful shutdown), so that a restart replays only the
	// stream messages after it, and messages that retention has removed
	// are not needed. Zero means one minute; negative turns checkpoints
	// off (every start replays the whole stream).
	CheckpointInterval time.Duration
	// CheckpointEvery is how many stream messages trigger a checkpoint
	// before CheckpointInterval is up (64 MiB of them do too), so a burst
	// cannot outrun checkpoints and the stream's byte limit. Zero means
	// 10000.
	CheckpointEvery int
	// Name identifies this hub in logs and in NATS. Empty means "hub".
	Name string
	// MaxSeries bounds the fleet's (function, node) metric series. Zero
	// means 100000.
	MaxSeries int
	// MaxNodes bounds the nodes the hub tracks: messages of new node IDs
	// past it are refused and counted (see limits.go). Zero means 100000;
	// negative means no limit.
	MaxNodes int
	// MaxSeriesPerNode bounds the metric series (functions) one node may
	// create: new ones past it are refused, counted and logged. Zero means
	// 1000; negative means no limit.
	MaxSeriesPerNode int
	// HeartbeatRate is the heartbeats per second one node may send on
	// average; more are dropped and counted. Zero means 20; negative means
	// no limit.
	HeartbeatRate float64
	// HeartbeatBurst is how many heartbeats a node may send at once. Zero
	// means twice HeartbeatRate (at least 1).
	HeartbeatBurst int
	// Logger receives the hub's logs. Nil means slog.Default().
	Logger *slog.Logger
	// Dashboard, when set, is served at "/".
	Dashboard http.Handler
	// Auth says when the embedded NATS server requires agent credentials
	// (package documentation, Agent credentials and permissions). The zero
	// value is AuthAuto. With NATSURL the cluster's own configuration decides, and
	// AuthRequired is an error.
	Auth AuthMode
	// NATSCreds is the hub's own credentials for the NATS cluster of
	// NATSURL: an nkey seed file or a .creds file (user JWT and seed).
	// The hub needs a user without subject limits. Ignored without NATSURL:
	// with the embedded server the hub makes its own identity.
	NATSCreds string
	// CredentialsPoll is how often the credentials store under DataDir is
	// checked for created and revoked agents. Zero means 1s.
	CredentialsPoll time.Duration
	// APIToken, when set, is required as "Authorization: Bearer <token>"
	// by every HTTP request other than GET and HEAD (see auth.go). Empty
	// means no token: fine on the default loopback address, and warned
	// about at start on any other.
	APIToken string
	// ReadAccess decides whether reads need APIToken too. Empty means
	// ReadOpen; ReadToken needs APIToken.
	ReadAccess ReadAccess
	// TLS, when set, serves NATS and HTTP over TLS (see tls.go for which
	// file does what). The zero value is plain text.
	TLS tlsconf.Files

	consumerCheckEvery time.Duration // tests: superviseConsumer's period
}

// Hub is a running hub: NATS (embedded or external), the fleet registry,
// health checks, metric aggregation and the HTTP API.
type Hub struct {
	cfg     Config
	log     *slog.Logger
	timeout time.Duration

	ns      *server.Server // nil with an external NATS
	auth    *natsAuth      // nil with an external NATS
	nc      *nats.Conn
	js      jetstream.JetStream
	desired jetstream.KeyValue

	reg     *registry
	monitor *health.Monitor // the per-node check history and flapping (API.md's contract)
	tracker *health.Tracker // liveness: alive, suspect, dead, and regions in trouble
	agg     *metrics.Aggregator
	stats   hubStats

	// Stream application and checkpoints (checkpoint.go). applyMu is
	// held while a stream message is applied and while a checkpoint
	// copies the state, so a checkpoint is exactly the state after
	// appliedSeq.
	applyMu       sync.Mutex
	appliedSeq    uint64 // guarded by applyMu: the newest stream sequence applied
	consMu        sync.Mutex
	cc            jetstream.ConsumeContext // guarded by consMu: the stream consumer
	checkpointSeq atomic.Uint64
	restoredSeq   uint64 // the checkpoint's sequence the hub started from; 0: full replay
	streamCreated time.Time
	checkpoints   *checkpointStore // nil: checkpoints off
	sinceCP       int              // guarded by applyMu: messages since the last checkpoint trigger
	sinceCPBytes  int              // guarded by applyMu: their bytes
	checkpointNow chan struct{}    // a checkpoint is due by message count or bytes
	cpBytes       atomic.Uint64    // size of the newest checkpoint stored by this process
	cpFailures    atomic.Uint64    // checkpoints not stored, or not usable at start
	// checkpointsPaused stops storing checkpoints, the one at Close
	// included, so tests can restart from an older one as after a crash.
	checkpointsPaused atomic.Bool

	lastReport atomic.Pointer[health.ClusterReport]
	lastFleet  atomic.Pointer[health.FleetReport]

	metricsCache metricsCache
	token        apiauth.Token
	quota        *seriesQuota
	rejects      rejections
	nodesLogged  atomic.Int64 // unix nanoseconds of the last max_nodes log line
	hbRate       float64      // effective heartbeats per second per node; negative: none

	httpLn  net.Listener
	httpSrv *http.Server
	handler http.Handler

	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

type hubStats struct {
	heartbeats, stale, stateApplied, stateDuplicate, stateGap, metricDeltas, metricDuplicate atomic.Uint64

	consumerRestarts atomic.Uint64 // stream consumers replaced by superviseConsumer
}

// Start starts a hub and returns once NATS, the stream and the HTTP server
// are ready. The hub runs until Close (or until ctx is cancelled, after
// which Close still has to be called to wait for it).
func Start(ctx context.Context, cfg Config) (*Hub, error) {
	h := &Hub{cfg: cfg, log: cfg.Logger, reg: newRegistry(), checkpointNow: make(chan struct{}, 1)}
	if h.log == nil {
		h.log = slog.Default()
	}
	if cfg.Name == "" {
		h.cfg.Name = "hub"
	}
	h.timeout = cfg.HeartbeatTimeout
	if h.timeout <= 0 {
		h.timeout = 60 * time.Second
	}
	h.monitor = health.NewMonitor(health.Options{HeartbeatTimeout: h.timeout, HistorySize: 50})
	// Suspect when the node stops being healthy, dead when silent for
	// twice as long (the Tracker's default).
	h.tracker = health.NewTracker(health.TrackerOptions{SuspectAfter: h.timeout, SweepInterval: h.sweepEvery()})
	maxSeries := cfg.MaxSeries
	if maxSeries == 0 {
		maxSeries = 100_000
	}
	h.agg = metrics.NewWithOptions(metrics.Options{MaxSeries: maxSeries})
	if err := h.configureAccess(); err != nil {
		return nil, err
	}
	h.configureLimits()

	ok := false
	defer func() {
		if !ok {
			h.shutdown()
		}
	}()
	if err := h.startNATS(); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	if err := h.startStreams(ctx, runCtx); err != nil {
		return nil, err
	}
	if err := h.startHTTP(); err != nil {
		return nil, err
	}
	h.warnOpenAPI()
	h.wg.Go(func() { h.sweepLoop(runCtx) })
	h.wg.Go(func() { h.watchCredentials(runCtx, cmp.Or(cfg.CredentialsPoll, time.Second)) })
	h.wg.Go(func() { _ = h.tracker.Run(runCtx) })
	events, stopEvents := h.tracker.Subscribe(256)
	h.wg.Go(func() { h.logTransitions(runCtx, events, stopEvents) })
	go func() {
		select {
		case <-ctx.Done():
			cancel()
		case <-runCtx.Done():
		}
	}()
	ok = true
	h.log.Info("hub started", "http", h.HTTPAddr(), "nats", h.NATSURL(), "data", cfg.DataDir, "embedded_nats", h.ns != nil)
	return h, nil
}

func (h *Hub) startNATS() error {
	url := h.cfg.NATSURL
	if url != "" && h.cfg.Auth == AuthRequired {
		return errors.New("hub: --auth required manages the embedded NATS server's users; with --nats-url the cluster's configuration does (see 'edgeinfra hub creds template')")
	}
	opts := []nats.Option{nats.Name("edgeinfra-" + h.cfg.Name), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond)}
	if url != "" && h.cfg.NATSCreds != "" {
		o, err := externalCreds(h.cfg.NATSCreds)
		if err != nil {
			return err
		}
		opts = append(opts, o)
	}
	if url == "" {
		host, port, err := splitHostPort(h.cfg.NATSListen, "127.0.0.1", server.RANDOM_PORT)
		if err != nil {
			return fmt.Errorf("hub: --nats-listen %q: %w", h.cfg.NATSListen, err)
		}
		sopts := &server.Options{
			ServerName: "edgeinfra-" + h.cfg.Name,
			Host:       host,
			Port:       port,
			JetStream:  true,
			NoSigs:     true,
			NoLog:      true,
			MaxPayload: wire.MaxMessageSize,
			// The server remembers closed connections for its monitoring
			// (10,000 by default, each with its subscriptions); agents that
			// restart and reconnect all day would fill that for hours.
			MaxClosedClients: maxClosedClients,
		}
		if err := h.natsServerTLS(sopts); err != nil {
			return err
		}
		if h.cfg.DataDir != "" {
			sopts.StoreDir = h.cfg.DataDir
		} else {
			dir, err := os.MkdirTemp("", "edgeinfra-hub-")
			if err != nil {
				return fmt.Errorf("hub: %w", err)
			}
			sopts.StoreDir = dir // only the server's metadata: streams are in memory
		}
		authOpts, err := h.setupAuth(sopts)
		if err != nil {
			return err
		}
		opts = append(opts, authOpts...)
		ns, err := server.NewServer(sopts)
		if err != nil {
			return fmt.Errorf("hub: embedded NATS: %w", err)
		}
		ns.Start()
		if !ns.ReadyForConnections(10 * time.Second) {
			ns.Shutdown()
			return errors.New("hub: embedded NATS did not start within 10s (is the port free?)")
		}
		h.ns = ns
		url = inProcessURL(ns)
		opts = append(opts, nats.InProcessServer(ns))
	} else {
		tlsOpts, err := h.natsClientTLS()
		if err != nil {
			return err
		}
		opts = append(opts, tlsOpts...)
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return fmt.Errorf("hub: connect to NATS at %s: %w", url, err)
	}
	h.nc = nc
	return nil
}

const (
	duplicateWindow  = 2 * time.Minute
	maxClosedClients = 256
)

func splitHostPort(addr, defHost string, defPort int) (string, int, error) {
	if addr == "" {
		return defHost, defPort, nil
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("port %q is not a number from 0 to 65535", p)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}

func (h *Hub) storage() jetstream.StorageType {
	if h.cfg.DataDir == "" && h.ns != nil {
		return jetstream.MemoryStorage
	}
	return jetstream.FileStorage
}

// startStreams creates (or finds) the stream and bucket, subscribes to
// heartbeats and replays the stream from its start, which rebuilds fleet
// state and metrics after a restart, then follows it.
func (h *Hub) startStreams(ctx, runCtx context.Context) error {
	js, err := jetstream.New(h.nc)
	if err != nil {
		return fmt.Errorf("hub: JetStream: %w", err)
	}
	h.js = js
	setupCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	stream, err := js.CreateOrUpdateStream(setupCtx, jetstream.StreamConfig{
		Name:        wire.StreamName,
		Description: "edgeinfra state changes and metric deltas from agents",
		Subjects:    []string{wire.StateAll, wire.MetricsAll},
		Storage:     h.storage(),
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      7 * 24 * time.Hour,
		MaxBytes:    1 << 30,
		// Exactly-once in effect does not rest on this window (the
		// registry's versions and metric watermarks skip any message seen
		// before), so it only saves re-applying recent duplicates; its
		// index costs ~150 B per message, so a short one keeps the hub's
		// memory flat at a high message rate.
		Duplicates: duplicateWindow,
		MaxMsgSize: wire.MaxMessageSize,
		Replicas:   max(h.cfg.StreamReplicas, 1),
	})
	if err != nil {
		return fmt.Errorf("hub: create stream %s (does the NATS server have JetStream enabled?): %w", wire.StreamName, err)
	}
	h.desired, err = js.CreateOrUpdateKeyValue(setupCtx, jetstream.KeyValueConfig{
		Bucket:      wire.DesiredBucket,
		Description: "edgeinfra desired state per node",
		Storage:     h.storage(),
		History:     1,
		Replicas:    max(h.cfg.StreamReplicas, 1),
	})
	if err != nil {
		return fmt.Errorf("hub: create bucket %s: %w", wire.DesiredBucket, err)
	}
	if err := allowWatchers(setupCtx, js, wire.DesiredBucket); err != nil {
		return err
	}
	if _, err := h.nc.Subscribe(wire.HeartbeatAll, h.onHeartbeat); err != nil {
		return fmt.Errorf("hub: subscribe to heartbeats: %w", err)
	}
	si, err := stream.Info(setupCtx)
	if err != nil {
		return fmt.Errorf("hub: stream %s info: %w", wire.StreamName, err)
	}
	h.streamCreated = si.Created
	start := uint64(0) // the stream sequence to consume from; 0: its first message
	if h.cfg.CheckpointInterval >= 0 {
		kv, err := js.CreateOrUpdateKeyValue(setupCtx, jetstream.KeyValueConfig{
			Bucket:      wire.CheckpointBucket,
			Description: "edgeinfra hub checkpoints of the state derived from the stream",
			Storage:     h.storage(),
			History:     1,
			Replicas:    max(h.cfg.StreamReplicas, 1),
		})
		if err != nil {
			return fmt.Errorf("hub: create bucket %s: %w", wire.CheckpointBucket, err)
		}
		h.checkpoints = newCheckpointStore(kv, h.cfg.Name)
		if seq := h.restoreCheckpoint(setupCtx, si); seq > 0 {
			start = seq + 1
		}
		every := h.cfg.CheckpointInterval
		if every == 0 {
			every = time.Minute
		}
		h.wg.Go(func() { h.checkpointLoop(runCtx, every) })
	}
	if err := h.consumeFrom(setupCtx, start); err != nil {
		return err
	}
	h.wg.Go(func() { h.superviseConsumer(runCtx) })
	h.wg.Go(func() {
		<-runCtx.Done()
		h.consMu.Lock()
		cc := h.cc
		h.consMu.Unlock()
		cc.Drain()
		<-cc.Closed()
	})
	return nil
}

// consumeFrom starts the hub's ordered consumer of the stream at stream
// sequence start (0: the stream's first message) and makes it the current
// one. The caller stops the previous one first.
func (h *Hub) consumeFrom(ctx context.Context, start uint64) error {
	cfg := jetstream.OrderedConsumerConfig{}
	if start > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = start
	}
	cons, err := h.js.OrderedConsumer(ctx, wire.StreamName, cfg)
	if err != nil {
		return fmt.Errorf("hub: consumer: %w", err)
	}
	// A 1s idle heartbeat (nats.go's default for ordered consumers is 5s)
	// notices within 2s that the server holding the consumer is gone, and
	// recreates it on another; with 5s that took 10s.
	cc, err := cons.Consume(h.onStreamMsg, jetstream.PullHeartbeat(time.Second),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			h.log.Debug("stream consumer", "err", err)
		}))
	if err != nil {
		return fmt.Errorf("hub: consume: %w", err)
	}
	h.consMu.Lock()
	h.cc = cc
	h.consMu.Unlock()
	return nil
}

// How often superviseConsumer compares the stream with what the hub
// applied (Config.consumerCheckEvery in tests), and after how many checks
// in a row without progress it replaces the consumer.
const (
	consumerCheckEvery  = 2 * time.Second
	consumerStallChecks = 3
)

// superviseConsumer replaces the stream consumer when it has stopped:
// the stream holds messages past the newest one applied and nothing was
// applied for consumerStallChecks checks in a row. nats.go's ordered
// consumer recreates itself after missed heartbeats, a deleted consumer or
// a sequence gap, but an error while recreating it (a request timing out
// while the server or this process is stalled) leaves it stopped for
// good, and the hub would silently stop applying what agents had been
// told was stored. The new consumer starts after the newest message
// applied, and onStreamMsg skips anything at or below it, so nothing is
// applied twice or out of order.
func (h *Hub) superviseConsumer(ctx context.Context) {
	every := consumerCheckEvery
	if h.cfg.consumerCheckEvery > 0 {
		every = h.cfg.consumerCheckEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var last uint64
	stalled := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ictx, cancel := context.WithTimeout(ctx, every)
		s, err := h.js.Stream(ictx, wire.StreamName) // one stream info request
		cancel()
		if err != nil {
			continue // the server is away; the consumer cannot do better
		}
		tail := s.CachedInfo().State.LastSeq
		h.applyMu.Lock()
		applied := h.appliedSeq
		h.applyMu.Unlock()
		if tail <= applied || applied != last {
			last, stalled = applied, 0
			continue
		}
		if stalled++; stalled < consumerStallChecks {
			continue
		}
		stalled = 0
		h.log.Warn("stream consumer made no progress; replacing it", "applied_seq", applied, "stream_last_seq", tail)
		h.consMu.Lock()
		old := h.cc
		h.consMu.Unlock()
		old.Stop()
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := h.consumeFrom(rctx, applied+1); err != nil {
			// h.cc is still the stopped one: replaced at the next stall.
			h.log.Warn("stream consumer not replaced; trying again", "err", err)
		} else {
			h.stats.consumerRestarts.Add(1)
		}
		cancel()
	}
}

func (h *Hub) onHeartbeat(m *nats.Msg) { h.handleHeartbeat(m.Subject, m.Data, time.Now()) }

// handleHeartbeat checks the node's rate limit (before decoding, which is
// the cost it bounds), decodes, admits and records one heartbeat.
func (h *Hub) handleHeartbeat(subject string, data []byte, now time.Time) {
	id, err := wire.NodeFromSubject(subject)
	if err == nil {
		if ok, logged := h.reg.allowHeartbeat(id, now); !ok {
			h.rejects.add(kindHeartbeat, reasonRate, 1)
			h.logLimit(logged, now, "dropping heartbeats of a node over its rate limit (--heartbeat-rate)",
				"node", id, "per_second", h.hbRate, "dropped_so_far", h.rejects.get(kindHeartbeat, reasonRate))
			return
		}
	}
	var hb wire.Heartbeat
	if err == nil {
		if hb, err = wire.DecodeHeartbeat(data); err == nil && id != hb.NodeID {
			err = fmt.Errorf("heartbeat for %q published on %s", hb.NodeID, subject)
		}
	}
	if err != nil {
		h.rejects.add(kindHeartbeat, reasonInvalid, 1)
		h.log.Debug("heartbeat rejected", "subject", subject, "err", err)
		return
	}
	if !h.reg.admit(id) {
		h.refuseNode(kindHeartbeat, id, now)
		return
	}
	h.acceptHeartbeat(hb, now)
}

// acceptHeartbeat records a valid heartbeat received at now in the
// registry and the Tracker.
func (h *Hub) acceptHeartbeat(hb wire.Heartbeat, now time.Time) {
	joined, ok := h.reg.heartbeat(hb, now)
	if !ok {
		h.stats.stale.Add(1)
		return
	}
	if joined {
		h.tracker.Join(node.Node{ID: hb.NodeID, Region: hb.Region})
	}
	h.tracker.HeartbeatEpoch(hb.NodeID, hb.Epoch, now)
	h.stats.heartbeats.Add(1)
}

// onStreamMsg applies one stream message and notes its sequence for the
// next checkpoint.
func (h *Hub) onStreamMsg(m jetstream.Msg) {
	h.applyMu.Lock()
	md, err := m.Metadata()
	if err == nil && md.Sequence.Stream <= h.appliedSeq {
		// Applied already: delivered again by a consumer that replaced
		// one (superviseConsumer) while the old one was still handing
		// over its last message.
		h.applyMu.Unlock()
		return
	}
	h.applyStreamMsg(m)
	if err == nil {
		h.appliedSeq = md.Sequence.Stream
	}
	h.sinceCP++
	h.sinceCPBytes += len(m.Data())
	due := h.sinceCP >= h.checkpointEvery() || h.sinceCPBytes >= checkpointBytes
	if due {
		h.sinceCP, h.sinceCPBytes = 0, 0
	}
	h.applyMu.Unlock()
	if due {
		select {
		case h.checkpointNow <- struct{}{}:
		default: // one is due already
		}
	}
}

// applyStreamMsg applies one stream message. A message that cannot be
// decoded is counted and skipped: it can never become valid.
func (h *Hub) applyStreamMsg(m jetstream.Msg) {
	subject := m.Subject()
	id, err := wire.NodeFromSubject(subject)
	isState := strings.HasPrefix(subject, wire.StateSubject(""))
	if err != nil {
		kind := kindMetrics
		if isState {
			kind = kindState
		}
		h.rejects.add(kind, reasonInvalid, 1)
		return
	}
	now := time.Now()
	switch {
	case isState:
		c, err := wire.DecodeStateChange(m.Data())
		if err != nil || c.NodeID != id {
			h.rejects.add(kindState, reasonInvalid, 1)
			h.log.Debug("state change rejected", "node", id, "err", err)
			return
		}
		if !h.reg.admit(id) {
			h.refuseNode(kindState, id, now)
			return
		}
		switch h.reg.applyState(c) {
		case stateApplied:
			h.stats.stateApplied.Add(1)
		case stateStale:
			h.stats.stateDuplicate.Add(1)
		case stateGap:
			h.stats.stateGap.Add(1)
		}
	default:
		var snap metrics.Snapshot
		if err := snap.UnmarshalBinary(m.Data()); err != nil {
			h.rejects.add(kindMetrics, reasonInvalid, 1)
			h.log.Debug("metrics delta rejected", "node", id, "err", err)
			return
		}
		if !snapOnlyNode(snap, id) {
			h.rejects.add(kindMetrics, reasonInvalid, 1)
			h.log.Debug("metrics delta names another node", "node", id)
			return
		}
		// Agents send a message ID per delta; one without cannot be
		// de-duplicated and is merged as it comes.
		if msgID := m.Headers().Get(jetstream.MsgIDHeader); msgID != "" {
			idNode, lineage, seq, err := wire.ParseMetricsMsgID(msgID)
			if err == nil && idNode != id {
				err = fmt.Errorf("metrics message ID %q names another node than its subject %s", msgID, subject)
			}
			if err != nil {
				h.rejects.add(kindMetrics, reasonInvalid, 1)
				h.log.Warn("metrics delta rejected", "node", id, "err", err)
				return
			}
			if !h.reg.admit(id) {
				h.refuseNode(kindMetrics, id, now)
				return
			}
			if !h.reg.acceptDelta(id, lineage, seq) {
				h.stats.metricDuplicate.Add(1)
				return
			}
		}
		h.agg.Merge(h.admitMetrics(id, snap, now))
		h.stats.metricDeltas.Add(1)
	}
}

// snapOnlyNode reports whether every series of snap belongs to node id, so
// an agent cannot count invocations for another node.
func snapOnlyNode(snap metrics.Snapshot, id string) bool {
	for _, k := range snap.Keys() {
		if k.NodeID != id {
			return false
		}
	}
	return true
}

// sweepLoop checks every node's health periodically; those checks are the
// per-node history and the flapping input.
func (h *Hub) sweepLoop(ctx context.Context) {
	t := time.NewTicker(h.sweepEvery())
	defer t.Stop()
	for {
		h.sweep()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (h *Hub) sweepEvery() time.Duration {
	if h.cfg.SweepInterval > 0 {
		return h.cfg.SweepInterval
	}
	return min(max(h.timeout/10, 100*time.Millisecond), 5*time.Second)
}

// sweep checks every node (the Monitor's history and cluster report) and
// copies the Tracker's liveness verdicts into the registry, so listings
// read them without asking the Tracker per node.
func (h *Hub) sweep() {
	all := h.reg.all()
	nodes := make([]node.Node, len(all))
	for i, s := range all {
		nodes[i] = s.Node
	}
	rep := h.monitor.CheckCluster(nodes)
	h.lastReport.Store(&rep)
	h.reg.setLiveness(h.tracker.Nodes())
	fleet := h.tracker.Report()
	h.lastFleet.Store(&fleet)
}

// logTransitions logs the Tracker's suspect, dead and recovered verdicts
// until ctx is done.
func (h *Hub) logTransitions(ctx context.Context, events <-chan health.Event, stop func()) {
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			switch ev.Kind {
			case health.EventSuspect, health.EventDead:
				h.log.Warn("node "+string(ev.Kind), "node", ev.NodeID, "region", ev.Region, "was", ev.Previous.String())
			case health.EventRecovered, health.EventFlapStart, health.EventFlapStop:
				h.log.Info("node "+string(ev.Kind), "node", ev.NodeID, "region", ev.Region)
			default:
				h.log.Debug("node "+string(ev.Kind), "node", ev.NodeID, "region", ev.Region)
			}
		}
	}
}

func (h *Hub) startHTTP() error {
	addr := h.cfg.HTTPAddr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("hub: HTTP listen on %s: %w", addr, err)
	}
	if ln, err = h.httpListener(ln); err != nil {
		return err
	}
	h.httpLn = ln
	h.handler = h.routes()
	h.httpSrv = &http.Server{
		Handler: h.handler, ReadHeaderTimeout: 10 * time.Second,
		// TLS handshake failures (scanners, clients without the CA) are
		// routine on an open port: debug, not stderr.
		ErrorLog: slog.NewLogLogger(h.log.Handler(), slog.LevelDebug),
	}
	h.wg.Go(func() {
		if err := h.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.log.Error("HTTP server", "err", err)
		}
	})
	return nil
}

// HTTPAddr returns the address the HTTP API listens on.
func (h *Hub) HTTPAddr() string {
	if h.httpLn == nil {
		return ""
	}
	return h.httpLn.Addr().String()
}

// URL returns the base URL of the HTTP API and dashboard.
func (h *Hub) URL() string { return h.scheme() + "://" + h.HTTPAddr() }

// NATSURL returns the URL agents connect to.
func (h *Hub) NATSURL() string {
	if h.ns != nil {
		return h.ns.ClientURL()
	}
	return h.cfg.NATSURL
}

// Handler returns the HTTP handler (API, /metrics and dashboard).
func (h *Hub) Handler() http.Handler { return h.handler }

// Close stops the hub gracefully: HTTP requests in flight finish, the
// stream consumer drains, and the embedded NATS server shuts down.
func (h *Hub) Close() error {
	h.shutdown()
	return nil
}

func (h *Hub) shutdown() {
	h.once.Do(func() {
		if h.httpSrv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = h.httpSrv.Shutdown(ctx)
			cancel()
		}
		if h.cancel != nil {
			h.cancel()
		}
		h.wg.Wait()
		if h.checkpoints != nil && h.nc.IsConnected() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := h.writeCheckpoint(ctx); err != nil {
				h.log.Warn("no checkpoint at shutdown; the next start replays more of the stream", "err", err)
			}
			cancel()
		}
		if h.nc != nil {
			_ = h.nc.Drain()
			for h.nc.IsDraining() {
				time.Sleep(10 * time.Millisecond)
			}
			h.nc.Close()
		}
		if h.ns != nil {
			storeDir := h.ns.StoreDir()
			h.ns.Shutdown()
			h.ns.WaitForShutdown()
			if h.cfg.DataDir == "" && storeDir != "" {
				_ = os.RemoveAll(storeDir)
			}
		}
	})
}

// maxWatchers is the consumer limit of the desired-state bucket's stream.
// Every agent watches its key, and each watch is a consumer; NATS servers
// allow 1,000 consumers per stream unless the stream sets a positive limit
// (-1 does not lift that default), which left every agent past the
// thousandth without desired state.
const maxWatchers = 1 << 20

// allowWatchers raises the consumer limit of bucket's stream to
// maxWatchers, once.
func allowWatchers(ctx context.Context, js jetstream.JetStream, bucket string) error {
	s, err := js.Stream(ctx, "KV_"+bucket)
	if err != nil {
		return fmt.Errorf("hub: bucket %s: %w", bucket, err)
	}
	cfg := s.CachedInfo().Config
	if cfg.MaxConsumers == maxWatchers {
		return nil
	}
	cfg.MaxConsumers = maxWatchers
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("hub: allow %d watchers of bucket %s (one per agent): %w", maxWatchers, bucket, err)
	}
	return nil
}
