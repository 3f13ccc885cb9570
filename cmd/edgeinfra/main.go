// Command edgeinfra runs the edgeinfra hub, an agent, or a simulated fleet.
//
//	edgeinfra sim                          a hub and 50 agents in one process, with a dashboard
//	edgeinfra hub   [--http ADDR] [--nats-listen ADDR | --nats-url URL] [--data DIR] [--auth auto|required|off]
//	edgeinfra hub creds create --id ID --data DIR [--out FILE]   (also list, revoke, template)
//	edgeinfra agent --hub nats://HOST:4222 --id ID [--region R] [--data DIR] [--creds FILE]
//
// Every flag can also be set by an environment variable: EDGEINFRA_ and the
// flag's name in capitals with '-' as '_' (--nats-url is EDGEINFRA_NATS_URL).
// A flag on the command line wins over the environment.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand.
type command interface {
	Run(ctx context.Context, args []string) error
}

var commands = map[string]struct {
	cmd     command
	summary string
}{
	"hub":   {hubCommand{}, "run the hub: embedded NATS JetStream, HTTP API, /metrics and dashboard; 'hub creds' issues agent credentials"},
	"agent": {agentCommand{}, "run an agent on an edge node"},
	"sim":   {simCommand{}, "run a hub and a simulated fleet with faults in one process"},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			stop()
			os.Exit(0) // help was asked for and printed
		}
		fmt.Fprintln(os.Stderr, "edgeinfra:", err)
		stop()
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return errors.New("no command given")
		}
		return flag.ErrHelp
	}
	c, ok := commands[args[0]]
	if !ok {
		usage(stderr)
		return fmt.Errorf("unknown command %q", args[0])
	}
	return c.cmd.Run(ctx, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: edgeinfra <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-6s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'edgeinfra <command> --help' for its flags. Every flag can be set as EDGEINFRA_<FLAG> too.")
}
