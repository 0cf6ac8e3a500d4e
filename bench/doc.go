// Package bench compares github.com/breakerlabs/breaker (the actor Breaker
// and the MutexBreaker) with github.com/sony/gobreaker/v2 and
// github.com/failsafe-go/failsafe-go on the same workloads, against the
// performance targets of ARCHITECTURE §7.
//
// The benchmarks are in compare_test.go. run.sh runs them, one process per
// implementation, and report.sh turns the raw output into RESULTS.md and
// results/parallel.png (see cmd/report).
package bench
