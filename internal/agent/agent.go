package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/time/rate"

	"github.com/edgeinfra/edgeinfra/cache"
	"github.com/edgeinfra/edgeinfra/internal/apiauth"
	"github.com/edgeinfra/edgeinfra/internal/tlsconf"
	"github.com/edgeinfra/edgeinfra/internal/wire"
	"github.com/edgeinfra/edgeinfra/metrics"
	"github.com/edgeinfra/edgeinfra/node"
	"github.com/edgeinfra/edgeinfra/statesync"
)

// Config configures an agent. ID and HubURL are required.
type Config struct {
	// HubURL is the NATS URL of the hub (or of the NATS cluster the hub uses).
	HubURL string
	// ID is the node's ID: 1 to 64 letters, digits, '-' and '_'.
	ID string
	// Region groups nodes in reports. Empty is allowed.
	Region string
	// HeartbeatInterval is how often a heartbeat is sent. Zero means 5s.
	HeartbeatInterval time.Duration
	// PushInterval is how often pending state changes and metric deltas are
	// sent. Zero means 1s.
	PushInterval time.Duration
	// PushTimeout is how long a push waits for the hub's stream to
	// acknowledge a message before the round fails and is retried at the
	// next PushInterval. Zero means 5s.
	PushTimeout time.Duration
	// HTTPAddr is the local API's address. Empty means 127.0.0.1:0.
	HTTPAddr string
	// DataDir keeps state, versions, pending changes and the metric delta in
	// flight across restarts. Empty means memory only: a restart starts a
	// new state lineage.
	DataDir string
	// Strategy decides which desired states from the hub are applied.
	Strategy statesync.ConflictStrategy
	// MaxPending bounds the queue of unconfirmed state changes (coalesced
	// past it, never dropped). Zero means 1000.
	MaxPending int
	// CacheSize is the local cache's MaxSize. Zero means 10000.
	CacheSize int
	// Logger receives the agent's logs. Nil means slog.Default().
	Logger *slog.Logger
	// Creds is the agent's credentials file, as `edgeinfra hub creds
	// create` writes it (an nkey seed file). Empty means none, for a hub
	// that does not require credentials. The file is re-read at every
	// connection attempt.
	Creds string
	// TLS configures the connection to the hub's NATS: CA verifies the
	// server (system roots without it), Cert and Key are a client
	// certificate for a hub that requires one. The zero value is plain.
	TLS tlsconf.Files
	// APIToken, when set, is required as "Authorization: Bearer <token>"
	// by the local API's writes (every method but GET and HEAD).
	APIToken string
	// APIRate bounds the local API's writes per second; past it they get
	// 429 Too Many Requests with Retry-After. Zero means 5000; negative
	// means no limit.
	APIRate float64
	// APIBurst is how many writes may come at once. Zero means APIRate
	// (at least 1).
	APIBurst int
	// MaxFunctions bounds the distinct function IDs that POST
	// /v1/invocations accepts; invocations of new ones past it get 400.
	// Zero means 1000 (the hub's default --max-series-per-node); negative
	// means no limit. RecordInvocation, for Go callers, is not bounded.
	MaxFunctions int
	// HTTPTLS, with Cert and Key, serves the local API over HTTPS. The zero
	// value is plain HTTP, fine on the default loopback address.
	HTTPTLS tlsconf.Files
}

// agentHistory is how many sync events an agent keeps (statesync
// Options.HistorySize).
const agentHistory = 16

// Agent runs on an edge node: it serves the local cache, metrics and state
// API, and keeps the hub informed.
type Agent struct {
	cfg   Config
	log   *slog.Logger
	epoch uint64 // this run
	// stateAttempt goes into state changes' message IDs: it starts at the
	// run's epoch and moves on after every failed push (see pushState).
	stateAttempt atomic.Uint64
	lineage      uint64 // this node's state history

	cache *cache.Cache[string, []byte]
	agg   *metrics.Aggregator
	store *store // nil without DataDir

	stateMu sync.Mutex // serialises state changes with their persistence
	sync    *statesync.Synchronizer

	linkMu sync.Mutex // guards link
	link   *link      // nil while disconnected by Disconnect

	hbSeq    atomic.Uint64
	hbPaused atomic.Bool
	status   atomic.Value // node.Status
	// invMu orders recording invocations (read side, with their journal
	// write) against taking the aggregator's delta (write side).
	invMu     sync.RWMutex
	pushMu    sync.Mutex
	pushKick  chan struct{}  // a token asks the push loop to push now
	memSeq    uint64         // guarded by pushMu; the outbox without DataDir
	memOutbox []pendingDelta // guarded by pushMu
	unqueued  *takenDelta    // guarded by pushMu: a delta taken but not yet in the outbox

	httpLn    net.Listener
	httpSrv   *http.Server
	natsTLS   *tls.Config // nil without Config.TLS
	token     apiauth.Token
	limiter   *rate.Limiter // nil: no limit
	functions *functionQuota
	// rateLimited counts writes refused with 429.
	rateLimited atomic.Uint64
	httpTLS     *tls.Config // nil without Config.HTTPTLS

	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	closed atomic.Bool

	refusedOnce sync.Once
	refused     chan struct{} // closed when the hub refuses the credentials
	refusedErr  error         // set before refused is closed
}

// link is one NATS connection with its JetStream handle.
type link struct {
	nc *nats.Conn
	js jetstream.JetStream
}

// Start starts an agent. It does not wait for the hub: an agent serves its
// local API and queues changes while the hub is unreachable, and catches up
// when it connects.
func Start(ctx context.Context, cfg Config) (*Agent, error) {
	if err := wire.ValidNodeID(cfg.ID); err != nil {
		return nil, fmt.Errorf("agent: --id: %w", err)
	}
	if err := wire.ValidRegion(cfg.Region); err != nil {
		return nil, fmt.Errorf("agent: --region: %w", err)
	}
	if cfg.HubURL == "" {
		return nil, errors.New("agent: --hub is required (the hub's NATS URL, e.g. nats://127.0.0.1:4222)")
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 5 * time.Second
	}
	if cfg.PushInterval <= 0 {
		cfg.PushInterval = time.Second
	}
	if cfg.PushTimeout <= 0 {
		cfg.PushTimeout = 5 * time.Second
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 1000
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 10_000
	}
	if err := checkCreds(cfg.Creds, cfg.ID); err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, log: cfg.Logger, epoch: uint64(time.Now().UnixNano()), refused: make(chan struct{}), pushKick: make(chan struct{}, 1)}
	a.stateAttempt.Store(a.epoch)
	if a.log == nil {
		a.log = slog.Default()
	}
	a.log = a.log.With("node", cfg.ID)
	a.status.Store(node.Online)
	a.cache = cache.New[string, []byte](cache.Options{MaxSize: cfg.CacheSize})
	// No series bound here: the local API bounds functions (MaxFunctions)
	// with an error the caller sees, and an overflow series would name no
	// node, which the hub refuses.
	a.agg = metrics.NewWithOptions(metrics.Options{MaxSeries: -1})
	a.functions = newFunctionQuota(cfg.MaxFunctions)
	// The agent never reads the sync history, but every state change saves
	// the synchronizer with it: statesync's default of 1,000 events made
	// each save ~100 KB and each agent's memory grow for over an hour (seen
	// in the soak benchmark). A few events are kept for debugging.
	syncOpts := statesync.Options{NodeID: cfg.ID, Strategy: cfg.Strategy, MaxPending: cfg.MaxPending, HistorySize: agentHistory}

	ok := false
	defer func() {
		if !ok {
			a.shutdown()
		}
	}()
	if cfg.DataDir != "" {
		st, err := openStore(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		a.store = st
		if a.lineage, err = st.lineage(); err != nil {
			return nil, fmt.Errorf("agent: %w", err)
		}
		snap, found, err := st.loadSync()
		if err != nil {
			return nil, err
		}
		if found {
			if a.sync, err = statesync.Restore(syncOpts, snap); err != nil {
				return nil, fmt.Errorf("agent: restore state from %s: %w", cfg.DataDir, err)
			}
		}
		if err := a.replayJournal(); err != nil {
			return nil, err
		}
	} else {
		a.lineage = a.epoch
	}
	if a.sync == nil {
		a.sync = statesync.New(syncOpts)
	}
	if err := a.loadTLS(); err != nil {
		return nil, err
	}
	a.token, a.limiter = apiauth.New(cfg.APIToken), newLimiter(cfg)
	if err := a.startHTTP(); err != nil {
		return nil, err
	}
	a.warnOpenAPI()
	runCtx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	if err := a.Reconnect(); err != nil {
		return nil, err
	}
	a.wg.Go(func() { a.heartbeatLoop(runCtx) })
	a.wg.Go(func() { a.pushLoop(runCtx) })
	a.wg.Go(func() { a.desiredLoop(runCtx) })
	go func() {
		select {
		case <-ctx.Done():
			cancel()
		case <-runCtx.Done():
		}
	}()
	ok = true
	a.log.Info("agent started", "hub", cfg.HubURL, "http", a.HTTPAddr(), "data", cfg.DataDir, "version", a.sync.LocalVersion())
	return a, nil
}

// Reconnect (re)opens the NATS connection; it is what Start uses, and the
// simulator's way to end a partition. The connection retries forever.
func (a *Agent) Reconnect() error {
	a.linkMu.Lock()
	defer a.linkMu.Unlock()
	if a.closed.Load() {
		return errors.New("agent: closed")
	}
	if a.link != nil {
		return nil
	}
	opts := append(a.natsTLSOptions(),
		nats.Name("edgeinfra-agent-"+a.cfg.ID),
		// Replies come under a prefix of this node's own, which its
		// subscribe permission covers (wire.AgentPermissions).
		nats.CustomInboxPrefix(wire.InboxPrefix(a.cfg.ID)),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.ReconnectJitter(250*time.Millisecond, time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				a.log.Warn("lost the hub; working offline", "err", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			a.log.Info("reconnected to the hub")
			a.pushNow()
		}),
		nats.ClosedHandler(a.onClosed),
		nats.ErrorHandler(a.onAsyncError),
	)
	if a.cfg.Creds != "" {
		opt, err := nats.NkeyOptionFromSeed(a.cfg.Creds)
		if err != nil {
			return fmt.Errorf("agent: --creds %s: %w", a.cfg.Creds, err)
		}
		opts = append(opts, opt)
	}
	nc, err := nats.Connect(a.cfg.HubURL, opts...)
	if err != nil {
		return fmt.Errorf("agent: NATS %s: %w", a.cfg.HubURL, err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(2*stateWindow), jetstream.WithPublishAsyncTimeout(a.cfg.PushTimeout))
	if err != nil {
		nc.Close()
		return fmt.Errorf("agent: JetStream: %w", err)
	}
	a.link = &link{nc: nc, js: js}
	return nil
}

// Disconnect closes the NATS connection, as a network partition would;
// the agent keeps serving locally and queueing until Reconnect.
func (a *Agent) Disconnect() {
	a.linkMu.Lock()
	l := a.link
	a.link = nil
	a.linkMu.Unlock()
	if l != nil {
		l.nc.Close()
	}
}

func (a *Agent) currentLink() *link {
	a.linkMu.Lock()
	defer a.linkMu.Unlock()
	return a.link
}

// PauseHeartbeats stops (true) or resumes (false) heartbeats only, as a
// hung node would look to the hub.
func (a *Agent) PauseHeartbeats(paused bool) { a.hbPaused.Store(paused) }

// SetStatus sets the status the agent reports (Online by default).
func (a *Agent) SetStatus(s node.Status) { a.status.Store(s) }

// ID returns the node ID.
func (a *Agent) ID() string { return a.cfg.ID }

// UpdateState merges data into the local state and returns the new state
// once it is durable (with DataDir) and queued for the hub. A change that
// would make the state hold more than wire.MaxKeys keys or encode to more
// than 1 MiB is refused, and nothing changes.
func (a *Agent) UpdateState(data map[string]any) (statesync.State, error) {
	a.stateMu.Lock()
	defer a.stateMu.Unlock()
	if err := a.checkStateFits(data); err != nil {
		return statesync.State{}, err
	}
	st := a.sync.UpdateLocal(data)
	if err := a.persistLocked(); err != nil {
		return statesync.State{}, fmt.Errorf("agent: state changed in memory but not saved: %w", err)
	}
	return st, nil
}

// State returns the local state.
func (a *Agent) State() statesync.State { return a.sync.State() }

// Sync returns the agent's synchronizer summary.
func (a *Agent) Sync() statesync.Summary { return a.sync.Summary() }

// Metrics returns the local aggregator (read it; the agent ships its
// deltas).
func (a *Agent) Metrics() *metrics.Aggregator { return a.agg }

// HTTPAddr returns the local API's address.
func (a *Agent) HTTPAddr() string {
	if a.httpLn == nil {
		return ""
	}
	return a.httpLn.Addr().String()
}

// Close stops the agent: in-flight HTTP requests finish, a last push is
// tried, and the connection and store are closed.
func (a *Agent) Close() error {
	a.shutdown()
	return nil
}

func (a *Agent) shutdown() {
	a.once.Do(func() {
		if a.httpSrv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = a.httpSrv.Shutdown(ctx)
			cancel()
		}
		if a.cancel != nil {
			a.cancel()
		}
		a.wg.Wait()
		if a.cancel != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = a.Flush(ctx) // best effort: what is not sent stays queued (and stored)
			cancel()
		}
		a.linkMu.Lock()
		a.closed.Store(true)
		a.linkMu.Unlock()
		a.Disconnect()
		if a.store != nil {
			_ = a.store.close()
		}
	})
}
