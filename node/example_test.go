package node_test

import (
	"fmt"

	"github.com/edgeinfra/edgeinfra/node"
)

func ExampleStatus_Serving() {
	for _, s := range node.Statuses {
		fmt.Println(s, s.Serving())
	}
	// Output:
	// online true
	// degraded true
	// offline false
	// maintenance false
}
