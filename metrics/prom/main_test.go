package prom

import (
	"testing"

	"go.uber.org/goleak"
)

// A Collector starts no goroutines; registries and gathering must not leave any.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
