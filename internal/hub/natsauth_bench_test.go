package hub

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/edgeinfra/edgeinfra/internal/creds"
)

// BenchmarkReloadCredentials measures what one created or revoked agent
// costs a running hub: re-reading the store and reloading the server's
// users, which re-checks every connected client.
func BenchmarkReloadCredentials(b *testing.B) {
	for _, tc := range []struct{ records, connected int }{{1000, 0}, {10000, 0}, {1000, 200}} {
		b.Run(fmt.Sprintf("records=%d/connected=%d", tc.records, tc.connected), func(b *testing.B) {
			dir := b.TempDir()
			recs := make([]creds.Record, tc.records)
			seeds := make([][]byte, tc.records)
			for i := range recs {
				kp, _ := nkeys.CreateUser()
				pub, _ := kp.PublicKey()
				seeds[i], _ = kp.Seed()
				recs[i] = creds.Record{ID: fmt.Sprintf("n%d", i), PublicKey: pub, Created: time.Now()}
			}
			write := func(recs []creds.Record) {
				data, _ := json.Marshal(map[string]any{"v": 1, "agents": recs})
				tmp := filepath.Join(dir, "tmp")
				os.WriteFile(tmp, data, 0o600)
				os.Rename(tmp, creds.Path(dir))
			}
			write(recs)
			h, err := Start(b.Context(), Config{DataDir: dir, CredentialsPoll: time.Hour, Logger: quiet()})
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close()
			for i := range tc.connected {
				seed := seeds[i]
				kp, _ := nkeys.FromSeed(seed)
				pub, _ := kp.PublicKey()
				nc, err := nats.Connect(h.NATSURL(), nats.Nkey(pub, kp.Sign), nats.CustomInboxPrefix("_INBOX_"+recs[i].ID))
				if err != nil {
					b.Fatal(err)
				}
				defer nc.Close()
			}
			extra, _ := nkeys.CreateUser()
			extraPub, _ := extra.PublicKey()
			with := append(recs[:len(recs):len(recs)], creds.Record{ID: "extra", PublicKey: extraPub, Created: time.Now()})
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				if i%2 == 0 {
					write(with)
				} else {
					write(recs)
				}
				b.StartTimer()
				if err := h.reloadCredentials(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
