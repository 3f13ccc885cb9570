package faultproxy

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// upstream is a fake server that records what it receives.
type upstream struct {
	ln   net.Listener
	mu   sync.Mutex
	got  bytes.Buffer
	wg   sync.WaitGroup
	cmu  sync.Mutex
	conn []net.Conn
}

func newUpstream(t *testing.T) *upstream {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{ln: ln}
	u.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.cmu.Lock()
			u.conn = append(u.conn, c)
			u.cmu.Unlock()
			u.wg.Go(func() {
				_, _ = c.Write([]byte("INFO {}\r\n"))
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					u.mu.Lock()
					u.got.Write(buf[:n])
					u.mu.Unlock()
					if err != nil {
						return
					}
				}
			})
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		u.cmu.Lock()
		for _, c := range u.conn {
			_ = c.Close()
		}
		u.cmu.Unlock()
		u.wg.Wait()
	})
	return u
}

func (u *upstream) received() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.got.String()
}

// waitFor polls until the upstream has received want (or fails).
func (u *upstream) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for u.received() != want {
		if time.Now().After(deadline) {
			t.Fatalf("upstream received %q, want %q", u.received(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func start(t *testing.T, u *upstream, f Faults) *Proxy {
	t.Helper()
	p, err := New(u.ln.Addr().String(), 7)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetFaults(f); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func dial(t *testing.T, p *Proxy) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	buf := make([]byte, 9)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "INFO {}\r\n" {
		t.Fatalf("INFO through the proxy: %q, %v", buf, err)
	}
	return c
}

func pub(subject, payload string) string {
	return "PUB " + subject + " " + strconv.Itoa(len(payload)) + "\r\n" + payload + "\r\n"
}

func TestFrameFaults(t *testing.T) {
	a1, a2, a3, b1 := pub("a.x", "one"), pub("a.y", "two"), pub("a.z", "three"), pub("b.x", "bee")
	in := "CONNECT {}\r\n" + a1 + "PING\r\n" + b1 + a2 + a3
	tests := []struct {
		name   string
		faults Faults
		want   string
		stats  Stats
	}{
		{"none", Faults{}, in, Stats{Frames: 4}},
		{"drop on prefix", Faults{Drop: 1, SubjectPrefix: "a."}, "CONNECT {}\r\nPING\r\n" + b1, Stats{Frames: 3, Dropped: 3}},
		{"duplicate on prefix", Faults{Duplicate: 1, SubjectPrefix: "a."}, "CONNECT {}\r\n" + a1 + a1 + "PING\r\n" + b1 + a2 + a2 + a3 + a3, Stats{Frames: 3, Duplicated: 3}},
		// a1 is held, the PING passes it, b1 overtakes it; a2 is held and
		// overtaken by a3 (a reordered frame does not wait behind another).
		{"reorder on prefix", Faults{Reorder: 1, SubjectPrefix: "a."}, "CONNECT {}\r\nPING\r\n" + b1 + a1 + a3 + a2, Stats{Frames: 3, Reordered: 3}},
		// The last frame is held until ReorderWait passes.
		{"reorder the last", Faults{Reorder: 1, SubjectPrefix: "b."}, "CONNECT {}\r\n" + a1 + "PING\r\n" + a2 + b1 + a3, Stats{Frames: 1, Reordered: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUpstream(t)
			p := start(t, u, tt.faults)
			c := dial(t, p)
			// Byte by byte at first, so that frames straddle reads.
			for i := range 20 {
				if _, err := c.Write([]byte{in[i]}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := c.Write([]byte(in[20:])); err != nil {
				t.Fatal(err)
			}
			u.waitFor(t, tt.want)
			st := p.Stats()
			st.Conns = 0
			if st != tt.stats {
				t.Errorf("Stats() = %+v, want %+v", st, tt.stats)
			}
		})
	}
}

func TestFaultsRandomAndSeeded(t *testing.T) {
	u := newUpstream(t)
	p := start(t, u, Faults{Drop: 0.2, Duplicate: 0.2, Reorder: 0.2})
	c := dial(t, p)
	var in strings.Builder
	for i := range 1000 {
		in.WriteString(pub("s", strconv.Itoa(10+i%90)))
	}
	if _, err := c.Write([]byte(in.String())); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := p.Stats()
		want := (1000 - int(st.Dropped) + int(st.Duplicated)) * len(pub("s", "00"))
		if st.Frames == 1000 && len(u.received()) == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %d bytes, want %d (stats %+v)", len(u.received()), want, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	st := p.Stats()
	for name, n := range map[string]uint64{"dropped": st.Dropped, "duplicated": st.Duplicated, "reordered": st.Reordered} {
		if n < 120 || n > 280 {
			t.Errorf("%s %d of 1000 at probability 0.2", name, n)
		}
	}
}

func TestDelay(t *testing.T) {
	u := newUpstream(t)
	p := start(t, u, Faults{Delay: 150 * time.Millisecond})
	c := dial(t, p) // INFO came back through the delay too
	began := time.Now()
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	u.waitFor(t, "PING\r\n")
	if d := time.Since(began); d < 150*time.Millisecond {
		t.Errorf("PING arrived after %v, want at least the 150ms delay", d)
	}
}

func TestCutRefuse(t *testing.T) {
	u := newUpstream(t)
	p := start(t, u, Faults{})
	c := dial(t, p)
	p.Cut(Refuse)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("a connection survived a Refuse cut")
	}
	c2, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	_ = c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c2.Read(make([]byte, 1)); err == nil {
		t.Fatal("a new connection was served during a Refuse cut")
	}
	p.Restore()
	c3 := dial(t, p)
	if _, err := c3.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	u.waitFor(t, "PING\r\n")
	if st := p.Stats(); st.Refused != 1 || st.Conns != 3 {
		t.Errorf("Stats() = %+v, want 3 connections, 1 refused", st)
	}
}

func TestCutBlackhole(t *testing.T) {
	u := newUpstream(t)
	p := start(t, u, Faults{})
	c := dial(t, p)
	p.Cut(Blackhole)
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // nothing may arrive: checking an absence
	if got := u.received(); got != "" {
		t.Fatalf("upstream received %q through a blackhole", got)
	}
	p.Restore()
	u.waitFor(t, "PING\r\n")
}

func TestNotNATSForwardedAsIs(t *testing.T) {
	u := newUpstream(t)
	p := start(t, u, Faults{Drop: 1})
	c := dial(t, p)
	in := "PING\r\nPUB a x\r\nwhatever follows\r\n" + pub("a", "dropped? no")
	if _, err := c.Write([]byte(in)); err != nil {
		t.Fatal(err)
	}
	u.waitFor(t, in)
	if st := p.Stats(); st.ParseErrors != 1 {
		t.Errorf("ParseErrors = %d, want 1", st.ParseErrors)
	}
}

func TestSetFaultsRejectsInvalid(t *testing.T) {
	p, err := New("127.0.0.1:1", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, f := range []Faults{{Drop: -0.1}, {Duplicate: 1.5}, {Drop: 0.6, Reorder: 0.6}, {Delay: -time.Second}} {
		if err := p.SetFaults(f); err == nil {
			t.Errorf("SetFaults(%+v) accepted", f)
		}
	}
}
