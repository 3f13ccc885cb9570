package main

import (
	"context"
	"os"
	"time"

	"github.com/edgeinfra/edgeinfra/internal/agent"
	"github.com/edgeinfra/edgeinfra/statesync"
)

type agentCommand struct{}

func (agentCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("agent", "agent --hub nats://HOST:4222 --id ID [--region R] [--heartbeat 5s] [--http 127.0.0.1:8090] [--data DIR]")
	hubURL := fs.String("hub", "", "NATS URL of the hub (required)")
	id := fs.String("id", "", "this node's ID: letters, digits, '-' and '_' (required)")
	region := fs.String("region", "", "this node's region")
	heartbeat := fs.Duration("heartbeat", 5*time.Second, "heartbeat interval")
	push := fs.Duration("push", time.Second, "how often state changes and metric deltas are sent")
	httpAddr := fs.String("http", "127.0.0.1:8090", "address of the local API")
	data := fs.String("data", "", "directory for durable state; empty keeps it in memory")
	strategy := fs.String("strategy", "remote_wins", "conflict strategy for desired state: remote_wins, local_wins or latest_wins")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	tlsFiles := tlsFlags(fs,
		"PEM client certificate to present to the hub's NATS (with --tls-key), for a hub with --tls-ca",
		"PEM CA bundle that verifies the hub's NATS certificate (the system's roots without it)")
	httpTLS := httpTLSFlags(fs)
	apiToken := fs.String("api-token", "", "bearer token required by the local API's writes (PUT, POST, DELETE)")
	apiRate := fs.Float64("api-rate", 5000, "writes per second the local API accepts, answering 429 with Retry-After past it; negative for no limit")
	apiBurst := fs.Int("api-burst", 0, "writes the local API accepts at once; 0 means --api-rate")
	maxFunctions := fs.Int("max-functions", 1000, "distinct function IDs POST /v1/invocations accepts (keep it within the hub's --max-series-per-node); negative for no limit")
	if err := parse(fs, args); err != nil {
		return err
	}
	log, err := newLogger(os.Stderr, *logLevel)
	if err != nil {
		return err
	}
	st, err := statesync.ParseStrategy(*strategy)
	if err != nil {
		return err
	}
	a, err := agent.Start(ctx, agent.Config{
		HubURL: *hubURL, ID: *id, Region: *region, HeartbeatInterval: *heartbeat, PushInterval: *push,
		HTTPAddr: *httpAddr, DataDir: *data, Strategy: st, Logger: log,
		TLS: *tlsFiles, HTTPTLS: *httpTLS, APIToken: *apiToken, APIRate: *apiRate, APIBurst: *apiBurst,
		MaxFunctions: *maxFunctions,
	})
	if err != nil {
		return err
	}
	<-ctx.Done()
	log.Info("shutting down")
	return a.Close()
}
