package bench_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeinfra/edgeinfra/internal/hub"
)

// hubProfileEnv, set to a directory, makes the hub process write a CPU
// profile of its whole run and a heap profile at its end there, named
// hub-<agents>.cpu.pprof and hub-<agents>.heap.pprof.
const hubProfileEnv = "EDGEINFRA_HUBSCALE_PROFILE"

// hubChildEnv makes TestHubScaleChild run a hub: BenchmarkHubScale starts
// this test binary again with it set, so that the hub has a process of its
// own whose CPU time and memory can be read apart from the load generator's.
const hubChildEnv = "EDGEINFRA_HUBSCALE_CHILD"

// TestHubScaleChild is the hub process of BenchmarkHubScale; it is skipped
// in a normal test run. It starts a hub with the defaults of `edgeinfra hub`
// (embedded NATS, memory storage, 60s heartbeat timeout), prints its
// NATS and HTTP URLs on one line, and runs until its stdin is closed.
func TestHubScaleChild(t *testing.T) {
	if os.Getenv(hubChildEnv) != "1" {
		t.Skip("the hub process of BenchmarkHubScale; runs only when started by it")
	}
	prefix := os.Getenv(hubProfileEnv)
	if prefix != "" {
		f, err := os.Create(prefix + ".cpu.pprof")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	// The prober heartbeats its 20 nodes as fast as the hub shows them,
	// far above a real agent's rate: no per-node heartbeat limit here.
	h, err := hub.Start(context.Background(), hub.Config{Logger: slog.New(slog.DiscardHandler), HeartbeatRate: -1})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("hub %s %s\n", h.NATSURL(), h.URL())
	_, _ = io.Copy(io.Discard, os.Stdin)
	if prefix != "" {
		f, err := os.Create(prefix + ".heap.pprof")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			t.Error(err)
		}
	}
	h.Close()
}

// hubProc is a hub running in a child process.
type hubProc struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	pid     int
	natsURL string
	httpURL string
}

func startHubProc(b *testing.B, agents int) *hubProc {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHubScaleChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), hubChildEnv+"=1")
	if dir := os.Getenv(hubProfileEnv); dir != "" {
		cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%s", hubProfileEnv, filepath.Join(dir, fmt.Sprintf("hub-%d", agents))))
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p := &hubProc{cmd: cmd, stdin: stdin, pid: cmd.Process.Pid}
	b.Cleanup(p.stop)
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "hub ") {
				lines <- sc.Text()
			}
		}
		close(lines)
	}()
	select {
	case line, ok := <-lines:
		if !ok {
			b.Fatal("hub process exited before it was ready")
		}
		f := strings.Fields(line)
		p.natsURL, p.httpURL = f[1], f[2]
	case <-time.After(30 * time.Second):
		b.Fatal("hub process not ready within 30s")
	}
	return p
}

// stop closes the child's stdin, which makes it close the hub and exit.
func (p *hubProc) stop() {
	p.stdin.Close()
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// cpu returns the user plus system CPU time of the hub process so far, from
// /proc/PID/stat (in clock ticks of 1/100 s, Linux's USER_HZ).
func (p *hubProc) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields count from after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("bench: malformed /proc/%d/stat", p.pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("bench: short /proc/%d/stat", p.pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bench: /proc/%d/stat: utime %q, stime %q", p.pid, f[11], f[12])
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// memory returns the hub process's resident set size now and at its peak,
// in bytes, from /proc/PID/status.
func (p *hubProc) memory() (rss, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			peak = kb << 10
		}
	}
	return rss, peak, nil
}

// selfCPU returns this process's (the load generator's) CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// promValues scrapes the hub's /metrics and returns the samples whose
// name with labels starts with one of the prefixes.
func promValues(client *http.Client, baseURL string, prefixes ...string) (map[string]float64, error) {
	resp, err := client.Get(baseURL + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		for _, p := range prefixes {
			if strings.HasPrefix(line, p) {
				i := strings.LastIndexByte(line, ' ')
				if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
					out[line[:i]] = v
				}
			}
		}
	}
	return out, sc.Err()
}
