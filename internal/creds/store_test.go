package creds

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nkeys"
)

func TestCreateRevokeLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // created on demand
	out := filepath.Join(t.TempDir(), "a.creds")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rec, err := Create(dir, "a", out, now)
	if err != nil {
		t.Fatal(err)
	}
	if !nkeys.IsValidPublicUserKey(rec.PublicKey) || rec.ID != "a" || !rec.Created.Equal(now) || !rec.Active() {
		t.Fatalf("record = %+v", rec)
	}
	b, _ := os.ReadFile(out)
	kp, err := nkeys.ParseDecoratedUserNKey(b)
	if err != nil {
		t.Fatal(err)
	}
	if pub, _ := kp.PublicKey(); pub != rec.PublicKey {
		t.Fatalf("file key %s, record %s", pub, rec.PublicKey)
	}
	// The key signs what the server's check verifies.
	nonce := []byte("nonce")
	sig, _ := kp.Sign(nonce)
	pk, _ := nkeys.FromPublicKey(rec.PublicKey)
	if err := pk.Verify(nonce, sig); err != nil {
		t.Fatal(err)
	}
	recs, err := Load(dir)
	if err != nil || len(recs) != 1 || recs[0] != rec {
		t.Fatalf("Load = %+v, %v", recs, err)
	}
	if _, err := Revoke(dir, "a", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := Revoke(dir, "a", now); err == nil {
		t.Fatal("second revoke: want an error")
	}
	recs, _ = Load(dir)
	if recs[0].Active() || !recs[0].Revoked.Equal(now.Add(time.Hour)) {
		t.Fatalf("after revoke: %+v", recs[0])
	}
	if recs, err := Load(t.TempDir()); err != nil || recs != nil {
		t.Fatalf("Load of an empty dir = %v, %v", recs, err)
	}
	if _, err := Create("", "a", out+"x", now); err == nil || !strings.Contains(err.Error(), "--data") {
		t.Fatalf("Create without dir: %v", err)
	}
}

// TestConcurrentCreatesKeepEveryRecord runs creates from many goroutines,
// as several 'hub creds create' processes would: the lock file keeps
// every record.
func TestConcurrentCreatesKeepEveryRecord(t *testing.T) {
	dir, outs := t.TempDir(), t.TempDir()
	var wg sync.WaitGroup
	ids := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	for _, id := range ids {
		wg.Go(func() {
			if _, err := Create(dir, id, filepath.Join(outs, id), time.Now()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	recs, err := Load(dir)
	if err != nil || len(recs) != len(ids) {
		t.Fatalf("%d records, %v; want %d", len(recs), err, len(ids))
	}
	if _, err := os.Stat(Path(dir) + ".lock"); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("lock file left behind")
	}
}

func TestDecodeErrors(t *testing.T) {
	kp, _ := nkeys.CreateUser()
	pub, _ := kp.PublicKey()
	seed, _ := kp.Seed()
	tests := []struct{ name, in, want string }{
		{"not JSON", `{`, "unexpected EOF"},
		{"wrong version", `{"v":2,"agents":[]}`, "version 2"},
		{"unknown field", `{"v":1,"agents":[],"x":1}`, "unknown field"},
		{"trailing data", `{"v":1,"agents":[]} {}`, "after the JSON value"},
		{"bad node ID", `{"v":1,"agents":[{"id":"a.b","public_key":"` + pub + `","created":"2026-01-01T00:00:00Z"}]}`, "node ID"},
		{"seed instead of public key", `{"v":1,"agents":[{"id":"a","public_key":"` + string(seed) + `","created":"2026-01-01T00:00:00Z"}]}`, "not an nkey user public key"},
		{"key twice", `{"v":1,"agents":[{"id":"a","public_key":"` + pub + `","created":"2026-01-01T00:00:00Z","revoked":"2026-01-02T00:00:00Z"},{"id":"b","public_key":"` + pub + `","created":"2026-01-01T00:00:00Z"}]}`, "appears twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.in))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Decode = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
	kp2, _ := nkeys.CreateUser()
	pub2, _ := kp2.PublicKey()
	two := `{"v":1,"agents":[{"id":"a","public_key":"` + pub + `","created":"2026-01-01T00:00:00Z"},{"id":"a","public_key":"` + pub2 + `","created":"2026-01-01T00:00:00Z"}]}`
	if _, err := Decode([]byte(two)); err == nil || !strings.Contains(err.Error(), "two active") {
		t.Fatalf("two active: %v", err)
	}
	// A broken store file is reported with its path and the way out.
	dir := t.TempDir()
	os.WriteFile(Path(dir), []byte("{"), 0o600)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), Path(dir)) {
		t.Fatalf("Load of a broken file: %v", err)
	}
}

func TestNodeOf(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"# node: edge-1\nSUA\n", "edge-1"},
		{"  #   node:x \n", ""},
		{"# node:x\r\n", "x"},
		{"SUABC\n", ""},
	} {
		if got := NodeOf([]byte(tt.in)); got != tt.want {
			t.Errorf("NodeOf(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzDecode: a store file never panics the decoder, and whatever it
// accepts encodes and decodes to the same records.
func FuzzDecode(f *testing.F) {
	kp, _ := nkeys.CreateUser()
	pub, _ := kp.PublicKey()
	f.Add([]byte(`{"v":1,"agents":[]}`))
	f.Add([]byte(`{"v":1,"agents":[{"id":"a","public_key":"` + pub + `","created":"2026-01-01T00:00:00Z","revoked":"2026-01-02T00:00:00Z"}]}`))
	f.Add([]byte(`{"v":1,"agents":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		enc, err := encode(recs)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Decode(enc)
		if err != nil || len(again) != len(recs) {
			t.Fatalf("round trip: %v, %d records, want %d", err, len(again), len(recs))
		}
		for i := range recs {
			if again[i].ID != recs[i].ID || again[i].PublicKey != recs[i].PublicKey || !again[i].Created.Equal(recs[i].Created) || !again[i].Revoked.Equal(recs[i].Revoked) {
				t.Fatalf("round trip changed record %d: %+v → %+v", i, recs[i], again[i])
			}
		}
	})
}
