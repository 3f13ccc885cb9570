package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"

	"github.com/edgeinfra/edgeinfra/internal/dashboard"
	"github.com/edgeinfra/edgeinfra/internal/sim"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// chromium returns the browser binary, or skips the test when there is none.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("EDGEINFRA_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium found: install Debian's chromium package (or set EDGEINFRA_CHROMIUM) to run the browser test")
	return ""
}

// page is a headless Chromium tab.
type page struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	problems []string // console errors and uncaught exceptions
}

// openBrowser starts headless Chromium with a throwaway profile and
// returns a tab; the browser is stopped when the test ends.
func openBrowser(t *testing.T, bin string) *page {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	p := &page{t: t, ctx: ctx}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				p.mu.Lock()
				p.problems = append(p.problems, string(m.Type)+": "+m.Text+" "+m.URL)
				p.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { cancel(); cancelAlloc(); <-done })
	return p
}

// consoleProblems returns the console errors and exceptions so far.
func (p *page) consoleProblems() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.problems...)
}

func (p *page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.t.Fatal(err)
	}
}

// waitFor polls the JavaScript expression js until it is true, and fails
// the test with the page's text if that takes more than 20 seconds.
func (p *page) waitFor(what, js string) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		// An exception while a new page loads (no body yet) means "not
		// yet"; one that lasts until the deadline is reported.
		ok, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			if err != nil {
				p.t.Fatalf("%s: %v", what, err)
			}
			body, _ := chromedp.Run(p.ctx, chromedp.Text("body"))
			p.t.Fatalf("the page never showed %s; it shows:\n%s", what, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rows is JavaScript for the node table's rows.
const rows = `Array.from(document.querySelectorAll("#nodes tr.node-row"))`

// statusOf is JavaScript for the status pill's text in the row of node id.
func statusOf(id string) string {
	return fmt.Sprintf(`(%s.find(r => r.dataset.id === %q)?.querySelector(".pill")?.textContent)`, rows, id)
}

// TestDashboardShowsTheFleet loads the dashboard of a simulated fleet in
// headless Chromium, checks that every node appears, crashes one and
// checks that the page shows it going down, then uses sorting, filtering
// and the node detail, and finally stops the hub and checks that the page
// says so.
//
// With EDGEINFRA_SCREENSHOT=file.png it also lets the charts fill for a
// while and saves a screenshot of the page (EDGEINFRA_SCREENSHOT_SCHEME=dark
// for the dark colour scheme).
func TestDashboardShowsTheFleet(t *testing.T) {
	bin := chromium(t)
	const nodes = 6
	fleet, err := sim.Start(t.Context(), sim.Config{
		Nodes: nodes, HeartbeatInterval: 200 * time.Millisecond, HeartbeatTimeout: 1500 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Dashboard: dashboard.Handler(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	p := openBrowser(t, bin)
	p.do(chromedp.Navigate(fleet.URL()))

	online := fmt.Sprintf(`%s.filter(r => r.querySelector(".pill")?.textContent === "online").length`, rows)
	p.waitFor("every node online", online+` === `+strconv.Itoa(nodes))
	p.waitFor("the live badge", `document.getElementById("conn").classList.contains("ok")`)
	text, err := chromedp.Run(p.ctx, chromedp.Text(chromedp.ID("nodes")))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range fleet.NodeIDs() {
		if !strings.Contains(text, id) {
			t.Errorf("node table lacks %s", id)
		}
	}
	p.waitFor("function rows", `document.querySelectorAll("#functions tr td").length > 1`)

	shot := os.Getenv("EDGEINFRA_SCREENSHOT")
	if shot != "" {
		letChartsFill(t)
	}
	victim := fleet.NodeIDs()[0]
	if err := fleet.Crash(victim); err != nil {
		t.Fatal(err)
	}
	p.waitFor("the crashed node offline", statusOf(victim)+` === "offline"`)
	p.waitFor("5 of 6 healthy in the overview", `document.getElementById("c-unhealthy").textContent.startsWith("5 healthy, 1 not")`)
	p.waitFor("the healthy percentage", `document.getElementById("c-healthy").textContent === "83.3%"`)
	p.waitFor("the crashed node no longer alive", fmt.Sprintf(`["suspect", "dead"].includes(%s.find(r => r.dataset.id === %q)?.querySelector(".pill.l-suspect, .pill.l-dead")?.textContent)`, rows, victim))
	p.waitFor("a node counted suspect or dead", `/[1-9] (suspect|dead)/.test(document.getElementById("c-liveness").textContent)`)

	// Sorting by status puts the worst first.
	p.do(chromedp.Click(chromedp.CSS(`th[data-sort="status"]`)))
	p.waitFor("the crashed node sorted first", rows+`[0].dataset.id === "`+victim+`"`)

	// Filtering by id leaves one row.
	p.do(chromedp.SendKeys(chromedp.ID("filter"), victim))
	p.waitFor("one row after filtering", rows+`.length === 1`)
	p.do(chromedp.SendKeys(chromedp.ID("filter"), "-nope"))
	p.waitFor("the no-match message", `document.getElementById("nodes").textContent.includes("no node matches")`)
	p.waitFor("every row back once the filter is emptied",
		`(() => { const f = document.getElementById("filter"); f.value = ""; f.dispatchEvent(new Event("input")); return `+rows+`.length === `+strconv.Itoa(nodes)+` })()`)

	// The node detail shows the health history, ending unhealthy.
	p.do(chromedp.Click(chromedp.CSS(`#nodes tr[data-id="` + victim + `"] td`)))
	p.waitFor("the node detail", `!document.getElementById("detail").classList.contains("hidden") && document.getElementById("detail-title").textContent.includes("`+victim+`")`)
	p.waitFor("a health history ending unhealthy", `(() => { const b = document.querySelectorAll("#detail-body .history span"); return b.length > 1 && b[b.length-1].classList.contains("u") && document.querySelector("#detail-body .history .h") !== null })()`)

	// On a phone-sized screen nothing overflows the page sideways.
	p.do(chromedp.EmulateViewport(390, 844))
	p.waitFor("no sideways overflow at 390px", `window.innerWidth === 390 && document.documentElement.scrollWidth <= 390`)
	p.do(chromedp.EmulateViewport(1400, 1000))

	if shot != "" {
		screenshot(t, p, shot)
	}

	// A restarted node comes back.
	if err := fleet.Restart(victim); err != nil {
		t.Fatal(err)
	}
	p.waitFor("the restarted node online", statusOf(victim)+` === "online"`)
	p.waitFor("all healthy again", `document.getElementById("c-healthy").textContent === "100%"`)
	if problems := p.consoleProblems(); len(problems) > 0 {
		t.Errorf("the page logged errors:\n%s", strings.Join(problems, "\n"))
	}

	// With the hub gone the page says so and keeps the last data, dimmed.
	if err := fleet.Close(); err != nil {
		t.Fatal(err)
	}
	p.waitFor("the hub-unreachable badge", `document.getElementById("conn").textContent.includes("hub unreachable") && document.body.classList.contains("stale")`)
	p.waitFor("the last data still shown", rows+`.length === `+strconv.Itoa(nodes))
}

// letChartsFill waits EDGEINFRA_SCREENSHOT_WAIT (default 40s) of real time
// so that the charts, which plot what the page polled, have a history.
func letChartsFill(t *testing.T) {
	t.Helper()
	wait := 40 * time.Second
	if s := os.Getenv("EDGEINFRA_SCREENSHOT_WAIT"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatal(err)
		}
		wait = d
	}
	time.Sleep(wait)
}

// screenshot saves the whole page as a PNG. It grows the viewport to the
// page's height rather than capturing beyond the viewport, so the sticky
// header stays at the top.
func screenshot(t *testing.T, p *page, path string) {
	t.Helper()
	if scheme := os.Getenv("EDGEINFRA_SCREENSHOT_SCHEME"); scheme != "" {
		features := []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}
		if _, err := chromedp.Call(p.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: features}); err != nil {
			t.Fatal(err)
		}
		p.waitFor("the "+scheme+" colour scheme", `matchMedia("(prefers-color-scheme: `+scheme+`)").matches`)
		time.Sleep(2500 * time.Millisecond) // the canvases repaint on the next poll
	}
	height, err := chromedp.Run(p.ctx, chromedp.Evaluate[int64](`window.scrollTo(0, 0), document.documentElement.scrollHeight`))
	if err != nil {
		t.Fatal(err)
	}
	p.do(chromedp.EmulateViewport(1400, height))
	p.waitFor("the page laid out at full height", `window.innerHeight >= document.documentElement.scrollHeight && window.scrollY === 0`)
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}
