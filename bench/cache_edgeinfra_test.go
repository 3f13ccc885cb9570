package bench_test

// edgeinfraCaches returns our cache in each available policy.
func edgeinfraCaches[K benchKey]() []cacheMaker[K] { return nil }
