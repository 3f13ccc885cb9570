package statesync

import (
	"testing"

	"go.uber.org/goleak"
)

// The package starts no goroutines; the concurrency tests start many and
// must stop them all.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
