package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/edgeinfra/edgeinfra/internal/creds"
	"github.com/edgeinfra/edgeinfra/internal/wire"
)

// stdout receives the creds commands' output; tests replace it.
var stdout io.Writer = os.Stdout

// credsCommand is `edgeinfra hub creds`: agent credentials in the hub's
// data directory.
type credsCommand struct{}

const credsUsage = `Usage: edgeinfra hub creds <command> [flags]

Commands:
  create    --id ID --data DIR [--out FILE]   issue an agent's credentials (an nkey seed file, mode 0600)
  list      --data DIR                        list issued credentials, active and revoked
  revoke    --id ID --data DIR                revoke an agent's credentials; a running hub drops it
  template  --id ID [--data DIR]              NATS server config for an agent, for a cluster the hub does not manage (--nats-url)

A running hub picks up created and revoked credentials within a second.
Run 'edgeinfra hub creds <command> --help' for its flags.`

func (credsCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(os.Stderr, credsUsage)
		if len(args) == 0 {
			return errors.New("hub creds: no command given")
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "create":
		return credsCreate(args[1:])
	case "list":
		return credsList(args[1:])
	case "revoke":
		return credsRevoke(args[1:])
	case "template":
		return credsTemplate(args[1:])
	}
	fmt.Fprintln(os.Stderr, credsUsage)
	return fmt.Errorf("hub creds: unknown command %q", args[0])
}

func credsCreate(args []string) error {
	fs := newFlagSet("hub creds create", "hub creds create --id ID --data DIR [--out FILE]")
	id := fs.String("id", "", "the agent's node ID (required)")
	data := fs.String("data", "", "the hub's data directory (required)")
	out := fs.String("out", "", "the agent's credentials file to write; empty means ID.creds in the current directory")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return errors.New("hub creds create: --data is required (the hub's --data directory)")
	}
	if *out == "" {
		*out = *id + ".creds"
	}
	rec, err := creds.Create(*data, *id, *out, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "issued credentials for %s (public key %s)\nwrote %s (mode 0600): copy it to the node and keep it secret\nrun: edgeinfra agent --hub nats://HUB:4222 --id %s --creds %s\n",
		rec.ID, rec.PublicKey, *out, rec.ID, *out)
	if recs, err := creds.Load(*data); err == nil && len(recs) == 1 {
		fmt.Fprintf(stdout, "note: this is the first credential in %s: a hub on it with --auth auto now requires credentials from every agent, and disconnects those without\n", *data)
	}
	return nil
}

func credsList(args []string) error {
	fs := newFlagSet("hub creds list", "hub creds list --data DIR")
	data := fs.String("data", "", "the hub's data directory (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return errors.New("hub creds list: --data is required (the hub's --data directory)")
	}
	recs, err := creds.Load(*data)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tCREATED\tREVOKED\tPUBLIC KEY")
	for _, r := range recs {
		status, revoked := "active", "-"
		if !r.Active() {
			status, revoked = "revoked", r.Revoked.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, status, r.Created.Format(time.RFC3339), revoked, r.PublicKey)
	}
	return tw.Flush()
}

func credsRevoke(args []string) error {
	fs := newFlagSet("hub creds revoke", "hub creds revoke --id ID --data DIR")
	id := fs.String("id", "", "the agent's node ID (required)")
	data := fs.String("data", "", "the hub's data directory (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return errors.New("hub creds revoke: --data is required (the hub's --data directory)")
	}
	rec, err := creds.Revoke(*data, *id, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "revoked credentials of %s (public key %s); a running hub disconnects it within a second\n", rec.ID, rec.PublicKey)
	return nil
}

func credsTemplate(args []string) error {
	fs := newFlagSet("hub creds template", "hub creds template --id ID [--data DIR]")
	id := fs.String("id", "", "the agent's node ID (required)")
	data := fs.String("data", "", "a data directory to take the agent's public key from; without it the key is a placeholder")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := wire.ValidNodeID(*id); err != nil {
		return fmt.Errorf("hub creds template: --id: %w", err)
	}
	key := "<public key of " + *id + ">"
	if *data != "" {
		recs, err := creds.Load(*data)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r.ID == *id && r.Active() {
				key = r.PublicKey
			}
		}
	}
	fmt.Fprint(stdout, natsTemplate(*id, key))
	return nil
}

// natsTemplate renders the NATS server configuration that gives agent id
// (nkey key) exactly the permissions the embedded server gives it.
func natsTemplate(id, key string) string {
	p := wire.AgentPermissions(id)
	quote := func(subjects []string) string {
		q := make([]string, len(subjects))
		for i, s := range subjects {
			q[i] = fmt.Sprintf("%q", s)
		}
		return strings.Join(q, ",\n          ")
	}
	return fmt.Sprintf(`# edgeinfra agent %[1]s: add this user to the users list of the
# authorization block (or of the account the hub uses) of every server of
# the NATS cluster. The hub itself needs a user without these limits.
{
  nkey: %[2]q
  permissions: {
    publish: {
      allow: [
          %[3]s
      ]
    }
    subscribe: {
      allow: [
          %[4]s
      ]
    }
  }
}
`, id, key, quote(p.Publish), quote(p.Subscribe))
}
