package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/edgeinfra/edgeinfra/metrics"
)

// maxBatch is the most invocations one POST /v1/invocations may carry.
const maxBatch = 10_000

// RecordInvocations records function invocations on this node and returns
// once they are durable: with [Config.DataDir] they are in the store's
// journal, synced to disk, so that a crash before the next push neither
// loses them nor counts them twice; without it, in memory only.
// Concurrent callers share one disk sync. On error nothing was recorded,
// and the caller may retry.
func (a *Agent) RecordInvocations(invs ...metrics.Invocation) error {
	for i := range invs {
		invs[i].NodeID = a.cfg.ID
	}
	// Read side: many callers journal and record at once; fillOutbox takes
	// the write side so that the delta it takes holds exactly the journal
	// records it removes.
	a.invMu.RLock()
	defer a.invMu.RUnlock()
	if a.store != nil && len(invs) > 0 {
		rec, err := json.Marshal(toJournal(invs))
		if err != nil {
			return fmt.Errorf("agent: encode invocations: %w", err)
		}
		if _, err := a.store.s.AppendJournal(rec); err != nil {
			return fmt.Errorf("agent: invocations not stored: %w", err)
		}
	}
	for _, inv := range invs {
		a.agg.Record(inv)
	}
	return nil
}

// RecordInvocation records one function invocation on this node, like
// [Agent.RecordInvocations]. If the store fails, the invocation is counted
// in memory only and the failure is logged.
func (a *Agent) RecordInvocation(inv metrics.Invocation) {
	if err := a.RecordInvocations(inv); err != nil {
		a.log.Error("invocation kept in memory only", "err", err)
		inv.NodeID = a.cfg.ID
		a.agg.Record(inv)
	}
}

// journalInvocation is one invocation in a journal record (a JSON array):
// the function, the duration in nanoseconds, success and error kind.
type journalInvocation struct {
	F string `json:"f"`
	D int64  `json:"d"`
	S bool   `json:"s"`
	E string `json:"e,omitempty"`
}

func toJournal(invs []metrics.Invocation) []journalInvocation {
	out := make([]journalInvocation, len(invs))
	for i, inv := range invs {
		out[i] = journalInvocation{F: inv.FunctionID, D: int64(inv.Duration), S: inv.Success, E: inv.Error}
	}
	return out
}

// replayJournal records the journal's invocations, acknowledged before a
// crash but not yet in a delta, into the aggregator.
func (a *Agent) replayJournal() error {
	recs, err := a.store.s.Journal()
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	n := 0
	for _, r := range recs {
		var invs []journalInvocation
		if err := json.Unmarshal(r.Data, &invs); err != nil {
			return fmt.Errorf("agent: journal record %d in %s does not decode (%v); the file is damaged", r.Seq, a.store.s.Path(), err)
		}
		for _, j := range invs {
			a.functions.admit(j.F) // they were admitted before the crash
			a.agg.Record(metrics.Invocation{FunctionID: j.F, NodeID: a.cfg.ID, Duration: time.Duration(j.D), Success: j.S, Error: j.E})
		}
		n += len(invs)
	}
	if n > 0 {
		a.log.Info("replayed acknowledged invocations from the journal", "invocations", n, "records", len(recs))
	}
	return nil
}

// DecodeInvocations decodes and validates a POST /v1/invocations body: one
// invocation object, or a JSON array of 1 to 10000 of them.
func DecodeInvocations(b []byte) ([]metrics.Invocation, error) {
	t := bytes.TrimLeft(b, " \t\r\n")
	if len(t) == 0 || t[0] != '[' {
		inv, err := DecodeInvocation(b)
		if err != nil {
			return nil, err
		}
		return []metrics.Invocation{inv}, nil
	}
	var raw []json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(t))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("agent: invalid JSON array: %v", err)
	}
	if dec.More() {
		return nil, errors.New("agent: invalid JSON: data after the array")
	}
	switch {
	case len(raw) == 0:
		return nil, errors.New("agent: empty array: send at least one invocation")
	case len(raw) > maxBatch:
		return nil, fmt.Errorf("agent: %d invocations in one request; send at most %d", len(raw), maxBatch)
	}
	out := make([]metrics.Invocation, len(raw))
	for i, r := range raw {
		inv, err := DecodeInvocation(r)
		if err != nil {
			return nil, fmt.Errorf("agent: invocation %d: %s", i, strings.TrimPrefix(err.Error(), "agent: "))
		}
		out[i] = inv
	}
	return out, nil
}
