package hub

import (
	"strconv"
	"testing"
	"time"

	"github.com/edgeinfra/edgeinfra/internal/wire"
)

// BenchmarkHandleHeartbeat measures the hub's heartbeat path (rate limit,
// decode, admission, registry and Tracker) over 1000 nodes, with the
// per-node token bucket and without it, side by side, and a flood that the
// bucket drops before decoding.
func BenchmarkHandleHeartbeat(b *testing.B) {
	for _, bc := range []struct {
		name  string
		rate  float64
		burst int
	}{{"limited", 1e9, 1 << 30}, {"unlimited", -1, 0}, {"dropped", 1e-9, 1}} {
		b.Run(bc.name, func(b *testing.B) {
			h, err := Start(b.Context(), Config{Logger: quiet(), HeartbeatRate: bc.rate, HeartbeatBurst: bc.burst})
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close()
			const nodes = 1000
			subjects := make([]string, nodes)
			msgs := make([][]byte, nodes)
			for i := range nodes {
				id := "n" + strconv.Itoa(i)
				subjects[i] = wire.HeartbeatSubject(id)
				msgs[i] = heartbeatBytes(id, 1)
			}
			now := time.Now()
			for i := range nodes {
				h.handleHeartbeat(subjects[i], msgs[i], now) // join
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				// Seq 1 again is stale after the first round: the cost
				// measured is the checks, as for a flood.
				h.handleHeartbeat(subjects[i%nodes], msgs[i%nodes], now)
				i++
			}
		})
	}
}
