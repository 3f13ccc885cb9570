package dashboard

import (
	"testing"

	"go.uber.org/goleak"
)

// The handler starts no goroutines, and must not start any that outlive a
// request.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
