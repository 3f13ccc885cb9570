//go:build !race

package agent

// raceEnabled tells tests that the race detector slows everything several
// times, so that they keep their default sizes within CI's budget.
const raceEnabled = false
