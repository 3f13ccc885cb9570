package agent

import (
	"errors"
	"fmt"
	"os"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/edgeinfra/edgeinfra/internal/creds"
)

// checkCreds checks at start that the credentials file, if any, holds an
// nkey user seed and, when it names its node, that the node is id: a
// mix-up would otherwise only show as refused publishes.
func checkCreds(path, id string) error {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("agent: --creds: %w", err)
	}
	node := creds.NodeOf(b)
	kp, err := nkeys.ParseDecoratedUserNKey(b)
	clear(b)
	if err != nil {
		return fmt.Errorf("agent: --creds %s: not an nkey user seed file (%v); issue one with 'edgeinfra hub creds create --id %s'", path, err, id)
	}
	kp.Wipe()
	if node != "" && node != id {
		return fmt.Errorf("agent: --creds %s was issued for node %q, not for --id %q", path, node, id)
	}
	return nil
}

// isAuthErr reports whether err is the server refusing the credentials.
func isAuthErr(err error) bool {
	return errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthRevoked) || errors.Is(err, nats.ErrAuthExpired)
}

// onClosed runs when a connection is closed for good. nats.go gives up
// reconnecting once the server refused the credentials twice in a row
// (after a revocation, say); retrying further would be a silent loop, so
// the agent reports it through Refused.
func (a *Agent) onClosed(nc *nats.Conn) {
	err := nc.LastError()
	if !isAuthErr(err) {
		return
	}
	a.refusedOnce.Do(func() {
		how := "without credentials (it requires them: --creds)"
		if a.cfg.Creds != "" {
			how = "with --creds " + a.cfg.Creds + " (revoked, or issued by another hub?)"
		}
		a.refusedErr = fmt.Errorf("agent: the hub at %s refused this agent %s: %w", a.cfg.HubURL, how, err)
		a.log.Error("hub refused the credentials; not retrying", "err", a.refusedErr)
		close(a.refused)
	})
}

// onAsyncError logs what the server reports outside of a request, above
// all a refused publish or subscription: it means this agent's permissions
// (wire.AgentPermissions) and what it does disagree.
func (a *Agent) onAsyncError(_ *nats.Conn, sub *nats.Subscription, err error) {
	if errors.Is(err, nats.ErrPermissionViolation) {
		a.log.Error("the hub refused an operation of this agent", "err", err)
		return
	}
	if isAuthErr(err) {
		a.log.Warn("the hub refused this agent's credentials", "err", err)
		return
	}
	if sub != nil {
		a.log.Warn("NATS subscription error", "subject", sub.Subject, "err", err)
		return
	}
	a.log.Warn("NATS error", "err", err)
}

// Refused is closed when the hub has refused the agent's credentials and
// the agent stopped trying to connect; [Agent.Err] then says why. The
// agent keeps serving its local API; `edgeinfra agent` exits.
func (a *Agent) Refused() <-chan struct{} { return a.refused }

// Err returns why the hub refused the agent, or nil while it has not.
func (a *Agent) Err() error {
	select {
	case <-a.refused:
		return a.refusedErr
	default:
		return nil
	}
}
