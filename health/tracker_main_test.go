package health

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind, such
// as a Tracker.Run loop that did not return when its context ended.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
