// Package faultproxy is a fault-injecting TCP proxy for the NATS client
// protocol, used to test how agents and the hub behave on a bad network.
//
// It sits between a NATS client (an agent) and a server (the hub), and
// can cut the link (connections reset, new ones refused), blackhole it
// (connections stay open, nothing gets through either way, as in a
// partition), delay traffic, and — parsing the client→server stream into
// protocol frames — drop, duplicate and reorder published messages
// (PUB and HPUB frames) whose subject has a given prefix, at random with
// a seeded generator:
//
//	p, _ := faultproxy.Start("", hubNATSAddr, 1)
//	defer p.Close()
//	p.SetFaults(faultproxy.Faults{Subject: "edgeinfra.", Drop: 0.05, Duplicate: 0.05, Reorder: 0.05})
//	agent := startAgent(p.URL())
//	p.SetMode(faultproxy.Blackhole) // a partition
//	p.SetMode(faultproxy.Up)        // it heals
//
// Every other frame (CONNECT, SUB, PING, ...) passes through in order, so
// the NATS session stays valid; a dropped PUB is simply never seen by the
// server, as if it had been lost. TLS streams cannot be parsed, so use the
// message faults on plain connections only (Cut, Blackhole and Delay work
// on any TCP stream).
package faultproxy
