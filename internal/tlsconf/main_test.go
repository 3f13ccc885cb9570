package tlsconf_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The package starts no goroutines; the handshake tests serve on a real
// listener from one, which must be gone when each handshake is over.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
