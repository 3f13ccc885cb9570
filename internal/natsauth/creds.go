package natsauth

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/nats-io/nkeys"

	"github.com/edgeinfra/edgeinfra/internal/wire"
)

// maxCredsSize bounds a credentials file: the real one is well under 1 KiB.
const maxCredsSize = 64 << 10

const nodeLine = "# node: "

// CredsFile is the content of an agent's credentials file: comments that
// name the node, then the seed in the decorated format that nats.go's
// NkeyOptionFromSeed and the nats CLI read.
func CredsFile(a Agent, seed []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# edgeinfra agent credentials, issued %s by 'edgeinfra hub creds create'.\n", a.Created.Format("2006-01-02T15:04:05Z07:00"))
	fmt.Fprintf(&b, "# The seed below is this agent's secret: keep the file mode 0600 and give it\n")
	fmt.Fprintf(&b, "# to the agent with --creds (EDGEINFRA_CREDS). Public key: %s\n", a.PublicKey)
	fmt.Fprintf(&b, "%s%s\n", nodeLine, a.ID)
	fmt.Fprintf(&b, "-----BEGIN USER NKEY SEED-----\n%s\n------END USER NKEY SEED------\n", seed)
	return b.Bytes()
}

// WriteCreds writes an agent's credentials file at path with mode 0600. An
// existing file is an error, so a credential is never overwritten by
// mistake.
func WriteCreds(path string, a Agent, seed []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("natsauth: %s exists; choose another --out or remove it", path)
		}
		return fmt.Errorf("natsauth: %w", err)
	}
	if _, err := f.Write(CredsFile(a, seed)); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("natsauth: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("natsauth: %w", err)
	}
	return nil
}

// Creds is a parsed credentials file.
type Creds struct {
	// Node is the node ID the file was issued for; empty for a plain nkey
	// seed file, which names none.
	Node string
	// PublicKey is the user nkey's public key.
	PublicKey string
	kp        nkeys.KeyPair
}

// Sign signs the server's nonce, for nats.Nkey.
func (c *Creds) Sign(nonce []byte) ([]byte, error) { return c.kp.Sign(nonce) }

// ParseCreds parses a credentials file: [CredsFile]'s format, or any file
// nats.NkeyOptionFromSeed reads (a user seed, decorated or on its own line).
func ParseCreds(b []byte) (*Creds, error) {
	if len(b) > maxCredsSize {
		return nil, fmt.Errorf("%d bytes is too large for a credentials file (at most %d)", len(b), maxCredsSize)
	}
	var c Creds
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if id, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), nodeLine); ok {
			if err := wire.ValidNodeID(id); err != nil {
				return nil, fmt.Errorf("the %q line: %w", strings.TrimSpace(nodeLine), err)
			}
			c.Node = id
			break
		}
	}
	kp, err := nkeys.ParseDecoratedUserNKey(b)
	if err != nil {
		return nil, fmt.Errorf("no NATS user nkey seed (SU…) found (%v); use the file 'edgeinfra hub creds create' wrote", err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("nkey seed: %w", err)
	}
	c.PublicKey, c.kp = pub, kp
	return &c, nil
}

// ReadCreds reads and parses the credentials file at path for node id: a
// file issued for another node is an error (the hub would refuse every
// message anyway). A file others can read is refused too, as ssh does for
// keys, since anyone who reads it can act as the node.
func ReadCreds(path, id string) (*Creds, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--creds: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("--creds %s: mode %v lets other users read the agent's secret; chmod 600 %s", path, st.Mode().Perm(), path)
	}
	b, err := readFileLimit(path, maxCredsSize)
	if err != nil {
		return nil, fmt.Errorf("--creds: %w", err)
	}
	c, err := ParseCreds(b)
	if err != nil {
		return nil, fmt.Errorf("--creds %s: %w", path, err)
	}
	if c.Node != "" && c.Node != id {
		return nil, fmt.Errorf("--creds %s was issued for node %q, not %q", path, c.Node, id)
	}
	return c, nil
}

func readFileLimit(path string, limit int) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, fmt.Errorf("%s is %d bytes, too large for a credentials file", path, len(b))
	}
	return b, nil
}
