// Package natsauth gives each edgeinfra agent its own NATS identity and
// confines it to its own subjects.
//
// # Credentials
//
// An agent's credential is a NATS user nkey (an ed25519 key pair). The hub
// records only the public key, in the credentials store StorePath(dir)
// (JSON, mode 0600); the agent keeps the seed in a credentials file
// (mode 0600) in the standard decorated nkey seed format, which
// nats.NkeyOptionFromSeed reads as it is. At connect the server sends a
// nonce, the client signs it with its seed, and [Authenticator] checks the
// signature against the stored public key: no secret crosses the network
// or sits on the hub.
//
// [Create], [Revoke] and [Load] change and read the store; they serialise
// writers with a lock file, and replace the store atomically so a running
// hub never reads half a file. A running hub's [Authenticator] notices the
// change within its poll interval (and at once for the next connection),
// and closes the live connections of revoked agents.
//
// # Permissions
//
// [Permissions] is what the NATS server lets one agent do (the subjects
// are listed in package wire): publish its own heartbeat, state and
// metrics subjects and the few JetStream API subjects that watch or read
// its own desired-state key, and subscribe only to its own inbox prefix
// [InboxPrefix]. Everything else, another node's subjects included, is
// refused by the server with a permissions violation.
package natsauth
