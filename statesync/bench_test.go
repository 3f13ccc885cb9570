package statesync

import (
	"strconv"
	"testing"
)

func BenchmarkUpdateLocal(b *testing.B) {
	for _, maxPending := range []int{100, 10000} {
		b.Run("max_pending="+strconv.Itoa(maxPending), func(b *testing.B) {
			s := New(Options{MaxPending: maxPending})
			keys := make([]string, 1000)
			for i := range keys {
				keys[i] = "key" + strconv.Itoa(i)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s.UpdateLocal(map[string]any{keys[i%len(keys)]: float64(i)})
				i++
			}
		})
	}
}

func BenchmarkApplyRemote(b *testing.B) {
	s := New(Options{})
	data := map[string]any{"a": 1.0, "b": "x", "c": map[string]any{"d": 2.0}}
	b.ReportAllocs()
	v := int64(0)
	for b.Loop() {
		v++
		s.ApplyRemote(State{Version: v, Data: data})
	}
}

func BenchmarkUpdateLocalParallel(b *testing.B) {
	s := New(Options{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.UpdateLocal(map[string]any{"k": 1.0})
		}
	})
}
