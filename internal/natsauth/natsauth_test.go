package natsauth

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nkeys"
	"go.uber.org/goleak"
)

func TestStoreCreateRevokeLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hub")
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "hub creds create") {
		t.Fatalf("Load without a store = %v", err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	a, seed, err := Create(dir, "n1", now)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := nkeys.FromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	if pub, _ := kp.PublicKey(); pub != a.PublicKey || !nkeys.IsValidPublicUserKey(pub) {
		t.Fatalf("seed's key %s, record's %s", pub, a.PublicKey)
	}
	if _, _, err := Create(dir, "n1", now); err == nil || !strings.Contains(err.Error(), "revoke it first") {
		t.Fatalf("second Create = %v", err)
	}
	// Concurrent writers do not lose each other's records.
	var wg sync.WaitGroup
	for _, id := range []string{"b", "c", "d", "e", "f", "g"} {
		wg.Go(func() {
			if _, _, err := Create(dir, id, now); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	agents, err := Load(dir)
	if err != nil || len(agents) != 7 || agents[0].ID != "b" || agents[6].ID != "n1" {
		t.Fatalf("Load = %v, %v", agents, err)
	}
	if !agents[6].Created.Equal(now.Truncate(time.Second)) {
		t.Fatalf("created %v", agents[6].Created)
	}
	if gone, err := Revoke(dir, "n1"); err != nil || gone.PublicKey != a.PublicKey {
		t.Fatalf("Revoke = %v, %v", gone, err)
	}
	if _, err := Revoke(dir, "n1"); err == nil || !strings.Contains(err.Error(), "has no credential") {
		t.Fatalf("second Revoke = %v", err)
	}
	st, _ := os.Stat(StorePath(dir))
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("store mode %v", st.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("left over files: %v", entries)
	}
}

func TestDecodeRejects(t *testing.T) {
	kp, _ := nkeys.CreateUser()
	pub, _ := kp.PublicKey()
	acc, _ := nkeys.CreateAccount()
	accPub, _ := acc.PublicKey()
	rec := func(id, key string) string {
		return `{"id":"` + id + `","public_key":"` + key + `","created":"2026-01-01T00:00:00Z"}`
	}
	tests := []struct{ name, in, want string }{
		{"not json", `nope`, "not a credentials store"},
		{"unknown field", `{"version":1,"agents":[],"extra":1}`, "unknown field"},
		{"trailing", `{"version":1,"agents":[]} {}`, "data after"},
		{"version", `{"version":2,"agents":[]}`, "store version 2"},
		{"bad id", `{"version":1,"agents":[` + rec("a.b", pub) + `]}`, "node ID"},
		{"bad key", `{"version":1,"agents":[` + rec("a", "UNOPE") + `]}`, "not a NATS user public key"},
		{"account key", `{"version":1,"agents":[` + rec("a", accPub) + `]}`, "not a NATS user public key"},
		{"dup id", `{"version":1,"agents":[` + rec("a", pub) + `,` + rec("a", pub) + `]}`, "listed twice"},
		{"dup key", `{"version":1,"agents":[` + rec("a", pub) + `,` + rec("b", pub) + `]}`, "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Decode = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCredsFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	a, seed, err := Create(dir, "n1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "n1.creds")
	if err := WriteCreds(path, a, seed); err != nil {
		t.Fatal(err)
	}
	if err := WriteCreds(path, a, seed); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("overwrite = %v", err)
	}
	c, err := ReadCreds(path, "n1")
	if err != nil || c.Node != "n1" || c.PublicKey != a.PublicKey {
		t.Fatalf("ReadCreds = %+v, %v", c, err)
	}
	// A bare seed (nk -gen user) works too and names no node.
	bare := filepath.Join(dir, "bare.nk")
	os.WriteFile(bare, append(seed, '\n'), 0o600)
	if c, err := ReadCreds(bare, "n9"); err != nil || c.Node != "" || c.PublicKey != a.PublicKey {
		t.Fatalf("bare seed: %+v, %v", c, err)
	}
	// The signature verifies against the stored key; another nonce does not.
	nonce := []byte("nonce-from-the-server")
	sig, _ := c.Sign(nonce)
	kp, _ := nkeys.FromPublicKey(a.PublicKey)
	if kp.Verify(nonce, sig) != nil || kp.Verify([]byte("other"), sig) == nil {
		t.Fatal("signature check")
	}
}

func TestParseModeAndTemplate(t *testing.T) {
	for in, want := range map[string]Mode{"": ModeAuto, "auto": ModeAuto, "required": ModeRequired, "off": ModeOff} {
		if got, err := ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseMode("on"); err == nil {
		t.Error("ParseMode(on) accepted")
	}
	tpl := Template("n1", "UKEY")
	for _, s := range append(PublishAllow("n1"), SubscribeAllow("n1")...) {
		if !strings.Contains(tpl, `"`+s+`"`) {
			t.Errorf("template lacks %s", s)
		}
	}
	for _, s := range PublishAllow("n1") {
		if strings.Contains(s, "n2") || strings.HasSuffix(s, ">") && !strings.HasPrefix(s, "$JS.FC.") {
			t.Errorf("publish permission %s reaches beyond n1", s)
		}
	}
}

func FuzzDecode(f *testing.F) {
	kp, _ := nkeys.CreateUser()
	pub, _ := kp.PublicKey()
	f.Add([]byte(`{"version":1,"agents":[{"id":"n1","public_key":"` + pub + `","created":"2026-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"version":1,"agents":[]}`))
	f.Add([]byte(`{"version":1,"agents":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		agents, err := Decode(b)
		if err != nil {
			return
		}
		again, err := Encode(agents)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Decode(again)
		if err != nil || len(back) != len(agents) {
			t.Fatalf("re-decode: %v (%d vs %d)", err, len(back), len(agents))
		}
	})
}

func FuzzParseCreds(f *testing.F) {
	kp, _ := nkeys.CreateUser()
	seed, _ := kp.Seed()
	pub, _ := kp.PublicKey()
	f.Add(CredsFile(Agent{ID: "n1", PublicKey: pub, Created: time.Now()}, seed))
	f.Add(seed)
	f.Add([]byte("# node: n1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCreds(b)
		if err != nil {
			return
		}
		if !nkeys.IsValidPublicUserKey(c.PublicKey) {
			t.Fatalf("accepted key %q", c.PublicKey)
		}
	})
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
