package cache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strings"
	"testing"
	"time"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	clk := newFakeClock()
	src := New[string, int](Options{MaxSize: 10, Now: clk.Now})
	src.Put("old", 1, time.Hour)
	src.Put("hot", 2, NoExpiration)
	src.Put("gone", 3, time.Second)
	src.Put("new", 4, time.Hour)
	for range 3 {
		src.Get("hot")
	}
	src.Get("old")
	clk.Add(time.Second) // "gone" expires
	var buf bytes.Buffer
	if err := src.Save(&buf); err != nil {
		t.Fatal(err)
	}

	var cleared []string
	dst := NewWith(Options{MaxSize: 10, Now: clk.Now}, Hooks[string, int]{
		OnEvict: func(k string, _ int, cause RemovalCause) {
			if cause == Cleared {
				cleared = append(cleared, k)
			}
		},
	})
	dst.Put("previous", 9, NoExpiration)
	if err := dst.Load(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if len(cleared) != 1 || cleared[0] != "previous" {
		t.Errorf("Load replaced %v, want [previous] reported as Cleared", cleared)
	}
	if dst.Len() != 3 {
		t.Errorf("Len after Load = %d, want 3 (expired entry skipped)", dst.Len())
	}
	for _, k := range []string{"old", "hot", "new"} {
		want, _ := src.Peek(k)
		got, ok := dst.Peek(k)
		if !ok || got.Value != want.Value || got.AccessCount != want.AccessCount ||
			!got.ExpiresAt.Equal(want.ExpiresAt) || !got.CreatedAt.Equal(want.CreatedAt) {
			t.Errorf("%s: loaded %+v, saved %+v", k, got, want)
		}
	}
	// Write order survives: of the two with one access or fewer, "old"
	// (written first) has 1 access and "new" 0; make them tie and check
	// that the older write is evicted first.
	dst.Get("new")
	small := New[string, int](Options{MaxSize: 3, Now: clk.Now})
	var b2 bytes.Buffer
	if err := dst.Save(&b2); err != nil {
		t.Fatal(err)
	}
	if err := small.Load(&b2); err != nil {
		t.Fatal(err)
	}
	small.Put("x", 0, NoExpiration)
	if _, ok := small.Peek("old"); ok {
		t.Error("after Load, the tie was not broken by the original write order")
	}
	checkInvariants(t, small)
}

func TestLoadRejectsBadInput(t *testing.T) {
	src := New[string, int](Options{})
	src.Put("a", 1, NoExpiration)
	var good bytes.Buffer
	if err := src.Save(&good); err != nil {
		t.Fatal(err)
	}
	flip := bytes.Clone(good.Bytes())
	flip[len(flip)/2] ^= 1
	version := bytes.Clone(good.Bytes())
	version[len(snapshotMagic)+1] = 9
	var other bytes.Buffer
	o := New[int, string](Options{})
	o.Put(1, "a", NoExpiration)
	if err := o.Save(&other); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a cache snapshot"},
		{"foreign", []byte("PK\x03\x04 a zip file, say, long enough"), "not a cache snapshot"},
		{"bit flip", flip, "checksum mismatch"},
		{"truncated", good.Bytes()[:good.Len()-3], "checksum mismatch"},
		{"version", version, "version 9"},
		{"other types", other.Bytes(), "holds int→string entries, cache is string→int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New[string, int](Options{})
			c.Put("keep", 7, NoExpiration)
			err := c.Load(bytes.NewReader(tt.data))
			if !errors.Is(err, ErrInvalidSnapshot) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load = %v, want ErrInvalidSnapshot mentioning %q", err, tt.want)
			}
			if v, ok := c.Get("keep"); !ok || v != 7 || c.Len() != 1 {
				t.Error("a rejected snapshot changed the cache")
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	src := New[string, int](Options{})
	src.Put("a", 1, NoExpiration)
	src.Put("b", 2, time.Hour)
	var good bytes.Buffer
	if err := src.Save(&good); err != nil {
		f.Fatal(err)
	}
	f.Add(good.Bytes(), false)
	f.Add(good.Bytes(), true)
	f.Add([]byte(snapshotMagic+"\x00\x01"), true)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, data []byte, fixSum bool) {
		if fixSum && len(data) >= snapshotMin {
			// Reach the decoder: most mutations would only fail the checksum.
			body := data[:len(data)-4]
			binary.BigEndian.PutUint32(data[len(body):], crc32.Checksum(body, castagnoli))
		}
		c := New[string, int](Options{MaxSize: 4})
		c.Put("keep", 7, NoExpiration)
		if err := c.Load(bytes.NewReader(data)); err != nil {
			if v, ok := c.Get("keep"); !ok || v != 7 || c.Len() != 1 {
				t.Fatalf("failed Load (%v) changed the cache", err)
			}
			return
		}
		checkInvariants(t, c)
		var out bytes.Buffer
		if err := c.Save(&out); err != nil {
			t.Fatalf("Save after a good Load: %v", err)
		}
		if err := New[string, int](Options{MaxSize: 4}).Load(&out); err != nil {
			t.Fatalf("re-Load of a re-Save: %v", err)
		}
	})
}
