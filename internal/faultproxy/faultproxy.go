package faultproxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Faults are what the proxy does to client→server messages. The zero
// value passes everything through unchanged.
type Faults struct {
	// Subject limits Drop, Duplicate and Reorder to PUB and HPUB frames
	// whose subject starts with this prefix; empty means every published
	// message. Protocol frames other than PUB and HPUB (CONNECT, SUB,
	// PING, ...) are always passed through in order, so the connection
	// stays valid.
	Subject string
	// Drop, Duplicate and Reorder are probabilities in [0, 1], drawn per
	// message in that order (a dropped message is neither duplicated nor
	// reordered). Reorder holds a message back and sends it after the
	// next message of the same connection, or after ReorderHold if none
	// comes.
	Drop, Duplicate, Reorder float64
	// ReorderHold bounds how long a held-back message waits. Zero means
	// 20ms.
	ReorderHold time.Duration
	// Delay is added before each chunk of bytes is forwarded, in both
	// directions.
	Delay time.Duration
}

// Mode is the state of the link.
type Mode int32

const (
	// Up forwards traffic (with the Faults).
	Up Mode = iota
	// Cut closes every connection and refuses new ones at once: the peer
	// sees a connection reset, as when a router reboots.
	Cut
	// Blackhole accepts connections and holds every byte in both
	// directions until the link is Up again: the peer sees silence, as
	// in a network partition, and has to time out by itself.
	Blackhole
)

func (m Mode) String() string {
	switch m {
	case Up:
		return "up"
	case Cut:
		return "cut"
	case Blackhole:
		return "blackhole"
	}
	return fmt.Sprintf("Mode(%d)", int32(m))
}

// Stats counts what the proxy did.
type Stats struct {
	Connections int64 // accepted and connected upstream
	Refused     int64 // accepted and closed at once while Cut
	Forwarded   int64 // client→server messages (PUB/HPUB) forwarded, duplicates included
	Dropped     int64
	Duplicated  int64
	Reordered   int64
}

// Proxy is a TCP proxy from a loopback listener to one upstream address.
// All methods are safe for concurrent use.
type Proxy struct {
	target string
	ln     net.Listener

	mu     sync.Mutex
	faults Faults
	rng    *rand.Rand
	mode   Mode
	gate   chan struct{} // closed while the link is Up; replaced when it goes down
	conns  map[*pair]struct{}
	closed bool

	stats struct {
		connections, refused, forwarded, dropped, duplicated, reordered atomic.Int64
	}
	wg sync.WaitGroup
}

// pair is one proxied connection.
type pair struct {
	client, server net.Conn
	once           sync.Once
}

func (c *pair) close() {
	c.once.Do(func() {
		c.client.Close()
		c.server.Close()
	})
}

// Start listens on listen (empty means 127.0.0.1:0) and forwards every
// accepted connection to target. seed makes the random faults repeatable.
func Start(listen, target string, seed uint64) (*Proxy, error) {
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen on %s: %w", listen, err)
	}
	gate := make(chan struct{})
	close(gate)
	p := &Proxy{
		target: target, ln: ln, gate: gate,
		rng:   rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		conns: map[*pair]struct{}{},
	}
	p.wg.Go(p.accept)
	return p, nil
}

// Addr is the proxy's listen address.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL is the proxy's address as a NATS URL.
func (p *Proxy) URL() string { return "nats://" + p.Addr() }

// SetFaults replaces the faults applied from now on.
func (p *Proxy) SetFaults(f Faults) {
	p.mu.Lock()
	p.faults = f
	p.mu.Unlock()
}

// Mode returns the link's state.
func (p *Proxy) Mode() Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// SetMode changes the link's state. Going to Cut closes every current
// connection; going to Blackhole holds their traffic; going back to Up
// releases held traffic and accepts connections normally.
func (p *Proxy) SetMode(m Mode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if m == p.mode {
		return
	}
	if p.mode == Up {
		p.gate = make(chan struct{})
	}
	p.mode = m
	switch m {
	case Up:
		close(p.gate)
	case Cut:
		for c := range p.conns {
			c.close()
		}
	}
}

// Stats returns the counters.
func (p *Proxy) Stats() Stats {
	return Stats{
		Connections: p.stats.connections.Load(),
		Refused:     p.stats.refused.Load(),
		Forwarded:   p.stats.forwarded.Load(),
		Dropped:     p.stats.dropped.Load(),
		Duplicated:  p.stats.duplicated.Load(),
		Reordered:   p.stats.reordered.Load(),
	}
}

// Close stops listening, closes every connection and waits for the
// proxy's goroutines.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	if p.mode != Up {
		p.mode = Up
		close(p.gate)
	}
	for c := range p.conns {
		c.close()
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse := p.closed || p.mode == Cut
		p.mu.Unlock()
		if refuse {
			p.stats.refused.Add(1)
			client.Close()
			continue
		}
		server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			client.Close()
			continue
		}
		c := &pair{client: client, server: server}
		p.mu.Lock()
		if p.closed || p.mode == Cut {
			p.mu.Unlock()
			p.stats.refused.Add(1)
			c.close()
			continue
		}
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		p.stats.connections.Add(1)
		var done sync.WaitGroup
		done.Add(2)
		p.wg.Go(func() { defer done.Done(); p.clientToServer(c) })
		p.wg.Go(func() { defer done.Done(); p.serverToClient(c) })
		p.wg.Go(func() {
			done.Wait()
			p.mu.Lock()
			delete(p.conns, c)
			p.mu.Unlock()
		})
	}
}

// wait blocks while the link is not Up and applies Delay. It returns
// false when the connection should end.
func (p *Proxy) wait(c *pair) bool {
	p.mu.Lock()
	gate, delay := p.gate, p.faults.Delay
	p.mu.Unlock()
	<-gate
	if delay > 0 {
		time.Sleep(delay)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_, live := p.conns[c]
	return live && !p.closed
}

func (p *Proxy) serverToClient(c *pair) {
	defer c.close()
	buf := make([]byte, 32<<10)
	for {
		n, err := c.server.Read(buf)
		if n > 0 {
			if !p.wait(c) {
				return
			}
			if _, werr := c.client.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// clientToServer forwards the client's protocol frame by frame, applying
// the faults to PUB and HPUB frames.
func (p *Proxy) clientToServer(c *pair) {
	defer c.close()
	br := bufio.NewReaderSize(c.client, 64<<10)
	r := NewReader(br)
	// Frames are written through a buffer that is flushed whenever the
	// client has nothing more buffered: one write per burst, not per frame.
	bw := bufio.NewWriterSize(c.server, 64<<10)
	type held struct {
		frame []byte
		timer *time.Timer
	}
	var (
		wmu  sync.Mutex // serialises writes: a held frame may be released by its timer
		hold *held
	)
	write := func(b []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		if _, err := bw.Write(b); err != nil {
			return err
		}
		if br.Buffered() == 0 {
			return bw.Flush()
		}
		return nil
	}
	// release sends the held frame, if any; whoever takes it from hold
	// (this or its timer) sends it, so it goes exactly once.
	release := func() error {
		wmu.Lock()
		defer wmu.Unlock()
		h := hold
		if h == nil {
			return nil
		}
		hold = nil
		h.timer.Stop()
		p.stats.forwarded.Add(1)
		if _, err := bw.Write(h.frame); err != nil {
			return err
		}
		return bw.Flush()
	}
	for {
		f, err := r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				_ = release()
			}
			return
		}
		if !p.wait(c) {
			return
		}
		if !f.IsPub() || !p.matches(f.Subject) {
			if err := write(f.Raw); err != nil {
				return
			}
			continue
		}
		drop, dup, reorder, holdFor := p.draw()
		switch {
		case drop:
			p.stats.dropped.Add(1)
			if err := write(nil); err != nil {
				return
			}
			continue
		case reorder:
			if err := release(); err != nil {
				return
			}
			p.stats.reordered.Add(1)
			frame := append([]byte(nil), f.Raw...)
			h := &held{frame: frame}
			wmu.Lock()
			hold = h
			h.timer = time.AfterFunc(holdFor, func() {
				wmu.Lock()
				defer wmu.Unlock()
				if hold == h {
					hold = nil
					p.stats.forwarded.Add(1)
					if _, err := bw.Write(h.frame); err == nil {
						_ = bw.Flush()
					}
				}
			})
			wmu.Unlock()
			if err := write(nil); err != nil { // flush what came before it
				return
			}
			continue
		}
		n := 1
		if dup {
			n = 2
			p.stats.duplicated.Add(1)
		}
		for range n {
			p.stats.forwarded.Add(1)
			if err := write(f.Raw); err != nil {
				return
			}
		}
		if err := release(); err != nil {
			return
		}
	}
}

func (p *Proxy) matches(subject string) bool {
	p.mu.Lock()
	prefix := p.faults.Subject
	p.mu.Unlock()
	return strings.HasPrefix(subject, prefix)
}

func (p *Proxy) draw() (drop, dup, reorder bool, hold time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.faults
	hold = f.ReorderHold
	if hold <= 0 {
		hold = 20 * time.Millisecond
	}
	if f.Drop > 0 && p.rng.Float64() < f.Drop {
		return true, false, false, hold
	}
	dup = f.Duplicate > 0 && p.rng.Float64() < f.Duplicate
	reorder = !dup && f.Reorder > 0 && p.rng.Float64() < f.Reorder
	return false, dup, reorder, hold
}
