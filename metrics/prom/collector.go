package prom

import (
	"math"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeinfra/edgeinfra/metrics"
)

// Metric names, all with the labels "function" and "node".
const (
	InvocationsName = "edgeinfra_function_invocations_total"
	ErrorsName      = "edgeinfra_function_errors_total"
	DurationName    = "edgeinfra_function_duration_seconds"
)

// Options configures a [Collector]. The zero value is valid.
type Options struct {
	// Quantiles are the quantiles of the duration summary. Nil means 0.5,
	// 0.9 and 0.99; values outside [0, 1] are dropped.
	Quantiles []float64

	// Window is the time the summary's quantiles cover, as Prometheus
	// summaries do (count and sum stay all-time). Zero means
	// [metrics.MaxWindow]; larger values are clamped to it. Negative means
	// all-time quantiles, for an aggregator created with
	// [metrics.Options].NoWindows.
	Window time.Duration

	// ConstLabels are added to every metric, for example {"instance": id}.
	ConstLabels prometheus.Labels
}

// Collector is a [prometheus.Collector] that exports an aggregator's
// series. It holds no state of its own: every Collect reads the
// aggregator, so it is safe for concurrent use and always current.
type Collector struct {
	agg       *metrics.Aggregator
	quantiles []float64
	window    time.Duration
	inv       *prometheus.Desc
	errs      *prometheus.Desc
	dur       *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns a Collector for a. Register it with a registry:
// prometheus.MustRegister(prom.New(a, prom.Options{})).
func New(a *metrics.Aggregator, opts Options) *Collector {
	qs := opts.Quantiles
	if qs == nil {
		qs = []float64{0.5, 0.9, 0.99}
	}
	kept := make([]float64, 0, len(qs))
	for _, q := range qs {
		if q >= 0 && q <= 1 {
			kept = append(kept, q)
		}
	}
	w := opts.Window
	switch {
	case w == 0 || w > metrics.MaxWindow:
		w = metrics.MaxWindow
	case w < 0:
		w = -1
	}
	labels := []string{"function", "node"}
	return &Collector{
		agg:       a,
		quantiles: kept,
		window:    w,
		inv: prometheus.NewDesc(InvocationsName,
			"Function invocations recorded, by function and node.", labels, opts.ConstLabels),
		errs: prometheus.NewDesc(ErrorsName,
			"Function invocations that failed, by function and node.", labels, opts.ConstLabels),
		dur: prometheus.NewDesc(DurationName,
			"Duration of function invocations in seconds; quantiles cover the recent window, count and sum all time.",
			labels, opts.ConstLabels),
	}
}

// Describe sends the descriptors of the three metrics.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.inv
	ch <- c.errs
	ch <- c.dur
}

// Collect sends the current value of every series: O(series), with one
// merge of the series' recent latency buckets each. The overflow series,
// if any, is exported with both labels set to [metrics.OverflowID].
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, key := range c.agg.Keys(metrics.Filter{}) {
		total := c.agg.Totals(key)
		var recent metrics.Stats
		if c.window > 0 {
			recent = c.agg.Window(key, c.window)
		} else {
			recent = c.agg.Stats(key)
		}
		quantiles := make(map[float64]float64, len(c.quantiles))
		for _, q := range c.quantiles {
			v := math.NaN()
			if recent.Invocations > 0 {
				v = recent.Quantile(q).Seconds()
			}
			quantiles[q] = v
		}
		// Prometheus requires UTF-8 label values; IDs are arbitrary strings.
		fn, node := strings.ToValidUTF8(key.FunctionID, "\uFFFD"), strings.ToValidUTF8(key.NodeID, "\uFFFD")
		ch <- prometheus.MustNewConstMetric(c.inv, prometheus.CounterValue, float64(total.Invocations), fn, node)
		ch <- prometheus.MustNewConstMetric(c.errs, prometheus.CounterValue, float64(total.Errors), fn, node)
		ch <- prometheus.MustNewConstSummary(c.dur, uint64(total.Invocations), total.Sum.Seconds(), quantiles, fn, node)
	}
}
