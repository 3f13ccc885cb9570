package faultproxy

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Faults are the faults a [Proxy] injects into the traffic it forwards.
// The zero value injects none.
type Faults struct {
	// Drop, Duplicate and Reorder are the probabilities, each in [0, 1]
	// and together at most 1, that a client's PUB or HPUB frame on a
	// subject starting with SubjectPrefix is dropped, sent twice, or held
	// back and sent after the client's next PUB or HPUB frame (or after
	// ReorderWait). Other operations pass a held frame.
	Drop, Duplicate, Reorder float64
	// SubjectPrefix limits the frame faults to subjects that start with
	// it. Empty means every subject.
	SubjectPrefix string
	// ReorderWait is how long a frame held back for reordering waits for
	// a next frame to overtake it. Zero means 20ms.
	ReorderWait time.Duration
	// Delay is added to everything forwarded, both ways; order is kept.
	Delay time.Duration
}

func (f Faults) check() error {
	for _, p := range []float64{f.Drop, f.Duplicate, f.Reorder} {
		if p < 0 || p > 1 || p != p {
			return fmt.Errorf("faultproxy: probability %v is outside [0, 1]", p)
		}
	}
	if f.Drop+f.Duplicate+f.Reorder > 1 {
		return fmt.Errorf("faultproxy: drop %v + duplicate %v + reorder %v is over 1", f.Drop, f.Duplicate, f.Reorder)
	}
	if f.Delay < 0 || f.ReorderWait < 0 {
		return errors.New("faultproxy: negative delay")
	}
	return nil
}

// Cut is how [Proxy.Cut] breaks the link.
type Cut int

const (
	// Refuse closes every connection and closes new ones as soon as they
	// are accepted: the client sees the hub go away and reconnects.
	Refuse Cut = iota + 1
	// Blackhole keeps connections open and accepts new ones, but forwards
	// nothing either way until [Proxy.Restore]: the client's writes stall
	// in TCP buffers and its requests time out, as behind a dead router.
	// What was stalled is delivered after Restore.
	Blackhole
)

// Stats counts what a [Proxy] did.
type Stats struct {
	Conns      uint64 // connections accepted
	Refused    uint64 // connections closed at once by a Refuse cut
	Frames     uint64 // client PUB/HPUB frames on matching subjects
	Dropped    uint64
	Duplicated uint64
	Reordered  uint64
	// ParseErrors counts connections on which the client's bytes were not
	// the NATS protocol; the rest of such a connection is forwarded as is.
	ParseErrors uint64
}

// Proxy forwards TCP connections from a loopback port to a NATS server and
// injects faults. All methods are safe for concurrent use.
type Proxy struct {
	target string
	ln     net.Listener

	mu     sync.Mutex // guards everything below
	faults Faults
	rng    *rand.Rand
	cut    Cut
	gate   chan struct{} // non-nil while blackholed; closed by Restore
	conns  map[net.Conn]struct{}
	closed bool

	stats struct{ conns, refused, frames, dropped, duplicated, reordered, parseErrors atomic.Uint64 }
	wg    sync.WaitGroup
}

// New starts a proxy on a random loopback port that forwards to target, a
// NATS server's host:port, with no faults. seed makes the random faults
// repeatable.
func New(target string, seed uint64) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p := &Proxy{target: target, ln: ln, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.acceptLoop)
	return p, nil
}

// Addr returns the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL returns the proxy's address as a NATS URL.
func (p *Proxy) URL() string { return "nats://" + p.Addr() }

// SetFaults replaces the faults injected from now on. It returns an error,
// and changes nothing, when f is invalid.
func (p *Proxy) SetFaults(f Faults) error {
	if err := f.check(); err != nil {
		return err
	}
	if f.ReorderWait == 0 {
		f.ReorderWait = 20 * time.Millisecond
	}
	p.mu.Lock()
	p.faults = f
	p.mu.Unlock()
	return nil
}

// Cut breaks the link as mode says, until Restore.
func (p *Proxy) Cut(mode Cut) {
	p.mu.Lock()
	p.cut = mode
	var doomed []net.Conn
	switch mode {
	case Refuse:
		for c := range p.conns {
			doomed = append(doomed, c)
		}
	case Blackhole:
		if p.gate == nil {
			p.gate = make(chan struct{})
		}
	}
	p.mu.Unlock()
	for _, c := range doomed {
		_ = c.Close()
	}
}

// Restore ends a cut: connections are accepted and forwarded again, and
// what a blackhole stalled flows.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = 0
	if p.gate != nil {
		close(p.gate)
		p.gate = nil
	}
}

// Stats returns the counters.
func (p *Proxy) Stats() Stats {
	return Stats{
		Conns: p.stats.conns.Load(), Refused: p.stats.refused.Load(), Frames: p.stats.frames.Load(),
		Dropped: p.stats.dropped.Load(), Duplicated: p.stats.duplicated.Load(), Reordered: p.stats.reordered.Load(),
		ParseErrors: p.stats.parseErrors.Load(),
	}
}

// Close stops the proxy, closes every connection and waits for its
// goroutines.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	if p.gate != nil {
		close(p.gate)
		p.gate = nil
	}
	conns := make([]net.Conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	err := p.ln.Close()
	for _, c := range conns {
		_ = c.Close()
	}
	p.wg.Wait()
	return err
}

func (p *Proxy) acceptLoop() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.stats.conns.Add(1)
		p.mu.Lock()
		refuse := p.cut == Refuse || p.closed
		if !refuse {
			p.conns[c] = struct{}{}
		}
		p.mu.Unlock()
		if refuse {
			p.stats.refused.Add(1)
			_ = c.Close()
			continue
		}
		p.wg.Go(func() { p.serve(c) })
	}
}

// serve forwards one client connection until either side closes it.
func (p *Proxy) serve(client net.Conn) {
	defer p.forget(client)
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		_ = client.Close()
		return
	}
	if !p.track(server) {
		_ = client.Close()
		_ = server.Close()
		return
	}
	defer p.forget(server)
	closeBoth := func() {
		_ = client.Close()
		_ = server.Close()
	}
	up := p.newWriter(server, closeBoth)
	down := p.newWriter(client, closeBoth)
	p.wg.Go(func() { down.run() })
	p.wg.Go(func() { up.run() })
	p.wg.Go(func() {
		defer down.close()
		p.copyRaw(server, down)
	})
	defer up.close()
	p.copyFrames(client, up)
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.cut == Refuse {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) forget(c net.Conn) {
	_ = c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// blackhole returns the channel to wait on while the link is blackholed,
// or nil.
func (p *Proxy) blackhole() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gate
}

// copyRaw forwards src to w unchanged (the server's side).
func (p *Proxy) copyRaw(src net.Conn, w *writer) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			w.send(append([]byte(nil), buf[:n]...))
		}
		if err != nil {
			return
		}
	}
}

// copyFrames forwards the client's bytes to w frame by frame, injecting
// the frame faults.
func (p *Proxy) copyFrames(src net.Conn, w *writer) {
	var (
		buf     []byte
		held    []byte // a frame held back for reordering
		raw     bool   // the client spoke something else: forward as is
		chunk   = make([]byte, 32<<10)
		release = func() {
			if held != nil {
				w.send(held)
				held = nil
			}
		}
	)
	defer release()
	for {
		if held != nil {
			_ = src.SetReadDeadline(time.Now().Add(p.reorderWait()))
		} else {
			_ = src.SetReadDeadline(time.Time{})
		}
		n, err := src.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if raw {
			if len(buf) > 0 {
				w.send(buf)
				buf = nil
			}
		}
		for !raw && len(buf) > 0 {
			f, size, perr := nextFrame(buf)
			if perr != nil {
				p.stats.parseErrors.Add(1)
				raw = true
				release()
				w.send(buf)
				buf = nil
				break
			}
			if size == 0 {
				break
			}
			out := append([]byte(nil), f.raw...)
			buf = buf[size:]
			if !f.pub {
				w.send(out)
				continue
			}
			switch p.decide(f.subject) {
			case pass:
				w.send(out)
				release()
			case drop:
			case duplicate:
				w.send(out)
				w.send(out)
				release()
			case reorder:
				if held != nil {
					w.send(out) // overtakes the one already held
					release()
				} else {
					held = out
				}
			}
		}
		if len(buf) == 0 {
			buf = nil // let a large frame's buffer go
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				release()
				continue
			}
			return
		}
	}
}

type verdict int

const (
	pass verdict = iota
	drop
	duplicate
	reorder
)

func (p *Proxy) decide(subject string) verdict {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.faults
	if !strings.HasPrefix(subject, f.SubjectPrefix) {
		return pass
	}
	p.stats.frames.Add(1)
	if f.Drop+f.Duplicate+f.Reorder == 0 {
		return pass
	}
	r := p.rng.Float64()
	switch {
	case r < f.Drop:
		p.stats.dropped.Add(1)
		return drop
	case r < f.Drop+f.Duplicate:
		p.stats.duplicated.Add(1)
		return duplicate
	case r < f.Drop+f.Duplicate+f.Reorder:
		p.stats.reordered.Add(1)
		return reorder
	}
	return pass
}

func (p *Proxy) reorderWait() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.faults.ReorderWait == 0 {
		return 20 * time.Millisecond
	}
	return p.faults.ReorderWait
}

func (p *Proxy) delay() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faults.Delay
}
