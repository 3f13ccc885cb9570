package faultproxy

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// maxControlLine bounds a NATS protocol line (the NATS server's own limit
// is 4 KiB by default); a longer one is not NATS.
const maxControlLine = 64 << 10

// maxPayload bounds a PUB or HPUB payload the parser accepts (NATS allows
// at most 64 MiB).
const maxPayload = 64 << 20

// ErrProtocol is wrapped by every error of the frame parser.
var ErrProtocol = errors.New("faultproxy: not the NATS client protocol")

// frame is one operation of the NATS client protocol as it was on the wire:
// for PUB and HPUB, the control line, the payload and its CRLF; for every
// other operation, its line.
type frame struct {
	raw     []byte // the bytes, aliasing the parser's input
	pub     bool   // PUB or HPUB
	subject string // PUB and HPUB only
}

// nextFrame parses the frame at the start of b. It returns n == 0 when b
// holds no complete frame yet, and an error when b cannot be the client
// protocol, saying what is wrong. It never reads past b.
func nextFrame(b []byte) (f frame, n int, err error) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		if len(b) > maxControlLine {
			return frame{}, 0, fmt.Errorf("%w: a protocol line longer than %d bytes", ErrProtocol, maxControlLine)
		}
		return frame{}, 0, nil
	}
	if i > maxControlLine {
		return frame{}, 0, fmt.Errorf("%w: a protocol line of %d bytes is longer than %d", ErrProtocol, i, maxControlLine)
	}
	line := b[:i+1]
	op, args := splitOp(bytes.TrimRight(line, "\r\n"))
	var hpub bool
	switch {
	case bytes.EqualFold(op, []byte("PUB")):
	case bytes.EqualFold(op, []byte("HPUB")):
		hpub = true
	default:
		return frame{raw: line}, len(line), nil
	}
	// PUB <subject> [reply] <size>; HPUB <subject> [reply] <hdr size> <total size>
	fields := bytes.Fields(args)
	minFields, maxFields := 2, 3
	if hpub {
		minFields, maxFields = 3, 4
	}
	if len(fields) < minFields || len(fields) > maxFields {
		return frame{}, 0, fmt.Errorf("%w: %q has %d arguments, want %d or %d", ErrProtocol, truncate(line), len(fields), minFields, maxFields)
	}
	size, err := parseSize(fields[len(fields)-1])
	if err != nil {
		return frame{}, 0, fmt.Errorf("%w: %q: payload size: %v", ErrProtocol, truncate(line), err)
	}
	if hpub {
		hdr, err := parseSize(fields[len(fields)-2])
		if err != nil {
			return frame{}, 0, fmt.Errorf("%w: %q: header size: %v", ErrProtocol, truncate(line), err)
		}
		if hdr > size {
			return frame{}, 0, fmt.Errorf("%w: %q: header size %d is over the total size %d", ErrProtocol, truncate(line), hdr, size)
		}
	}
	end := len(line) + size + 2
	if len(b) < end {
		return frame{}, 0, nil
	}
	if b[end-2] != '\r' || b[end-1] != '\n' {
		return frame{}, 0, fmt.Errorf("%w: %q: the %d-byte payload is not followed by CRLF", ErrProtocol, truncate(line), size)
	}
	return frame{raw: b[:end], pub: true, subject: string(fields[0])}, end, nil
}

// splitOp splits a protocol line into its operation name and the rest.
func splitOp(line []byte) (op, args []byte) {
	line = bytes.TrimLeft(line, " \t")
	i := bytes.IndexAny(line, " \t")
	if i < 0 {
		return line, nil
	}
	return line[:i], line[i+1:]
}

func parseSize(b []byte) (int, error) {
	n, err := strconv.Atoi(string(b))
	switch {
	case err != nil:
		return 0, fmt.Errorf("%q is not a number", b)
	case n < 0:
		return 0, fmt.Errorf("%d is negative", n)
	case n > maxPayload:
		return 0, fmt.Errorf("%d is over %d", n, maxPayload)
	}
	return n, nil
}

func truncate(b []byte) string {
	if len(b) > 80 {
		b = b[:80]
	}
	return string(bytes.TrimRight(b, "\r\n"))
}
