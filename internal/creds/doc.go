// Package creds keeps the agent credentials an edgeinfra hub issues: NATS
// nkeys, one per agent. The agent's file holds its own seed (the secret);
// the hub's data directory keeps only the public keys, in
// credentials.json, which the hub re-reads while it runs so that created
// and revoked agents take effect without a restart.
//
// # Files
//
// [Create] writes the agent's file in the standard decorated nkey seed
// format that nats.go's NkeyOptionFromSeed reads, with comment lines naming
// the node (checked by the agent against its --id):
//
//	# edgeinfra agent credentials
//	# node: edge-17
//	# public key: UB…
//	-----BEGIN USER NKEY SEED-----
//	SU…
//	------END USER NKEY SEED------
//
// The store file is JSON, {"v":1,"agents":[{"id","public_key","created",
// "revoked"}]}; a revoked record stays, so that [Load] shows the history
// and a key once revoked is never accepted again. Both files are written
// with mode 0600, the store by a write to a temporary file and a rename so
// that a running hub never reads half a file. A lock file
// (credentials.json.lock) serialises concurrent changes.
//
// # Concurrency
//
// The functions are safe to call from several processes at once: changes
// take the lock file, reads see the last complete file.
package creds
