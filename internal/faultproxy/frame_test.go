package faultproxy

import (
	"bytes"
	"errors"
	"testing"
)

func TestNextFrame(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		n       int // 0: incomplete
		pub     bool
		subject string
	}{
		{"ping", "PING\r\nPUB", 6, false, ""},
		{"connect", `CONNECT {"verbose":false}` + "\r\n", 27, false, ""},
		{"pub", "PUB a.b 5\r\nhello\r\nPING\r\n", 18, true, "a.b"},
		{"pub with reply", "PUB a.b _INBOX.1 2\r\nhi\r\n", 24, true, "a.b"},
		{"pub lowercase", "pub a 0\r\n\r\n", 11, true, "a"},
		{"pub payload holds CRLF", "PUB a 4\r\n\r\n\r\n\r\n", 15, true, "a"},
		{"hpub", "HPUB a.b 12 14\r\nNATS/1.0\r\n\r\nhi\r\n", 32, true, "a.b"},
		{"hpub with reply", "HPUB a r 12 12\r\nNATS/1.0\r\n\r\n\r\n", 30, true, "a"},
		{"incomplete line", "PUB a.b 5", 0, false, ""},
		{"incomplete payload", "PUB a.b 5\r\nhel", 0, false, ""},
		{"payload without CRLF yet", "PUB a.b 5\r\nhello\r", 0, false, ""},
		{"empty", "", 0, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, n, err := nextFrame([]byte(tt.in))
			if err != nil {
				t.Fatalf("nextFrame(%q): %v", tt.in, err)
			}
			if n != tt.n || f.pub != tt.pub || f.subject != tt.subject || len(f.raw) != n {
				t.Errorf("nextFrame(%q) = %d bytes, pub %v, subject %q; want %d, %v, %q", tt.in, n, f.pub, f.subject, tt.n, tt.pub, tt.subject)
			}
		})
	}
}

func TestNextFrameErrors(t *testing.T) {
	tests := []struct{ name, in string }{
		{"size not a number", "PUB a x\r\n"},
		{"negative size", "PUB a -1\r\n"},
		{"size too large", "PUB a 99999999999\r\n"},
		{"too few arguments", "PUB a\r\n"},
		{"too many arguments", "PUB a b c 1\r\n"},
		{"header over total", "HPUB a 10 5\r\n"},
		{"payload not followed by CRLF", "PUB a 2\r\nhiXY"},
		{"line too long", string(bytes.Repeat([]byte("x"), maxControlLine+1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := nextFrame([]byte(tt.in)); !errors.Is(err, ErrProtocol) {
				t.Errorf("nextFrame(%.40q) error = %v, want ErrProtocol", tt.in, err)
			}
		})
	}
}

// FuzzNextFrame checks that the parser never panics, never claims more
// than it was given, and that splitting a stream into frames loses and
// adds nothing.
func FuzzNextFrame(f *testing.F) {
	f.Add([]byte("CONNECT {}\r\nPING\r\nPUB a.b 5\r\nhello\r\nHPUB a r 12 14\r\nNATS/1.0\r\n\r\nhi\r\nSUB x 1\r\n"))
	f.Add([]byte("PUB a 4\r\n\r\n\r\n\r\n"))
	f.Add([]byte("HPUB a 10 5\r\n"))
	f.Add([]byte("pub a -1\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var out []byte
		rest := b
		for len(rest) > 0 {
			fr, n, err := nextFrame(rest)
			if err != nil || n == 0 {
				break
			}
			if n > len(rest) || len(fr.raw) != n || !bytes.Equal(fr.raw, rest[:n]) {
				t.Fatalf("frame of %d bytes from %d: %q", n, len(rest), fr.raw)
			}
			if fr.pub && fr.subject == "" {
				t.Fatalf("PUB frame without a subject: %q", fr.raw)
			}
			out = append(out, fr.raw...)
			rest = rest[n:]
		}
		if !bytes.Equal(append(out, rest...), b) {
			t.Fatal("frames and rest do not add up to the input")
		}
	})
}
