package e2e

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/edgeinfra/edgeinfra/internal/agent"
	"github.com/edgeinfra/edgeinfra/internal/dashboard"
	"github.com/edgeinfra/edgeinfra/internal/hub"
)

// TestDashboardBehindToken: with --read-access token, the dashboard first
// asks for the API token, refuses a wrong one, and with the right one
// shows the fleet; the session cookie is out of the page's scripts' reach.
func TestDashboardBehindToken(t *testing.T) {
	bin := chromium(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := hub.Start(t.Context(), hub.Config{
		Logger: quiet, Dashboard: dashboard.Handler(), SweepInterval: 100 * time.Millisecond,
		APIToken: "correct-horse", ReadAccess: hub.ReadToken,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	a, err := agent.Start(t.Context(), agent.Config{HubURL: h.NATSURL(), ID: "pop-1", Region: "eu", HeartbeatInterval: 200 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	p := openBrowser(t, bin)
	p.do(chromedp.Navigate(h.URL()))
	p.waitFor("the token form", `document.querySelector("form[action='/login'] input[name=token]") !== null`)

	p.do(chromedp.SendKeys(chromedp.CSS(`input[name=token]`), "wrong-horse"), chromedp.Submit(chromedp.CSS(`form`)))
	p.waitFor("the refusal", `document.body.textContent.includes("That is not the API token.")`)

	p.do(chromedp.SendKeys(chromedp.CSS(`input[name=token]`), "correct-horse"), chromedp.Submit(chromedp.CSS(`form`)))
	p.waitFor("the node row", rows+`.some(r => r.dataset.id === "pop-1")`)
	p.waitFor("the live badge", `document.getElementById("conn").classList.contains("ok")`)
	p.waitFor("no cookie visible to scripts", `document.cookie === ""`)
}
