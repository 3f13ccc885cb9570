package health_test

import (
	"fmt"
	"time"

	"github.com/edgeinfra/edgeinfra/health"
	"github.com/edgeinfra/edgeinfra/node"
)

func ExampleMonitor_CheckCluster() {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	m := health.NewMonitor(health.Options{
		HeartbeatTimeout: 30 * time.Second,
		Now:              func() time.Time { return now },
	})
	fleet := []node.Node{
		{ID: "pop-fra-1", Region: "eu", Status: node.Online, LastHeartbeat: now.Add(-5 * time.Second)},
		{ID: "pop-ams-1", Region: "eu", Status: node.Online, LastHeartbeat: now.Add(-2 * time.Minute)},
		{ID: "pop-nyc-1", Region: "us", Status: node.Maintenance, LastHeartbeat: now},
	}
	r := m.CheckCluster(fleet)
	fmt.Printf("%d of %d healthy (%.0f%%)\n", r.Healthy, r.Total, r.HealthyPercent)
	fmt.Println("unhealthy:", r.UnhealthyNodes)
	fmt.Println("eu:", r.Regions["eu"].Healthy, "of", r.Regions["eu"].Total)
	for _, id := range r.UnhealthyNodes {
		fmt.Println(id, "-", m.History(id, 1)[0].Reason)
	}
	// Output:
	// 1 of 3 healthy (33%)
	// unhealthy: [pop-ams-1 pop-nyc-1]
	// eu: 1 of 2
	// pop-ams-1 - heartbeat timeout
	// pop-nyc-1 - status maintenance
}

func ExampleMonitor_DetectFlapping() {
	m := health.NewMonitor(health.Options{})
	n := node.Node{ID: "gw-7", Status: node.Online}
	for i := range 6 {
		if i%2 == 0 {
			n.LastHeartbeat = time.Now() // heartbeat arrives
		} else {
			n.LastHeartbeat = time.Time{} // heartbeat lost
		}
		m.CheckNode(n)
	}
	fmt.Println(m.DetectFlapping("gw-7", 10))
	// Output: true
}
