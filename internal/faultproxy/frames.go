package faultproxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// MaxLine bounds a protocol line (the NATS server's own limit on a
// control line is 4 KiB); MaxPayload bounds a message body.
const (
	MaxLine    = 4096
	MaxPayload = 64 << 20
)

// Frame is one client protocol frame: a control line, with the payload
// that follows it for PUB and HPUB.
type Frame struct {
	Raw     []byte // the whole frame as read, valid until the next call of Next
	Op      string // "PUB", "HPUB", "CONNECT", "PING", ... in upper case
	Subject string // for PUB and HPUB
}

// IsPub reports whether f publishes a message.
func (f Frame) IsPub() bool { return f.Op == "PUB" || f.Op == "HPUB" }

// ErrProtocol is wrapped by every error about malformed input.
var ErrProtocol = errors.New("faultproxy: malformed NATS client protocol")

// Reader splits a NATS client→server byte stream into frames.
type Reader struct {
	r   *bufio.Reader
	buf []byte
}

// NewReader returns a Reader of r.
func NewReader(r *bufio.Reader) *Reader { return &Reader{r: r} }

// Next returns the next frame, or io.EOF at a clean end of input.
func (r *Reader) Next() (Frame, error) {
	r.buf = r.buf[:0]
	line, err := r.readLine()
	if err != nil {
		return Frame{}, err
	}
	r.buf = append(r.buf, line...)
	fields := bytes.Fields(line)
	if len(fields) == 0 {
		return Frame{Raw: r.buf, Op: ""}, nil // a bare CRLF: pass it on
	}
	op := string(bytes.ToUpper(fields[0]))
	f := Frame{Op: op}
	var size int
	switch op {
	case "PUB":
		// PUB <subject> [reply] <size>
		if len(fields) != 3 && len(fields) != 4 {
			return Frame{}, fmt.Errorf("%w: PUB with %d arguments", ErrProtocol, len(fields)-1)
		}
		f.Subject = string(fields[1])
		if size, err = parseSize(fields[len(fields)-1]); err != nil {
			return Frame{}, err
		}
	case "HPUB":
		// HPUB <subject> [reply] <header size> <total size>
		if len(fields) != 4 && len(fields) != 5 {
			return Frame{}, fmt.Errorf("%w: HPUB with %d arguments", ErrProtocol, len(fields)-1)
		}
		f.Subject = string(fields[1])
		hdr, err := parseSize(fields[len(fields)-2])
		if err != nil {
			return Frame{}, err
		}
		if size, err = parseSize(fields[len(fields)-1]); err != nil {
			return Frame{}, err
		}
		if hdr > size {
			return Frame{}, fmt.Errorf("%w: HPUB header size %d over total %d", ErrProtocol, hdr, size)
		}
	default:
		f.Raw = r.buf
		return f, nil
	}
	// The payload and its CRLF.
	start := len(r.buf)
	r.buf = append(r.buf, make([]byte, size+2)...)
	if _, err := io.ReadFull(r.r, r.buf[start:]); err != nil {
		return Frame{}, fmt.Errorf("%w: payload cut short: %v", ErrProtocol, err)
	}
	if !bytes.HasSuffix(r.buf, []byte("\r\n")) {
		return Frame{}, fmt.Errorf("%w: payload of %s not followed by CRLF", ErrProtocol, op)
	}
	f.Raw = r.buf
	return f, nil
}

// readLine reads one line including its "\n".
func (r *Reader) readLine() ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > MaxLine {
			return nil, fmt.Errorf("%w: control line over %d bytes", ErrProtocol, MaxLine)
		}
		if err == nil {
			return line, nil
		}
		if err != bufio.ErrBufferFull {
			if len(line) > 0 {
				return nil, fmt.Errorf("%w: line cut short: %v", ErrProtocol, err)
			}
			return nil, err
		}
	}
}

func parseSize(b []byte) (int, error) {
	n, err := strconv.Atoi(string(b))
	if err != nil || n < 0 || n > MaxPayload {
		return 0, fmt.Errorf("%w: size %.20q is not a number from 0 to %d", ErrProtocol, b, MaxPayload)
	}
	return n, nil
}
