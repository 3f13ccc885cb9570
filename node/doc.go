// Package node defines the core models shared by every edgeinfra package:
// an edge [Node] and its [Status].
//
// A Node is a plain value. Packages that keep nodes (health, the hub) copy
// them in and out, so a caller may reuse or mutate its own Node freely; only
// the Labels map is shared, and [Node.Clone] makes a deep copy when that
// matters.
//
//	n := node.Node{
//		ID:            "pop-fra-1",
//		Region:        "eu-central",
//		Status:        node.Online,
//		LastHeartbeat: time.Now(),
//	}
//	if !n.Status.Valid() { … }
package node
