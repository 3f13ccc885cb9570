// Package prom exports a [metrics.Aggregator] to Prometheus.
//
// [New] returns a [Collector], a prometheus.Collector that reads the
// aggregator on every scrape and exposes, for every (function, node)
// series, three metrics with the labels function and node:
//
//	edgeinfra_function_invocations_total   counter
//	edgeinfra_function_errors_total        counter
//	edgeinfra_function_duration_seconds    summary
//
// The summary follows Prometheus conventions: seconds, an all-time _count
// and _sum, and quantiles (0.5, 0.9 and 0.99 by default, within 1%) over a
// recent window, the last five minutes by default ([Options].Window). A
// quantile is NaN when the window holds no invocation, as client_golang's
// own summaries report it. The output passes promtool's metric checks.
//
// # Usage
//
//	agg := metrics.New()
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(prom.New(agg, prom.Options{}))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// # Choices
//
// Series past the aggregator's MaxSeries arrive folded into one series
// whose labels are both [metrics.OverflowID], so cardinality stays bounded.
// Error kinds are not exported as labels, since they are free-form text;
// use [metrics.Aggregator.TopErrors] for them. Label values that are not
// valid UTF-8 have their invalid bytes replaced by U+FFFD. A Collector keeps
// no state and copies nothing: every Collect reads the aggregator, costs
// O(series), and is safe for concurrent use.
package prom
