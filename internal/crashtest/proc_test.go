package crashtest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is one edgeinfra process that the test starts, kills and restarts.
type proc struct {
	name  string
	ready string // the msg of the log line that says it is serving

	mu    sync.Mutex // guards cmd, tail and waitc
	cmd   *exec.Cmd
	tail  []string      // the newest log lines of every run, for failures
	waitc chan struct{} // closed when the current run has exited
}

const tailLines = 300

// start runs the binary with args and waits for its ready line, whose
// key=value fields it returns.
func (p *proc) start(t *testing.T, args ...string) map[string]string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = childEnv()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: start: %v", p.name, err)
	}
	ready := make(chan map[string]string, 1)
	waitc := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.waitc = cmd, waitc
	p.tail = append(p.tail, fmt.Sprintf("---- %s started: %s", p.name, strings.Join(args, " ")))
	p.mu.Unlock()
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.tail = append(p.tail, line)
			if len(p.tail) > tailLines {
				p.tail = p.tail[len(p.tail)-tailLines:]
			}
			p.mu.Unlock()
			if f := logFields(line); !sent && f["msg"] == p.ready {
				ready <- f
				sent = true
			}
		}
		_ = cmd.Wait()
		close(waitc)
	}()
	select {
	case f := <-ready:
		return f
	case <-waitc:
		t.Fatalf("%s exited before it was ready:\n%s", p.name, p.logTail())
	case <-time.After(30 * time.Second):
		p.kill()
		t.Fatalf("%s not ready after 30s (it should need no repair after a kill):\n%s", p.name, p.logTail())
	}
	return nil
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	p.mu.Lock()
	cmd, waitc := p.cmd, p.waitc
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-waitc
}

// stop sends SIGTERM and waits up to 15s, then kills.
func (p *proc) stop() {
	p.mu.Lock()
	cmd, waitc := p.cmd, p.waitc
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-waitc:
	case <-time.After(15 * time.Second):
		p.kill()
	}
}

func (p *proc) logTail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail, "\n")
}

// childEnv is the test's environment without EDGEINFRA_ variables, which
// the binary would read as flags.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "EDGEINFRA_") {
			env = append(env, kv)
		}
	}
	return env
}

// logFields parses one log/slog text line: key=value pairs, values
// possibly quoted.
func logFields(line string) map[string]string {
	f := map[string]string{}
	for line != "" {
		line = strings.TrimLeft(line, " ")
		eq := strings.IndexByte(line, '=')
		if eq <= 0 {
			break
		}
		key, rest := line[:eq], line[eq+1:]
		var val string
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				break
			}
			val, _ = strconv.Unquote(q)
			rest = rest[len(q):]
		} else if sp := strings.IndexByte(rest, ' '); sp >= 0 {
			val, rest = rest[:sp], rest[sp:]
		} else {
			val, rest = rest, ""
		}
		f[key] = val
		line = rest
	}
	return f
}
