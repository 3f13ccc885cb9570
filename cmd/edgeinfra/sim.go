package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/edgeinfra/edgeinfra/internal/dashboard"
	"github.com/edgeinfra/edgeinfra/internal/sim"
)

type simCommand struct{}

func (simCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("sim", "sim [--nodes 50] [--duration 0] [--http 127.0.0.1:8080] [--faults crash,partition,flap,slow]")
	nodes := fs.Int("nodes", 50, "number of simulated nodes")
	duration := fs.Duration("duration", 0, "stop after this long; 0 runs until interrupted")
	httpAddr := fs.String("http", "127.0.0.1:8080", "HTTP address of the hub's API and dashboard")
	faults := fs.String("faults", strings.Join(sim.AllFaults, ","), "faults to inject, comma-separated (empty for none)")
	every := fs.Duration("fault-every", 15*time.Second, "time between two injected faults")
	heartbeat := fs.Duration("heartbeat", time.Second, "agents' heartbeat interval")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := parse(fs, args); err != nil {
		return err
	}
	log, err := newLogger(os.Stderr, *logLevel)
	if err != nil {
		return err
	}
	var fl []string
	if *faults != "" {
		fl = strings.Split(*faults, ",")
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	f, err := sim.Start(ctx, sim.Config{
		Nodes: *nodes, HTTPAddr: *httpAddr, Faults: fl, FaultEvery: *every, HeartbeatInterval: *heartbeat,
		Seed: uint64(time.Now().UnixNano()), Logger: log, Dashboard: dashboard.Handler(),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "\n  edgeinfra sim: %d nodes, faults %v\n  dashboard  %s\n  API        %s/api/v1/nodes\n  metrics    %s/metrics\n  NATS       %s\n\n", *nodes, fl, f.URL(), f.URL(), f.URL(), f.Hub().NATSURL())
	<-ctx.Done()
	log.Info("shutting down")
	return f.Close()
}
