package agent

import (
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/edgeinfra/edgeinfra/internal/natsauth"
)

// NATS credentials (Config.Creds): the agent signs the hub's nonce with the
// nkey seed of its credentials file, and takes its reply subjects under
// its own inbox prefix, the only one the hub lets it subscribe to. When
// the hub refuses the credentials (unknown, revoked, or issued to another
// node), nats.go gives up after the second refusal; the agent then logs
// the reason once, drops the link and reports it on Refused instead of
// retrying in silence.

// loadCreds reads Config.Creds, so that a bad file fails Start.
func (a *Agent) loadCreds() error {
	a.refused = make(chan struct{})
	if a.cfg.Creds == "" {
		return nil
	}
	c, err := natsauth.ReadCreds(a.cfg.Creds, a.cfg.ID)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	a.creds = c
	return nil
}

// natsAuthOptions returns the connect options for the agent's identity.
func (a *Agent) natsAuthOptions() []nats.Option {
	opts := []nats.Option{
		nats.CustomInboxPrefix(natsauth.InboxPrefix(a.cfg.ID)),
		nats.ClosedHandler(a.onClosed),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if isAuthError(err) {
				a.log.Debug("NATS", "err", err) // onClosed says it once, clearly
				return
			}
			// A permissions violation here means the hub's permissions and
			// this agent disagree: worth an operator's look.
			a.log.Warn("NATS", "err", err)
		}),
	}
	if a.creds != nil {
		opts = append(opts, nats.Nkey(a.creds.PublicKey, a.creds.Sign))
	}
	return opts
}

// onClosed notices a connection that nats.go closed because the hub
// refused the agent's credentials.
func (a *Agent) onClosed(nc *nats.Conn) {
	err := nc.LastError()
	if !isAuthError(err) {
		return
	}
	a.linkMu.Lock()
	if a.link != nil && a.link.nc == nc {
		a.link = nil // a later Reconnect may try again, with a new credential
	}
	a.linkMu.Unlock()
	a.refuse(err)
}

func (a *Agent) refuse(err error) {
	a.refusedOnce.Do(func() {
		how := "connect without --creds: this hub requires credentials; issue them with 'edgeinfra hub creds create --id " + a.cfg.ID + "'"
		if a.creds != nil {
			how = fmt.Sprintf("the key %s of --creds %s is unknown to the hub or was revoked (see 'edgeinfra hub creds list' on the hub)", a.creds.PublicKey, a.cfg.Creds)
		}
		a.refusedErr = fmt.Errorf("agent: the hub refused this agent (%v): %s", err, how)
		a.log.Error("the hub refused this agent's NATS credentials; not retrying", "err", a.refusedErr)
		close(a.refused)
	})
}

func isAuthError(err error) bool {
	return errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) ||
		errors.Is(err, nats.ErrAuthRevoked) || errors.Is(err, nats.ErrAccountAuthExpired)
}

// Refused is closed when the hub refuses the agent's credentials; Err
// then says why and what to do. The agent keeps serving its local API and
// queueing changes, but no longer tries to connect.
func (a *Agent) Refused() <-chan struct{} { return a.refused }

// Err returns why the hub refused the agent, nil until Refused is closed.
func (a *Agent) Err() error {
	select {
	case <-a.refused:
		return a.refusedErr
	default:
		return nil
	}
}
