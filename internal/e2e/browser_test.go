package e2e

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/edgeinfra/edgeinfra/internal/dashboard"
	"github.com/edgeinfra/edgeinfra/internal/sim"
)

func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium found: install Debian's chromium package to run the browser test")
	return ""
}

// TestDashboardShowsTheFleet loads the dashboard of a simulated fleet in
// headless Chromium, checks that every node appears, crashes one, and
// checks that the page shows it going down.
func TestDashboardShowsTheFleet(t *testing.T) {
	bin := chromium(t)
	fleet, err := sim.Start(context.Background(), sim.Config{
		Nodes: 6, HeartbeatInterval: 200 * time.Millisecond, HeartbeatTimeout: 800 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Dashboard: dashboard.Handler(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1600),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	// The first Run starts the browser and must not carry a timeout.
	if err := chromedp.Do(ctx, chromedp.Navigate(fleet.URL())); err != nil {
		t.Fatal(err)
	}

	rowsOf := func(status string) string {
		return `Array.from(document.querySelectorAll("#nodes tr.node-row")).filter(r => r.querySelector(".pill") && r.querySelector(".pill").textContent === "` + status + `").length`
	}
	waitFor := func(what, js string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				body, _ := chromedp.Run(ctx, chromedp.Text("body"))
				t.Fatalf("the page never showed %s; it shows:\n%s", what, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	waitFor("six online nodes", rowsOf("online")+` === 6`)
	text, err := chromedp.Run(ctx, chromedp.Text("#nodes"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range fleet.NodeIDs() {
		if !strings.Contains(text, id) {
			t.Errorf("node table lacks %s", id)
		}
	}
	waitFor("live connection", `document.getElementById("conn").classList.contains("ok")`)

	victim := fleet.NodeIDs()[0]
	if err := fleet.Crash(victim); err != nil {
		t.Fatal(err)
	}
	waitFor("the crashed node offline", `Array.from(document.querySelectorAll("#nodes tr.node-row")).some(r => r.dataset.id === "`+victim+`" && r.querySelector(".pill").textContent === "offline")`)
	waitFor("5 of 6 healthy in the overview", `document.getElementById("c-unhealthy").textContent.startsWith("5 healthy")`)

	if path := os.Getenv("EDGEINFRA_SCREENSHOT"); path != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
