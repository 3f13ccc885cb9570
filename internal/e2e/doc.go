// Package e2e provides end-to-end tests that drive the dashboard of a
// simulated fleet (internal/sim: a hub and agents over real NATS on
// loopback) in a real headless Chromium through the DevTools protocol.
//
// # Running
//
// The tests look for chromium, chromium-browser or google-chrome on PATH,
// or take the binary from EDGEINFRA_CHROMIUM, and skip when there is none:
//
//	apt-get install -y chromium
//	go test ./internal/e2e/
//
// The browser runs headless without a sandbox (so it works as root in a
// container), with a throwaway profile, and fetches nothing but the
// dashboard.
//
// # Screenshots
//
// EDGEINFRA_SCREENSHOT=docs/dashboard.png lets the charts fill for
// EDGEINFRA_SCREENSHOT_WAIT (default 40s) and saves the page as a PNG;
// EDGEINFRA_SCREENSHOT_SCHEME=dark renders the dark colour scheme.
package e2e
