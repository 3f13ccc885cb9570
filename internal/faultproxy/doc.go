// Package faultproxy provides a TCP proxy that sits between NATS clients
// and a NATS server on loopback and injects network faults, for testing
// how edgeinfra's agent and hub behave on a bad link.
//
// # Faults
//
// [Proxy.Cut] breaks the link in one of two ways until [Proxy.Restore]:
// [Refuse] closes every connection and every new one (the client notices
// at once and reconnects), [Blackhole] keeps connections open but forwards
// nothing (the client notices only through its own timeouts; what stalled
// is delivered after Restore, as TCP would).
//
// [Proxy.SetFaults] sets per-message faults. The proxy parses the NATS
// client protocol in the client-to-server direction, so it can drop,
// duplicate and reorder whole PUB and HPUB messages (control line, payload
// and CRLF) by probability, with a seeded random source so a failing run
// can be repeated, on subjects that start with a prefix; every other
// operation (CONNECT, SUB, PING, ...) passes unchanged. Delay holds
// everything, both ways, for a while, keeping order. The server's side is
// forwarded byte for byte.
//
//	p, err := faultproxy.New("127.0.0.1:4222", 1) // the NATS server; seed 1
//	if err != nil { ... }
//	defer p.Close()
//	agentURL := p.URL() // give the client this instead of the server
//	p.SetFaults(faultproxy.Faults{Drop: 0.05, Duplicate: 0.05, Reorder: 0.05, SubjectPrefix: "edgeinfra.state."})
//	p.Cut(faultproxy.Refuse)
//	p.Restore()
//
// TLS must be off between client and server: the proxy reads the protocol.
// Bytes that are not the NATS client protocol (a parse error, counted in
// [Stats]) are forwarded unchanged for the rest of that connection.
//
// # Concurrency
//
// All methods of a [Proxy] are safe for concurrent use. [Proxy.Close]
// closes every connection and waits for every goroutine the proxy started.
package faultproxy
