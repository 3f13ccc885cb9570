package cache_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
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

func ExampleCache_GetOrLoad() {
	c := cache.New[string, string](cache.Options{NegativeTTL: time.Minute})
	defer c.Close()
	origin := map[string]string{"fra": "Frankfurt"}
	load := func(ctx context.Context, key string) (string, error) {
		fmt.Println("loading", key)
		if v, ok := origin[key]; ok {
			return v, nil
		}
		return "", cache.ErrNotFound // remembered for NegativeTTL
	}
	ctx := context.Background()
	for _, k := range []string{"fra", "fra", "xyz", "xyz"} {
		v, err := c.GetOrLoad(ctx, k, load)
		fmt.Printf("%s: %q %v\n", k, v, err)
	}
	// Output:
	// loading fra
	// fra: "Frankfurt" <nil>
	// fra: "Frankfurt" <nil>
	// loading xyz
	// xyz: "" cache: not found
	// xyz: "" cache: not found
}

func ExampleNewWith() {
	c := cache.NewWith(cache.Options{MaxSize: 100, MaxBytes: 10}, cache.Hooks[string, string]{
		Weigher: func(key, value string) int { return len(value) },
		OnEvict: func(key, value string, cause cache.RemovalCause) {
			fmt.Printf("%s left: %s\n", key, cause)
		},
	})
	c.Put("a", "12345", cache.DefaultTTL)
	c.Put("b", "12345", cache.DefaultTTL)
	c.Get("b")
	c.Put("c", "123", cache.DefaultTTL) // over 10 bytes: evicts a, never read
	c.Put("b", "1", cache.DefaultTTL)
	c.Delete("c")
	fmt.Println(c.Stats().Bytes, "bytes")
	// Output:
	// a left: evicted
	// b left: replaced
	// c left: deleted
	// 1 bytes
}

func ExampleCache_Save() {
	c := cache.New[string, int](cache.Options{})
	c.Put("requests", 42, time.Hour)
	c.Get("requests")

	var snapshot bytes.Buffer // a file, in a real warm restart
	if err := c.Save(&snapshot); err != nil {
		panic(err)
	}
	restarted := cache.New[string, int](cache.Options{})
	if err := restarted.Load(&snapshot); err != nil {
		panic(err)
	}
	e, _ := restarted.Peek("requests")
	fmt.Println(e.Value, e.AccessCount)

	err := restarted.Load(strings.NewReader("not a snapshot"))
	fmt.Println(errors.Is(err, cache.ErrInvalidSnapshot), restarted.Len())
	// Output:
	// 42 1
	// true 1
}

func ExampleCache_All() {
	c := cache.New[string, int](cache.Options{})
	c.Put("a", 1, cache.DefaultTTL)
	c.Put("b", 2, cache.DefaultTTL)
	sum := 0
	for _, v := range c.All() {
		sum += v
	}
	fmt.Println(sum)
	// Output: 3
}
