package prom

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/edgeinfra/edgeinfra/metrics"
)

// scrape registers c on a pedantic registry (which also checks Describe
// against Collect), renders the text exposition and lints it like
// `promtool check metrics`.
func scrape(t *testing.T, c prometheus.Collector) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	var buf bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			t.Fatal(err)
		}
	}
	problems, err := promlint.New(bytes.NewReader(buf.Bytes())).Lint()
	if err != nil {
		t.Fatalf("promlint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	return buf.String()
}

func parse(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parsing the exposition back: %v\n%s", err, text)
	}
	return mfs
}

func labelsOf(m *dto.Metric) string {
	var parts []string
	for _, lp := range m.GetLabel() {
		parts = append(parts, lp.GetName()+"="+lp.GetValue())
	}
	return strings.Join(parts, ",")
}

func TestCollectorExposition(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := metrics.NewWithOptions(metrics.Options{Now: func() time.Time { return now }})
	for i := range 100 {
		a.Record(metrics.Invocation{FunctionID: "resize", NodeID: "fra-1", Duration: time.Duration(i+1) * time.Millisecond, Success: i%10 != 0, Error: "timeout"})
	}
	a.Record(metrics.Invocation{FunctionID: "auth", NodeID: "ams-1", Duration: 2 * time.Second, Success: true})
	mfs := parse(t, scrape(t, New(a, Options{ConstLabels: prometheus.Labels{"instance": "hub-1"}})))

	type want struct {
		inv, errs float64
		count     uint64
		sum       float64
		p50, p99  float64
	}
	wants := map[string]want{
		"function=resize,instance=hub-1,node=fra-1": {100, 10, 100, 5.05, 0.050, 0.099},
		"function=auth,instance=hub-1,node=ams-1":   {1, 0, 1, 2, 2, 2},
	}
	for name, typ := range map[string]dto.MetricType{
		InvocationsName: dto.MetricType_COUNTER,
		ErrorsName:      dto.MetricType_COUNTER,
		DurationName:    dto.MetricType_SUMMARY,
	} {
		mf := mfs[name]
		if mf == nil || mf.GetType() != typ || len(mf.GetMetric()) != len(wants) {
			t.Fatalf("family %s = %v, want %d %v metrics", name, mf, len(wants), typ)
		}
	}
	for _, m := range mfs[InvocationsName].GetMetric() {
		if w, ok := wants[labelsOf(m)]; !ok || m.GetCounter().GetValue() != w.inv {
			t.Errorf("invocations{%s} = %v, want %v", labelsOf(m), m.GetCounter().GetValue(), w.inv)
		}
	}
	for _, m := range mfs[ErrorsName].GetMetric() {
		if w := wants[labelsOf(m)]; m.GetCounter().GetValue() != w.errs {
			t.Errorf("errors{%s} = %v, want %v", labelsOf(m), m.GetCounter().GetValue(), w.errs)
		}
	}
	for _, m := range mfs[DurationName].GetMetric() {
		w, s := wants[labelsOf(m)], m.GetSummary()
		if s.GetSampleCount() != w.count || math.Abs(s.GetSampleSum()-w.sum) > 1e-9 {
			t.Errorf("duration{%s} count %d sum %v, want %d %v", labelsOf(m), s.GetSampleCount(), s.GetSampleSum(), w.count, w.sum)
		}
		got := map[float64]float64{}
		for _, q := range s.GetQuantile() {
			got[q.GetQuantile()] = q.GetValue()
		}
		if len(got) != 3 || math.Abs(got[0.5]-w.p50) > w.p50*metrics.RelativeAccuracy || math.Abs(got[0.99]-w.p99) > w.p99*metrics.RelativeAccuracy {
			t.Errorf("duration{%s} quantiles %v, want p50 %v p99 %v within 1%%", labelsOf(m), got, w.p50, w.p99)
		}
	}
}

func TestCollectorWindow(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := metrics.NewWithOptions(metrics.Options{Now: func() time.Time { return now }})
	a.Record(metrics.Invocation{FunctionID: "f", NodeID: "n", Duration: time.Second, Success: true})
	now = now.Add(10 * time.Minute)

	tests := []struct {
		name    string
		opts    Options
		wantNaN bool
	}{
		{"default window is past", Options{}, true},
		{"all-time quantiles", Options{Window: -1}, false},
		{"custom quantiles, too-long window clamps", Options{Quantiles: []float64{0.75, 2}, Window: time.Hour}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mfs := parse(t, scrape(t, New(a, tt.opts)))
			s := mfs[DurationName].GetMetric()[0].GetSummary()
			if s.GetSampleCount() != 1 {
				t.Errorf("count = %d, want 1 (all time)", s.GetSampleCount())
			}
			for _, q := range s.GetQuantile() {
				if math.IsNaN(q.GetValue()) != tt.wantNaN {
					t.Errorf("quantile %v = %v, want NaN: %v", q.GetQuantile(), q.GetValue(), tt.wantNaN)
				}
				if q.GetQuantile() > 1 {
					t.Errorf("invalid quantile %v exported", q.GetQuantile())
				}
			}
		})
	}
}

func TestCollectorOddLabelsAndOverflow(t *testing.T) {
	a := metrics.NewWithOptions(metrics.Options{MaxSeries: 1})
	a.Record(metrics.Invocation{FunctionID: "bad\xffname", NodeID: `quote" and \ newline` + "\n", Duration: time.Millisecond, Success: true})
	a.Record(metrics.Invocation{FunctionID: "g", NodeID: "n", Duration: time.Millisecond, Success: true})
	text := scrape(t, New(a, Options{}))
	mfs := parse(t, text)
	got := map[string]bool{}
	for _, m := range mfs[InvocationsName].GetMetric() {
		got[labelsOf(m)] = true
	}
	for _, want := range []string{
		"function=bad\uFFFDname,node=quote\" and \\ newline\n",
		"function=" + metrics.OverflowID + ",node=" + metrics.OverflowID,
	} {
		if !got[want] {
			t.Errorf("missing series %q in %v", want, got)
		}
	}
}

func TestCollectorEmpty(t *testing.T) {
	if text := scrape(t, New(metrics.New(), Options{})); text != "" {
		t.Errorf("empty aggregator exposes %q", text)
	}
}
