package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/edgeinfra/edgeinfra/internal/natsauth"
)

// credsCommand runs 'edgeinfra hub creds ...': agents' NATS credentials in
// the hub's directory (package natsauth).
func credsCommand(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, `Usage: edgeinfra hub creds <command> [flags]

Agents' NATS credentials. The hub keeps only each agent's public key, in
DIR/agents.json; the agent gets a file with its secret seed (mode 0600) to pass
as --creds. A running hub applies changes within a second, and closes the
connections of revoked agents.

Commands:
  create   --id ID --data DIR [--out FILE]   issue a credential and write the agent's file
  list     --data DIR                         list the agents that have a credential
  revoke   --id ID --data DIR                 revoke an agent's credential
  template --id ID [--data DIR]               print the agent's entry for an external NATS server's config

Run 'edgeinfra hub creds <command> --help' for its flags.
`)
		if len(args) == 0 {
			return errors.New("hub creds: no command given")
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "create":
		return credsCreate(args[1:], stdout)
	case "list":
		return credsList(args[1:], stdout)
	case "revoke":
		return credsRevoke(args[1:], stdout)
	case "template":
		return credsTemplate(args[1:], stdout)
	}
	return fmt.Errorf("hub creds: unknown command %q (want create, list, revoke or template)", args[0])
}

// credsDirFlags defines --data and --creds-dir; the returned function
// gives the directory in use, or an error when there is none.
func credsDirFlags(fs *flag.FlagSet) func() (string, error) {
	data := fs.String("data", "", "the hub's --data directory, which holds agents.json")
	dir := fs.String("creds-dir", "", "the hub's --creds-dir, if it has one (wins over --data)")
	return func() (string, error) {
		switch {
		case *dir != "":
			return *dir, nil
		case *data != "":
			return *data, nil
		}
		return "", errors.New("hub creds: --data DIR is required (the hub's --data or --creds-dir)")
	}
}

func credsCreate(args []string, stdout io.Writer) error {
	fs := newFlagSet("hub creds create", "hub creds create --id ID --data DIR [--out FILE]")
	id := fs.String("id", "", "the agent's node ID (required)")
	out := fs.String("out", "", "the agent's credentials file to write, mode 0600; default ID.creds in the current directory")
	dir := credsDirFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	d, err := dir()
	if err != nil {
		return err
	}
	if *id == "" {
		return errors.New("hub creds create: --id is required")
	}
	path := *out
	if path == "" {
		path = *id + ".creds"
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("hub creds create: %s exists; choose another --out or remove it", path)
	}
	a, seed, err := natsauth.Create(d, *id, time.Now())
	if err != nil {
		return err
	}
	if err := natsauth.WriteCreds(path, a, seed); err != nil {
		// Without the file the credential is useless: take it back.
		if _, rerr := natsauth.Revoke(d, *id); rerr != nil {
			err = fmt.Errorf("%w; also could not take back the credential: %v", err, rerr)
		}
		return err
	}
	fmt.Fprintf(stdout, "created a credential for %s (public key %s)\nwrote %s (mode 0600): copy it to the node and start the agent with --creds %s\n", a.ID, a.PublicKey, path, path)
	return nil
}

func credsList(args []string, stdout io.Writer) error {
	fs := newFlagSet("hub creds list", "hub creds list --data DIR")
	dir := credsDirFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	d, err := dir()
	if err != nil {
		return err
	}
	agents, err := natsauth.Load(d)
	if errors.Is(err, natsauth.ErrNoStore) {
		fmt.Fprintf(stdout, "no credentials in %s: agents connect without them (unless the hub runs with --auth required)\n", d)
		return nil
	}
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tPUBLIC KEY\tCREATED")
	for _, a := range agents {
		fmt.Fprintf(w, "%s\t%s\t%s\n", a.ID, a.PublicKey, a.Created.Format(time.RFC3339))
	}
	return w.Flush()
}

func credsRevoke(args []string, stdout io.Writer) error {
	fs := newFlagSet("hub creds revoke", "hub creds revoke --id ID --data DIR")
	id := fs.String("id", "", "the agent's node ID (required)")
	dir := credsDirFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	d, err := dir()
	if err != nil {
		return err
	}
	if *id == "" {
		return errors.New("hub creds revoke: --id is required")
	}
	a, err := natsauth.Revoke(d, *id)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "revoked %s (public key %s): a running hub closes its connections within a second\n", a.ID, a.PublicKey)
	return nil
}

func credsTemplate(args []string, stdout io.Writer) error {
	fs := newFlagSet("hub creds template", "hub creds template --id ID [--data DIR]")
	id := fs.String("id", "", "the agent's node ID (required)")
	dir := credsDirFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *id == "" {
		return errors.New("hub creds template: --id is required")
	}
	pub := "U...the agent's public key (hub creds create prints it)..."
	if d, err := dir(); err == nil {
		agents, err := natsauth.Load(d)
		if err != nil && !errors.Is(err, natsauth.ErrNoStore) {
			return err
		}
		for _, a := range agents {
			if a.ID == *id {
				pub = a.PublicKey
			}
		}
	}
	fmt.Fprint(stdout, natsauth.Template(*id, pub))
	return nil
}

// authFlags defines the hub's --auth and --creds-dir.
func authFlags(fs *flag.FlagSet) (auth, credsDir *string) {
	auth = fs.String("auth", "auto", "NATS credentials for agents: auto (required once 'hub creds create' made the store in --creds-dir or --data), required, or off; see 'edgeinfra hub creds --help'")
	credsDir = fs.String("creds-dir", "", "directory of the agents' credentials store (agents.json); default --data")
	return auth, credsDir
}
