// Package sim provides a whole edgeinfra fleet in one process: a hub and N
// agents connected over real NATS on loopback, simulated function traffic,
// and faults injected on a schedule. It is what `edgeinfra sim` runs, and
// what the end-to-end tests of hub and agents start.
//
// # Starting a fleet
//
// [Start] starts the hub (internal/hub) and Config.Nodes agents
// (internal/agent), waits until the hub has seen every node, then starts
// traffic and the fault schedule:
//
//	f, err := sim.Start(ctx, sim.Config{Nodes: 20, Faults: sim.AllFaults})
//	if err != nil {
//		return err
//	}
//	defer f.Close()
//	fmt.Println("dashboard:", f.URL())
//
// The hub runs without a data directory, so its NATS server does not
// require agent credentials (package hub, Agent credentials and
// permissions): the simulated fleet is one trusted process, and the
// credential paths have their own tests.
//
// Node IDs are "<region>-<n>" (n zero-padded to the width of Config.Nodes),
// spread round-robin over Config.Regions.
//
// # Traffic
//
// Ten times a second every running agent records 0 to 3 invocations of each
// of four functions (image-resize, auth-check, geo-lookup, video-transcode)
// with log-normal latencies around a per-function median and per-function
// error rates with realistic error kinds. Regions differ: each further
// region in Config.Regions is slower and a little less reliable than the
// first, as regions far from the origin are. A node hit by the slow fault
// is ten times slower and fails ten times as often.
//
// # Faults
//
// Every Config.FaultEvery the schedule picks a random node and the next
// fault kind in Config.Faults, logs what it injects, and undoes it about two
// periods later:
//
//   - crash: the agent is closed, so the hub sees it go suspect then dead,
//     and restarts later with an empty state (a new lineage)
//   - partition: every agent of the node's region loses its NATS connection
//     and keeps working offline, then reconnects and catches up
//   - flap: the node's heartbeats stop and resume a few times
//   - slow: latencies spike and the node reports itself degraded
//
// [Fleet.Crash] and [Fleet.Restart] inject the crash fault on demand.
//
// # Concurrency
//
// The methods of a [Fleet] are safe for concurrent use. [Fleet.Close] stops
// traffic and faults, closes every agent and then the hub, and waits for
// every goroutine it started. The random choices come from Config.Seed, but
// timing makes runs differ.
package sim
