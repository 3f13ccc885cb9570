// Package e2e holds end-to-end tests that drive the dashboard of a
// simulated fleet in a real headless Chromium. They skip when no Chromium
// is installed (CI installs Debian's chromium package).
package e2e
