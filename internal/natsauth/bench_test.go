package natsauth

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// BenchmarkConnect measures a client's connect and close against an
// embedded server without authentication and with an Authenticator
// holding 10,000 agents (nonce signature, store lookup, permissions).
func BenchmarkConnect(b *testing.B) {
	dir := b.TempDir()
	a, seed, err := Create(dir, "n0", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	creds := filepath.Join(dir, "n0.creds")
	if err := WriteCreds(creds, a, seed); err != nil {
		b.Fatal(err)
	}
	agents := []Agent{a}
	for i := 1; i < 10_000; i++ {
		kp, _ := nkeys.CreateUser()
		pub, _ := kp.PublicKey()
		agents = append(agents, Agent{ID: "n" + strconv.Itoa(i), PublicKey: pub, Created: a.Created})
	}
	store, err := Encode(agents)
	if err != nil {
		b.Fatal(err)
	}
	if err := writeFileAtomic(StorePath(dir), store); err != nil {
		b.Fatal(err)
	}
	for _, withAuth := range []bool{false, true} {
		b.Run(map[bool]string{false: "open", true: "nkey_10k_agents"}[withAuth], func(b *testing.B) {
			opts := &server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true}
			var copts []nats.Option
			if withAuth {
				auth, err := New(Options{Dir: dir, Mode: ModeRequired})
				if err != nil {
					b.Fatal(err)
				}
				opts.CustomClientAuthentication, opts.AlwaysEnableNonce = auth, true
				o, err := nats.NkeyOptionFromSeed(creds)
				if err != nil {
					b.Fatal(err)
				}
				copts = append(copts, o)
			}
			ns, err := server.NewServer(opts)
			if err != nil {
				b.Fatal(err)
			}
			ns.Start()
			defer ns.Shutdown()
			if !ns.ReadyForConnections(10 * time.Second) {
				b.Fatal("server not ready")
			}
			for b.Loop() {
				nc, err := nats.Connect(ns.ClientURL(), copts...)
				if err != nil {
					b.Fatal(err)
				}
				nc.Close()
			}
		})
	}
}
