package cache

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"iter"
	"slices"
)

// All returns an iterator over the live entries. It is weakly consistent:
// it copies one shard at a time with that shard's writers kept out and
// yields with no lock held, so it sees each entry at most once, may or may
// not see writes made during the iteration, and the loop body may call the
// cache. Writers wait for at most one shard's copy.
// It counts no access and changes no statistics.
func (c *Cache[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		type kv struct {
			k K
			v V
		}
		var buf []kv
		for i := range c.shards {
			sh := &c.shards[i]
			now := c.clock.nano()
			buf = buf[:0]
			// c.mu keeps inserts and removals out, which move entries
			// between slots (a reader's lock does not: a walk beside
			// them could meet an entry twice); a lock of the group
			// keeps out overwrites of the values.
			c.mu.Lock()
			l := c.reader(c.groupOf(uint64(i)))
			l.mu.Lock()
			sh.t.all(func(e *entry[K, V]) bool {
				if !e.neg() && !e.expiredAt(now) {
					buf = append(buf, kv{e.key, e.value})
				}
				return true
			})
			l.mu.Unlock()
			c.mu.Unlock()
			for _, p := range buf {
				if !yield(p.k, p.v) {
					return
				}
			}
		}
	}
}

// ErrInvalidSnapshot is wrapped by every error of [Cache.Load] about the
// snapshot's content: not a snapshot, an unknown version, a checksum
// mismatch, other key or value types, or undecodable records.
var ErrInvalidSnapshot = errors.New("cache: invalid snapshot")

// Snapshot layout: magic, a big-endian uint16 version, a gob stream
// (a snapshotHeader, then Count snapshotRecords), and a big-endian CRC-32C
// of everything before it.
const (
	snapshotMagic   = "EDGECACH"
	snapshotVersion = 1
	snapshotMin     = len(snapshotMagic) + 2 + 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type snapshotHeader struct {
	KeyType   string // fmt's %T of K
	ValueType string // fmt's %T of V
	Count     int
}

type snapshotRecord[K comparable, V any] struct {
	Key       K
	Value     V
	CreatedAt int64 // Unix nanoseconds
	ExpiresAt int64 // Unix nanoseconds; 0 means never
	Hits      uint64
}

func typeNames[K comparable, V any]() (string, string) {
	var k K
	var v V
	return fmt.Sprintf("%T", &k)[1:], fmt.Sprintf("%T", &v)[1:]
}

// Save writes a snapshot of the live entries to w, oldest write first,
// keeping each entry's CreatedAt, ExpiresAt and AccessCount. Keys and
// values are encoded with encoding/gob, so they must be gob-encodable
// (exported fields; interface values need gob.Register). The snapshot is
// built in memory under the lock and written after it is released.
func (c *Cache[K, V]) Save(w io.Writer) error {
	type item struct {
		rec snapshotRecord[K, V]
		seq uint64
	}
	c.mu.Lock()
	c.quiesce() // overwrites wait: c.mu then guards every entry
	now := c.clock.nano()
	items := make([]item, 0, c.n)
	for i := range c.shards {
		c.shards[i].t.all(func(e *entry[K, V]) bool {
			if !e.neg() && !e.expiredAt(now) {
				items = append(items, item{snapshotRecord[K, V]{e.key, e.value, e.created, e.expires, c.hitsOf(e)}, c.pol.order(e)})
			}
			return true
		})
	}
	c.resume()
	c.mu.Unlock()
	slices.SortFunc(items, func(a, b item) int { return cmpUint64(a.seq, b.seq) })

	var buf bytes.Buffer
	buf.WriteString(snapshotMagic)
	buf.Write(binary.BigEndian.AppendUint16(nil, snapshotVersion))
	enc := gob.NewEncoder(&buf)
	kt, vt := typeNames[K, V]()
	if err := enc.Encode(snapshotHeader{KeyType: kt, ValueType: vt, Count: len(items)}); err != nil {
		return fmt.Errorf("cache: encoding snapshot: %w", err)
	}
	for i := range items {
		if err := enc.Encode(&items[i].rec); err != nil {
			return fmt.Errorf("cache: encoding snapshot: %w", err)
		}
	}
	buf.Write(binary.BigEndian.AppendUint32(nil, crc32.Checksum(buf.Bytes(), castagnoli)))
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("cache: writing snapshot: %w", err)
	}
	return nil
}

func cmpUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Load replaces the cache's contents with the snapshot read from r, as
// written by Save: entries expired by now are skipped, the others keep
// CreatedAt, ExpiresAt, AccessCount and their write order, and are
// inserted oldest first under the usual eviction rules if the snapshot
// holds more than MaxSize (or MaxBytes). The entries it replaces are
// reported to OnEvict as Cleared. It is all or nothing: the whole
// snapshot is read and checked before the cache changes, and any error
// (wrapping ErrInvalidSnapshot for bad content) leaves the cache as it
// was. Statistics are kept; loads in flight are superseded. Load reads all
// of r into memory before checking it: wrap a reader from an untrusted
// source in io.LimitReader.
func (c *Cache[K, V]) Load(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("cache: reading snapshot: %w", err)
	}
	recs, err := decodeSnapshot[K, V](data)
	if err != nil {
		return err
	}
	weights := make([]int32, len(recs))
	for i := range recs {
		weights[i] = c.weigh(recs[i].Key, recs[i].Value)
	}

	var rm removals[K, V]
	c.mu.Lock()
	for _, ld := range c.loads {
		ld.superseded = true
	}
	c.emptyShards(&rm)
	c.resetLocked()
	now := c.clock.nano()
	for i, rec := range recs {
		if rec.ExpiresAt != 0 && now >= rec.ExpiresAt || rec.Key != rec.Key {
			continue
		}
		c.setLocked(c.hash(rec.Key), rec.Key, rec.Value, now, rec.CreatedAt, rec.ExpiresAt, weights[i], false, rec.Hits, nil, &rm)
	}
	c.mu.Unlock()
	c.notify(&rm)
	return nil
}

// decodeSnapshot checks and decodes a whole snapshot.
func decodeSnapshot[K comparable, V any](data []byte) ([]snapshotRecord[K, V], error) {
	if len(data) < snapshotMin || string(data[:len(snapshotMagic)]) != snapshotMagic {
		return nil, fmt.Errorf("%w: not a cache snapshot", ErrInvalidSnapshot)
	}
	if v := binary.BigEndian.Uint16(data[len(snapshotMagic):]); v != snapshotVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrInvalidSnapshot, v, snapshotVersion)
	}
	body, sum := data[:len(data)-4], binary.BigEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch (corrupt or truncated)", ErrInvalidSnapshot)
	}
	rd := bytes.NewReader(body[len(snapshotMagic)+2:])
	dec := gob.NewDecoder(rd)
	var h snapshotHeader
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrInvalidSnapshot, err)
	}
	if kt, vt := typeNames[K, V](); h.KeyType != kt || h.ValueType != vt {
		return nil, fmt.Errorf("%w: holds %s→%s entries, cache is %s→%s", ErrInvalidSnapshot, h.KeyType, h.ValueType, kt, vt)
	}
	if h.Count < 0 || h.Count > len(body) {
		return nil, fmt.Errorf("%w: bad entry count %d", ErrInvalidSnapshot, h.Count)
	}
	recs := make([]snapshotRecord[K, V], h.Count)
	for i := range recs {
		if err := dec.Decode(&recs[i]); err != nil {
			return nil, fmt.Errorf("%w: entry %d: %v", ErrInvalidSnapshot, i, err)
		}
	}
	if rd.Len() != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last entry", ErrInvalidSnapshot, rd.Len())
	}
	return recs, nil
}
