package cache

// placeholder replaced below
func newTinyLFU[K comparable, V any](int) policy[K, V] { return &lfuHeap[K, V]{} }

type readBuffer[K comparable, V any] struct{}

func newReadBuffer[K comparable, V any]() *readBuffer[K, V] { return nil }

func (c *Cache[K, V]) recordRead(*entry[K, V]) {}
