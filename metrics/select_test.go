package metrics

import (
	"errors"
	"testing"
)

func TestSnapshotSelect(t *testing.T) {
	a := New()
	a.Series("resize", "n1").Observe(10, nil)
	a.Series("resize", "n1").Observe(20, errors.New("timeout"))
	a.Series("encode", "n1").Observe(30, nil)
	a.Series("encode", "n2").Observe(40, nil)
	snap := a.Snapshot()

	got := snap.Select(func(f Filter) bool { return f.FunctionID == "resize" || f.NodeID == "n2" })
	if got.Len() != 2 || got.Invocations() != 3 || got.Errors() != 1 {
		t.Fatalf("Select kept %d series, %d invocations, %d errors; want 2, 3, 1", got.Len(), got.Invocations(), got.Errors())
	}
	hub := New()
	hub.Merge(got)
	if n := hub.TotalInvocations(Filter{FunctionID: "encode", NodeID: "n1"}); n != 0 {
		t.Fatalf("a dropped series was merged: %d invocations", n)
	}
	if n := hub.ErrorCount(Filter{FunctionID: "resize"}); n != 1 {
		t.Fatalf("resize errors = %d, want 1", n)
	}
	if none := snap.Select(func(Filter) bool { return false }); none.Len() != 0 {
		t.Fatalf("Select(none) kept %d", none.Len())
	}
	if snap.Len() != 3 {
		t.Fatalf("Select changed its receiver: %d series", snap.Len())
	}
}
