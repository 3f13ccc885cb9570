// Package depguard holds no code: its test enforces the dependency promise of
// the library packages (node, cache, health, metrics, statesync): they import
// only the standard library, except metrics, which may use DDSketch from
// github.com/DataDog/sketches-go. The daemon's dependencies (NATS,
// Prometheus, bbolt) live in the same module but never reach a program that
// imports only the library.
package depguard
