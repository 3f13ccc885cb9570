package agent

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkPostInvocations measures invocations acknowledged per second
// through POST /v1/invocations: with a data directory (each answer waits
// for the journal's disk sync) and without, from one caller and from 64,
// one invocation per request and 100 per request. The write rate limit is
// off: it would measure itself.
func BenchmarkPostInvocations(b *testing.B) {
	one := `{"function_id":"resize","duration_ms":12.5,"success":true,"error":""}`
	batch := "[" + strings.Repeat(one+",", 99) + one + "]"
	for _, durable := range []bool{true, false} {
		for _, callers := range []int{1, 64} {
			for _, perReq := range []int{1, 100} {
				name := fmt.Sprintf("data=%v/callers=%d/per_request=%d", durable, callers, perReq)
				b.Run(name, func(b *testing.B) {
					body := []byte(one)
					if perReq > 1 {
						body = []byte(batch)
					}
					cfg := Config{HubURL: "nats://127.0.0.1:" + strconv.Itoa(freePort(b)), ID: "bench", Logger: quiet(), APIRate: -1}
					if durable {
						cfg.DataDir = b.TempDir()
					}
					a, err := Start(context.Background(), cfg)
					if err != nil {
						b.Fatal(err)
					}
					defer a.Close()
					url := "http://" + a.HTTPAddr() + "/v1/invocations"
					client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: callers}}
					defer client.CloseIdleConnections()
					post := func() error {
						resp, err := client.Post(url, "application/json", bytes.NewReader(body))
						if err != nil {
							return err
						}
						resp.Body.Close()
						if resp.StatusCode != http.StatusAccepted {
							return fmt.Errorf("status %d", resp.StatusCode)
						}
						return nil
					}
					if callers == 1 {
						for b.Loop() {
							if err := post(); err != nil {
								b.Fatal(err)
							}
						}
					} else {
						b.SetParallelism((callers + 1) / 2) // × GOMAXPROCS (2 here)
						b.RunParallel(func(pb *testing.PB) {
							for pb.Next() {
								if err := post(); err != nil {
									b.Error(err)
									return
								}
							}
						})
					}
					b.ReportMetric(float64(b.N*perReq)/b.Elapsed().Seconds(), "invocations/s")
				})
			}
		}
	}
}
