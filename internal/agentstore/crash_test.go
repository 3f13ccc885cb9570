package agentstore

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"go.uber.org/goleak"

	"github.com/edgeinfra/edgeinfra/statesync"
)

// crashDirEnv makes the test binary run crashChild instead of the tests.
const crashDirEnv = "AGENTSTORE_CRASH_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		if err := crashChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

var crashSyncOpts = statesync.Options{NodeID: "crash", MaxPending: 8}

// crashChild behaves as an agent: it resumes from the store, then makes
// local updates forever (until killed), each saved and one metric delta
// appended before the update is acknowledged on stdout as
// "ack <version> <seq> <acked-up-to>".
func crashChild(dir string) error {
	st, err := Open(dir)
	if err != nil {
		return err
	}
	sy := statesync.New(crashSyncOpts)
	if snap, ok, err := st.LoadSync(); err != nil {
		return err
	} else if ok {
		if sy, err = statesync.Restore(crashSyncOpts, snap); err != nil {
			return err
		}
	}
	for range 100000 {
		v := sy.LocalVersion() + 1
		sy.UpdateLocal(map[string]any{fmt.Sprint("k", v): float64(v), "last": float64(v)})
		if err := st.SaveSync(sy.Export()); err != nil {
			return err
		}
		seq, err := st.AppendDelta(fmt.Appendf(nil, "v%d", v))
		if err != nil {
			return err
		}
		ackUpTo := seq - min(seq, 3) // the hub has all but the last three
		if _, err := st.AckDeltas(ackUpTo); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(os.Stdout, "ack %d %d %d\n", v, seq, ackUpTo); err != nil {
			return err
		}
	}
	return st.Close()
}

// TestCrashKeepsAcknowledgedUpdates kills an agent-like subprocess with
// SIGKILL in the middle of its writes, several times, and checks after each
// kill that every update it acknowledged is in the store, that versions
// continue without a gap, and that no acknowledged delta is lost or its
// sequence number reused.
func TestCrashKeepsAcknowledgedUpdates(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	dir := t.TempDir()
	var lastVersion int64
	var lastSeq uint64
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		type ack struct {
			version   int64
			seq, upTo uint64
		}
		var acks []ack
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var a ack
			if _, err := fmt.Sscanf(sc.Text(), "ack %d %d %d", &a.version, &a.seq, &a.upTo); err != nil {
				t.Fatalf("round %d: child said %q", round, sc.Text())
			}
			acks = append(acks, a)
			if len(acks) == 20+7*round {
				if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred code runs
					t.Fatal(err)
				}
			}
		}
		_ = cmd.Wait()
		if len(acks) < 20+7*round {
			t.Fatalf("round %d: child stopped after %d acks", round, len(acks))
		}

		for i, a := range acks {
			if a.version != lastVersion+int64(i)+1 {
				t.Fatalf("round %d: ack %d has version %d, want %d (versions must continue)", round, i, a.version, lastVersion+int64(i)+1)
			}
			if a.seq <= lastSeq {
				t.Fatalf("round %d: sequence %d reused (last before the crash %d)", round, a.seq, lastSeq)
			}
		}
		final := acks[len(acks)-1]

		st := open(t, dir)
		snap, ok, err := st.LoadSync()
		if err != nil || !ok {
			t.Fatalf("round %d: LoadSync = %v, %v", round, ok, err)
		}
		sy, err := statesync.Restore(crashSyncOpts, snap)
		if err != nil {
			t.Fatalf("round %d: Restore: %v", round, err)
		}
		state := sy.State()
		if state.Version < final.version {
			t.Fatalf("round %d: stored version %d, but %d was acknowledged", round, state.Version, final.version)
		}
		for v := int64(1); v <= final.version; v++ {
			if got := state.Data[fmt.Sprint("k", v)]; got != float64(v) {
				t.Fatalf("round %d: acknowledged key k%d = %v, want %d", round, v, got, v)
			}
		}
		// Replaying the outbox of pending changes gives the latest value of
		// each key it holds.
		replay := map[string]any{}
		for _, ch := range sy.PendingChanges() {
			for k, v := range ch.Data {
				replay[k] = v
			}
		}
		if replay["last"] != state.Data["last"] {
			t.Fatalf("round %d: replayed last = %v, state has %v", round, replay["last"], state.Data["last"])
		}
		ds, err := st.PendingDeltas()
		if err != nil {
			t.Fatal(err)
		}
		have := map[uint64]bool{}
		for _, d := range ds {
			have[d.Seq] = true
		}
		for s := final.upTo + 1; s <= final.seq; s++ {
			if !have[s] {
				t.Fatalf("round %d: acknowledged delta %d, not yet acked to the hub, is gone (pending %v)", round, s, ds)
			}
		}
		stored, err := st.LastDeltaSeq()
		if err != nil || stored < final.seq {
			t.Fatalf("round %d: LastDeltaSeq = %d, %v; %d was acknowledged", round, stored, err, final.seq)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		lastVersion, lastSeq = state.Version, stored
		t.Logf("round %d: killed after %d acks, version %d, %d deltas pending", round, len(acks), state.Version, len(ds))
	}
}
