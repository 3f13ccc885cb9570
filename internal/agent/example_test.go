package agent_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/edgeinfra/edgeinfra/internal/agent"
)

// An agent serves its local API even when the hub cannot be reached:
// state changes queue until it can.
func Example() {
	a, err := agent.Start(context.Background(), agent.Config{
		HubURL: "nats://127.0.0.1:1", // nothing listens here
		ID:     "edge-1",
		Region: "eu",
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close()
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()

	send := func(method, path, body string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		fmt.Println(strings.TrimSpace(fmt.Sprintln(method, path, resp.StatusCode, string(b))))
	}
	send("PUT", "/v1/cache/greeting?ttl=30s", "hello")
	send("GET", "/v1/cache/greeting", "")
	send("PUT", "/v1/cache/greeting?ttl=soon", "hello")
	send("POST", "/v1/invocations", `{"function_id":"resize","duration_ms":12.5,"success":true,"error":""}`)

	st, _ := a.UpdateState(map[string]any{"mode": "eco"})
	fmt.Println("state version", st.Version, "pending", a.Sync().PendingCount)
	// Output:
	// PUT /v1/cache/greeting?ttl=30s 204
	// GET /v1/cache/greeting 200 hello
	// PUT /v1/cache/greeting?ttl=soon 400 {"error":{"code":"bad_request","message":"ttl \"soon\" must be a positive Go duration such as 30s or 5m"}}
	// POST /v1/invocations 202 {"durable":false,"recorded":1}
	// state version 1 pending 1
}
