package faultproxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestReaderFrames(t *testing.T) {
	in := "CONNECT {\"verbose\":false}\r\nPING\r\nPUB a.b 5\r\nhello\r\nPUB a.c _INBOX.1 0\r\n\r\n" +
		"HPUB x.y 12 14\r\nNATS/1.0\r\n\r\nhi\r\nSUB foo 1\r\n"
	r := NewReader(bufio.NewReader(strings.NewReader(in)))
	want := []struct{ op, subject, raw string }{
		{"CONNECT", "", "CONNECT {\"verbose\":false}\r\n"},
		{"PING", "", "PING\r\n"},
		{"PUB", "a.b", "PUB a.b 5\r\nhello\r\n"},
		{"PUB", "a.c", "PUB a.c _INBOX.1 0\r\n\r\n"},
		{"HPUB", "x.y", "HPUB x.y 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"},
		{"SUB", "", "SUB foo 1\r\n"},
	}
	var all bytes.Buffer
	for _, w := range want {
		f, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if f.Op != w.op || f.Subject != w.subject || string(f.Raw) != w.raw {
			t.Fatalf("frame = %q %q %q, want %q %q %q", f.Op, f.Subject, f.Raw, w.op, w.subject, w.raw)
		}
		all.Write(f.Raw)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("at the end: %v, want EOF", err)
	}
	if all.String() != in {
		t.Fatal("frames do not add up to the input")
	}
}

func TestReaderRejects(t *testing.T) {
	for _, in := range []string{
		"PUB a\r\n",               // no size
		"PUB a b c d\r\n",         // too many arguments
		"PUB a -1\r\n",            // negative size
		"PUB a x\r\n",             // size not a number
		"PUB a 5\r\nhel",          // payload cut short
		"PUB a 2\r\nhiXX",         // no CRLF after the payload
		"HPUB a 9 3\r\nabc\r\n",   // header larger than the whole
		"PING",                    // line cut short
		strings.Repeat("x", 5000), // line too long
		"PUB a 999999999999\r\n",  // payload too large
		"HPUB a 1\r\n",            // too few arguments
		"PUB a " + "67108865\r\n", // one byte over MaxPayload
	} {
		_, err := NewReader(bufio.NewReader(strings.NewReader(in))).Next()
		if !errors.Is(err, ErrProtocol) {
			t.Errorf("%.30q: err = %v, want ErrProtocol", in, err)
		}
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("PUB a.b 5\r\nhello\r\nPING\r\n"))
	f.Add([]byte("HPUB x 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"))
	f.Add([]byte("CONNECT {}\r\nSUB a 1\r\nPUB a r 0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(bufio.NewReader(bytes.NewReader(b)))
		var out bytes.Buffer
		for {
			fr, err := r.Next()
			if err != nil {
				if err != io.EOF && !errors.Is(err, ErrProtocol) {
					t.Fatalf("unexpected error %v", err)
				}
				break
			}
			if fr.IsPub() && fr.Subject == "" {
				t.Fatal("a PUB frame without a subject")
			}
			out.Write(fr.Raw)
		}
		// Whatever was accepted is a prefix of the input, unchanged.
		if !bytes.HasPrefix(b, out.Bytes()) {
			t.Fatalf("frames %q are not a prefix of the input", out.Bytes())
		}
	})
}

// sink is a TCP server that records every byte it receives.
type sink struct {
	ln   net.Listener
	got  chan []byte
	done chan struct{}
}

func newSink(t *testing.T) *sink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{ln: ln, got: make(chan []byte, 1024), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						s.got <- append([]byte(nil), buf[:n]...)
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-s.done })
	return s
}

// pubs reads what the sink got until it has n PUB frames or a second
// pass, and returns their subjects.
func (s *sink) pubs(t *testing.T, n int) []string {
	t.Helper()
	var buf bytes.Buffer
	deadline := time.After(2 * time.Second)
	for {
		r := NewReader(bufio.NewReader(bytes.NewReader(buf.Bytes())))
		var subjects []string
		for {
			f, err := r.Next()
			if err != nil {
				break
			}
			if f.IsPub() {
				subjects = append(subjects, f.Subject)
			}
		}
		if len(subjects) >= n {
			return subjects
		}
		select {
		case b := <-s.got:
			buf.Write(b)
		case <-deadline:
			return subjects
		}
	}
}

func send(t *testing.T, p *Proxy, n int) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "PUB s.%d 1\r\nx\r\n", i)
	}
	if _, err := c.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFaults(t *testing.T) {
	cases := []struct {
		name   string
		faults Faults
		check  func(t *testing.T, got []string, st Stats)
	}{
		{"none", Faults{}, func(t *testing.T, got []string, st Stats) {
			if len(got) != 200 || st.Forwarded != 200 {
				t.Fatalf("got %d, forwarded %d; want 200", len(got), st.Forwarded)
			}
			for i, s := range got {
				if s != fmt.Sprintf("s.%d", i) {
					t.Fatalf("message %d is %s: reordered without faults", i, s)
				}
			}
		}},
		{"drop all", Faults{Drop: 1}, func(t *testing.T, got []string, st Stats) {
			if len(got) != 0 || st.Dropped != 200 {
				t.Fatalf("got %d, dropped %d; want 0 and 200", len(got), st.Dropped)
			}
		}},
		{"duplicate all", Faults{Duplicate: 1}, func(t *testing.T, got []string, st Stats) {
			if len(got) != 400 || st.Duplicated != 200 {
				t.Fatalf("got %d, duplicated %d; want 400 and 200", len(got), st.Duplicated)
			}
		}},
		{"other subjects untouched", Faults{Subject: "t.", Drop: 1}, func(t *testing.T, got []string, st Stats) {
			if len(got) != 200 || st.Dropped != 0 {
				t.Fatalf("got %d, dropped %d; want 200 and 0", len(got), st.Dropped)
			}
		}},
		{"reorder some", Faults{Reorder: 0.3}, func(t *testing.T, got []string, st Stats) {
			if len(got) != 200 {
				t.Fatalf("got %d, want all 200", len(got))
			}
			moved := 0
			seen := map[string]bool{}
			for i, s := range got {
				seen[s] = true
				if s != fmt.Sprintf("s.%d", i) {
					moved++
				}
			}
			if len(seen) != 200 || moved == 0 || st.Reordered == 0 {
				t.Fatalf("distinct %d, out of place %d, reordered %d", len(seen), moved, st.Reordered)
			}
		}},
		{"mixed", Faults{Drop: 0.1, Duplicate: 0.1, Reorder: 0.1}, func(t *testing.T, got []string, st Stats) {
			if int64(len(got)) != 200-st.Dropped+st.Duplicated {
				t.Fatalf("got %d, want 200 - %d dropped + %d duplicated", len(got), st.Dropped, st.Duplicated)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSink(t)
			p, err := Start("", s.ln.Addr().String(), 7)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			p.SetFaults(tc.faults)
			c := send(t, p, 200)
			defer c.Close()
			want := 200
			if tc.faults.Duplicate == 1 {
				want = 400
			}
			got := s.pubs(t, want)
			tc.check(t, got, p.Stats())
		})
	}
}

func TestModes(t *testing.T) {
	s := newSink(t)
	p, err := Start("", s.ln.Addr().String(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	// Blackhole: nothing gets through until the link is Up again, then
	// everything held does.
	p.SetMode(Blackhole)
	c := send(t, p, 3)
	defer c.Close()
	if got := s.pubs(t, 1); len(got) != 0 {
		t.Fatalf("%d messages crossed a blackhole", len(got))
	}
	p.SetMode(Up)
	if got := s.pubs(t, 3); len(got) != 3 {
		t.Fatalf("after the blackhole: %d messages, want the 3 held", len(got))
	}

	// Cut: the connection is closed and new ones are refused.
	p.SetMode(Cut)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("a cut connection is still open")
	}
	c2, err := net.Dial("tcp", p.Addr())
	if err == nil {
		c2.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c2.Read(make([]byte, 1)); err == nil {
			t.Fatal("a connection made during a cut stays open")
		}
		c2.Close()
	}
	if p.Stats().Refused == 0 {
		t.Fatal("no refusal counted during the cut")
	}
	p.SetMode(Up)
	c3 := send(t, p, 2)
	defer c3.Close()
	if got := s.pubs(t, 2); len(got) != 2 {
		t.Fatalf("after the cut: %d messages, want 2", len(got))
	}
}
