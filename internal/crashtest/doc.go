// Package crashtest kills real edgeinfra processes with SIGKILL and checks
// that nothing an agent acknowledged is lost or counted twice.
//
// The test builds the edgeinfra binary once (a normal build, without the
// race detector, whatever the test binary uses), starts a hub with --data
// and several agents with --data as separate processes, and drives
// concurrent PUT /v1/state and POST /v1/invocations (single and batched)
// through the agents' local APIs. In every round it sends SIGKILL at a
// random moment to a random agent, to the hub, or to both, restarts what
// it killed on the same data directory and the same ports (learned from
// the "started" log line of its first run), and carries on.
//
// At the end, with every process up and the pushes drained, it asserts for
// every node:
//
//   - the hub's state (GET /api/v1/nodes/{id}/state) equals the agent's,
//     version included;
//   - every acknowledged update's keys hold their acknowledged value,
//     unless a later acknowledged update, or a later one whose answer a
//     kill cut off, overwrote them;
//   - acknowledged versions are unique and the final version is at least
//     the number of acknowledged updates and at most that plus the updates
//     cut off by a kill (versions neither reused nor skipped);
//   - the hub's invocation total (GET /api/v1/metrics?node=) is at least
//     the number of acknowledged invocations and at most that plus those in
//     requests a kill cut off, which are counted separately; a refused
//     connection counts as not sent;
//   - after one more SIGKILL and restart of the hub, loading its newest
//     checkpoint and replaying the stream after it gives the same totals
//     and states. The hub checkpoints every 300 ms or 500 messages here, so
//     every kill lands between checkpoints.
//
// Every restart must come up on its own: a process that does not log its
// "started" line within 30 seconds fails the test.
//
// The default run (3 agents, 10 rounds) takes well under a minute.
// EDGEINFRA_CRASH_ROUNDS=N runs N rounds and EDGEINFRA_CRASH_AGENTS=N
// starts N agents, for long runs:
//
//	EDGEINFRA_CRASH_ROUNDS=200 go test -v -run Crash ./internal/crashtest/
//
// It is skipped with -short.
package crashtest
