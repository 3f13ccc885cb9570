package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edgeinfra/edgeinfra/internal/hub"
	"github.com/edgeinfra/edgeinfra/internal/tlsconf"
	"github.com/edgeinfra/edgeinfra/internal/tlsconf/tlstest"
)

// TestTLSEndToEnd runs a hub with mutual TLS and an agent with the CA and
// a client certificate: heartbeats and state arrive, and the hub's API
// answers over HTTPS. An agent without a client certificate never
// appears.
func TestTLSEndToEnd(t *testing.T) {
	p := tlstest.New(t)
	h, err := hub.Start(context.Background(), hub.Config{Logger: quiet(), SweepInterval: 50 * time.Millisecond, TLS: p.Server})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	httpsTLS, err := tlsconf.Files{CA: p.CA}.Client()
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: httpsTLS}}
	defer client.CloseIdleConnections()
	nodes := func() map[string]bool {
		resp, err := client.Get(h.URL() + "/api/v1/nodes")
		if err != nil {
			t.Fatalf("GET /api/v1/nodes over HTTPS: %v", err)
		}
		defer resp.Body.Close()
		var rows []struct {
			ID      string `json:"id"`
			Healthy bool   `json:"healthy"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&rows); err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, r := range rows {
			out[r.ID] = r.Healthy
		}
		return out
	}

	a := startAgent(t, Config{HubURL: h.NATSURL(), ID: "secure", TLS: p.Client})
	startAgent(t, Config{HubURL: h.NATSURL(), ID: "nocert", TLS: tlsconf.Files{CA: p.CA}})
	eventually(t, "the TLS agent's heartbeats at the hub", func() bool { return nodes()["secure"] })
	if _, err := a.UpdateState(map[string]any{"mode": "eco"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "state over TLS at the hub", func() bool {
		resp, err := client.Get(h.URL() + "/api/v1/nodes/secure/state")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st struct{ Data map[string]any }
		_ = json.NewDecoder(resp.Body).Decode(&st)
		return st.Data["mode"] == "eco"
	})
	// The agent without a client certificate has had many heartbeat
	// intervals by now.
	if _, ok := nodes()["nocert"]; ok {
		t.Fatal("an agent without a client certificate reached the hub")
	}
}

func TestLocalAPIOverHTTPS(t *testing.T) {
	p := tlstest.New(t)
	a := startAgent(t, Config{HubURL: "nats://127.0.0.1:1", ID: "n1", HTTPTLS: tlsconf.Files{Cert: p.Server.Cert, Key: p.Server.Key}})
	cfg, err := tlsconf.Files{CA: p.CA}.Client()
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("https://" + a.HTTPAddr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz over HTTPS = %d", resp.StatusCode)
	}

	_, err = Start(context.Background(), Config{HubURL: "nats://127.0.0.1:1", ID: "n2", Logger: quiet(), HTTPTLS: tlsconf.Files{Cert: p.Server.Cert}})
	if err == nil || !strings.Contains(err.Error(), "--http-tls-cert") {
		t.Fatalf("Start with a certificate and no key = %v", err)
	}
}
