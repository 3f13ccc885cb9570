package metrics

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/bits"
)

// ErrInvalidSnapshot is wrapped by every error [Snapshot.UnmarshalBinary]
// returns.
var ErrInvalidSnapshot = errors.New("metrics: invalid snapshot")

// SnapshotVersion is the version of the binary encoding written by
// [Snapshot.MarshalBinary].
const SnapshotVersion = 1

const (
	snapMagic    = "EIMS"
	maxIDLen     = 1 << 16
	crcLen       = 4
	minSeriesLen = 5 // two empty strings and three zero counts
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// The encoding, version 1: the magic "EIMS", a version byte, then
//
//	uvarint  number of series
//	per series:
//	  string   function ID (uvarint length, bytes)
//	  string   node ID
//	  uvarint  errors
//	  uvarint  sum of durations, nanoseconds
//	  uvarint  number of buckets, then per bucket:
//	           uvarint index gap (first: index; then index - previous - 1)
//	           uvarint count (> 0)
//	  uvarint  number of error kinds, then per kind: string, uvarint count (> 0)
//
// and a little-endian CRC-32C of everything before it. Bucket indexes are
// those of the DDSketch mapping described in hist.go; a new layout would
// take a new version.

// MarshalBinary encodes the snapshot in the compact versioned format read
// by [Snapshot.UnmarshalBinary]. It implements encoding.BinaryMarshaler
// and never fails.
func (s Snapshot) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// AppendBinary appends the encoding of [Snapshot.MarshalBinary] to b. It
// implements encoding.BinaryAppender.
func (s Snapshot) AppendBinary(b []byte) ([]byte, error) {
	start := len(b)
	b = append(b, snapMagic...)
	b = append(b, SnapshotVersion)
	b = binary.AppendUvarint(b, uint64(len(s.series)))
	for i := range s.series {
		ss := &s.series[i]
		b = appendString(b, ss.fn)
		b = appendString(b, ss.node)
		b = binary.AppendUvarint(b, ss.errs)
		b = binary.AppendUvarint(b, ss.sum)
		b = binary.AppendUvarint(b, uint64(len(ss.bins)))
		next := uint32(0)
		for _, bn := range ss.bins {
			b = binary.AppendUvarint(b, uint64(bn.idx-next))
			b = binary.AppendUvarint(b, bn.n)
			next = bn.idx + 1
		}
		b = binary.AppendUvarint(b, uint64(len(ss.kinds)))
		for _, k := range ss.kinds {
			b = appendString(b, k.kind)
			b = binary.AppendUvarint(b, k.n)
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli)), nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// UnmarshalBinary decodes data written by [Snapshot.MarshalBinary],
// replacing s. It rejects anything else (a wrong magic, version or
// checksum, truncation, trailing bytes, out-of-range buckets, counts that
// overflow) with an error wrapping [ErrInvalidSnapshot], and leaves s
// unchanged then. The snapshot does not alias data.
func (s *Snapshot) UnmarshalBinary(data []byte) error {
	if len(data) < len(snapMagic)+1+1+crcLen {
		return fmt.Errorf("%w: %d bytes is too short", ErrInvalidSnapshot, len(data))
	}
	if string(data[:len(snapMagic)]) != snapMagic {
		return fmt.Errorf("%w: bad magic", ErrInvalidSnapshot)
	}
	if v := data[len(snapMagic)]; v != SnapshotVersion {
		return fmt.Errorf("%w: unsupported version %d", ErrInvalidSnapshot, v)
	}
	body, sum := data[:len(data)-crcLen], data[len(data)-crcLen:]
	if got := crc32.Checksum(body, castagnoli); got != binary.LittleEndian.Uint32(sum) {
		return fmt.Errorf("%w: checksum mismatch", ErrInvalidSnapshot)
	}
	d := decoder{b: body[len(snapMagic)+1:]}
	n := d.uvarint("series count")
	if d.err == nil && n > uint64(len(d.b)/minSeriesLen) {
		d.fail("series count %d exceeds the data", n)
	}
	var out Snapshot
	if d.err == nil && n > 0 {
		out.series = make([]seriesSnapshot, 0, n)
	}
	for i := uint64(0); d.err == nil && i < n; i++ {
		out.series = append(out.series, d.series())
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return d.err
	}
	*s = out
	return nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidSnapshot}, args...)...)
	}
}

func (d *decoder) uvarint(what string) uint64 {
	// Most values (bucket gaps, small counts) fit in one byte.
	if len(d.b) > 0 && d.b[0] < 0x80 && d.err == nil {
		v := uint64(d.b[0])
		d.b = d.b[1:]
		return v
	}
	return d.uvarintSlow(what)
}

func (d *decoder) uvarintSlow(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	// A last byte of zero pads the varint: only the shortest form is
	// accepted, so every snapshot has exactly one encoding.
	if n <= 0 || (n > 1 && d.b[n-1] == 0) {
		d.fail("truncated or overlong %s", what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) str(what string, limit int) string {
	n := d.uvarint(what + " length")
	if d.err != nil {
		return ""
	}
	if n > uint64(limit) || n > uint64(len(d.b)) {
		d.fail("%s of %d bytes is too long", what, n)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) series() seriesSnapshot {
	var ss seriesSnapshot
	ss.fn = d.str("function ID", maxIDLen)
	ss.node = d.str("node ID", maxIDLen)
	ss.errs = d.uvarint("error count")
	ss.sum = d.uvarint("duration sum")
	nb := d.uvarint("bucket count")
	if d.err == nil && (nb > uint64(numBins) || nb > uint64(len(d.b)/2)) {
		d.fail("bucket count %d out of range", nb)
	}
	if d.err == nil && nb > 0 {
		ss.bins = make([]bin, 0, nb)
	}
	next, total := uint64(0), uint64(0)
	for j := uint64(0); d.err == nil && j < nb; j++ {
		gap := d.uvarint("bucket index")
		c := d.uvarint("bucket count")
		idx := next + gap
		switch {
		case d.err != nil:
		case gap >= uint64(numBins) || idx >= uint64(numBins):
			d.fail("bucket index %d out of range", idx)
		case c == 0:
			d.fail("empty bucket %d", idx)
		default:
			var carry uint64
			total, carry = bits.Add64(total, c, 0)
			if carry != 0 || total > math.MaxInt64 {
				d.fail("bucket counts overflow")
			}
			ss.bins = append(ss.bins, bin{idx: uint32(idx), n: c})
			next = idx + 1
		}
	}
	nk := d.uvarint("error kind count")
	if d.err == nil && nk > uint64(len(d.b)/2) {
		d.fail("error kind count %d exceeds the data", nk)
	}
	var seen map[string]bool // only for long lists; short ones are scanned
	if nk > 8 {
		seen = make(map[string]bool, min(nk, 64))
	}
	for j := uint64(0); d.err == nil && j < nk; j++ {
		k := d.str("error kind", maxKindLen)
		c := d.uvarint("error kind count")
		switch {
		case d.err != nil:
		case c == 0:
			d.fail("error kind %q has no count", k)
		case repeated(ss.kinds, seen, k):
			d.fail("error kind %q repeated", k)
		default:
			if seen != nil {
				seen[k] = true
			}
			ss.kinds = append(ss.kinds, kindCount{kind: k, n: c})
		}
	}
	return ss
}

func repeated(kinds []kindCount, seen map[string]bool, k string) bool {
	if seen != nil {
		return seen[k]
	}
	for _, kc := range kinds {
		if kc.kind == k {
			return true
		}
	}
	return false
}
