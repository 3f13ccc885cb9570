package cache_test

import (
	"fmt"
	"time"

	"github.com/edgeinfra/edgeinfra/cache"
)

func Example() {
	c := cache.New[string, string](cache.Options{MaxSize: 2})
	c.Put("fra", "Frankfurt", cache.DefaultTTL)
	c.Put("ams", "Amsterdam", cache.DefaultTTL)
	c.Get("fra") // fra now has one access, ams none

	c.Put("par", "Paris", cache.DefaultTTL) // full: evicts ams, the least accessed

	for _, k := range []string{"fra", "ams", "par"} {
		v, ok := c.Get(k)
		fmt.Printf("%s: %q %v\n", k, v, ok)
	}
	fmt.Printf("%+v\n", c.Stats())
	// Output:
	// fra: "Frankfurt" true
	// ams: "" false
	// par: "Paris" true
	// {Size:2 Hits:3 Misses:1 HitRate:0.75 Evictions:1 Expirations:0 StaleServed:0 Loads:0 LoadErrors:0 Refreshes:0 Bytes:0}
}

func ExampleCache_Peek() {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	c := cache.New[string, int](cache.Options{Now: func() time.Time { return now }})
	c.Put("hits", 42, time.Minute)
	c.Get("hits")

	e, ok := c.Peek("hits") // counts no access
	fmt.Println(e.Value, ok, e.AccessCount, e.ExpiresAt.Sub(e.CreatedAt))
	// Output: 42 true 1 1m0s
}

func ExampleCache_PurgeExpired() {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	c := cache.New[string, int](cache.Options{Now: func() time.Time { return now }})
	c.Put("short", 1, time.Second)
	c.Put("long", 2, time.Hour)
	c.Put("forever", 3, cache.NoExpiration)

	now = now.Add(time.Minute)
	fmt.Println("stored:", c.Len()) // expiry is lazy
	fmt.Println("purged:", c.PurgeExpired())
	fmt.Println("stored:", c.Len())
	// Output:
	// stored: 3
	// purged: 1
	// stored: 2
}
