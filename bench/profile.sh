#!/usr/bin/env bash
# Profiles the hot paths behind the ARCHITECTURE §7 targets, writing
# `go tool pprof -top` output to results/profile-*.txt for report.sh:
#
#   closed-serial    CPU, BenchmarkAcquireSuccess/impl=actor
#   closed-parallel  CPU, BenchmarkAcquireSuccessParallel/impl=actor
#   slowtime-serial  CPU, BenchmarkAcquireSuccessSlowTime/impl=actor
#   open-serial      CPU, BenchmarkOpenRejection/impl=actor
#   churn            CPU, bench/ BenchmarkChurn/impl=actor (the recovery
#                    cycle: trip, half-open, probe, close), and the same
#                    for gobreaker beside it (churn-gobreaker)
#   parallel-8       CPU, bench/ BenchmarkParallel/impl=actor/p=4 (8
#                    goroutines on one breaker), and failsafe-go's permit
#                    API beside it (parallel-8-failsafe)
#   trip-sched       scheduler latency (runtime trace, go tool trace
#                    -pprof=sched) of BenchmarkTripLatency/impl=actor:
#                    where goroutines waited to run after becoming runnable
#
# The CPU profiles run with GODEBUG=asyncpreemptoff=1: on this loaded VM,
# with async preemption on, a third to a half of the samples of the actor's
# fast path land in runtime.asyncPreempt, spread over every function of the
# path, while turning it off leaves ns/op unchanged (within the noise), so
# those samples are misattributed and would hide the real distribution.
#
# Environment: PROFTIME (2s), GO (go).
set -euo pipefail

cd "$(dirname "$0")"
GO=${GO:-go}
PROFTIME=${PROFTIME:-2s}
bin=results/.bin
mkdir -p "$bin"
(cd .. && $GO test -c -o bench/"$bin/root.test" .)
$GO test -c -o "$bin/compare.test" .

cpu() { # name benchmark-pattern
	local name=$1 pattern=$2 prof="$bin/$1.pprof"
	echo "profiling $pattern" >&2
	(cd .. && GODEBUG=asyncpreemptoff=1 bench/"$bin/root.test" -test.run '^$' -test.bench "$pattern" \
		-test.benchtime "$PROFTIME" -test.cpuprofile bench/"$prof") >"$bin/$name.bench"
	{
		echo "\$ GODEBUG=asyncpreemptoff=1 go test -run '^\$' -bench '$pattern' -benchtime $PROFTIME -cpuprofile $name.pprof ."
		grep '^Benchmark' "$bin/$name.bench"
		echo "\$ go tool pprof -top -nodecount 25 root.test $name.pprof"
		$GO tool pprof -top -nodecount 25 "$bin/root.test" "$prof" 2>/dev/null
	} >"results/profile-$name.txt"
}

# cpucmp profiles a benchmark of bench/compare_test.go (this module).
cpucmp() { # name benchmark-pattern
	local name=$1 pattern=$2 prof="$bin/$1.pprof"
	echo "profiling $pattern" >&2
	GODEBUG=asyncpreemptoff=1 "$bin/compare.test" -test.run '^$' -test.bench "$pattern" -test.benchmem \
		-test.benchtime "$PROFTIME" -test.cpuprofile "$prof" >"$bin/$name.bench"
	{
		echo "\$ (cd bench && GODEBUG=asyncpreemptoff=1 go test -run '^\$' -bench '$pattern' -benchmem -benchtime $PROFTIME -cpuprofile $name.pprof .)"
		grep '^Benchmark' "$bin/$name.bench"
		echo "\$ go tool pprof -top -nodecount 25 compare.test $name.pprof"
		$GO tool pprof -top -nodecount 25 "$bin/compare.test" "$prof" 2>/dev/null
	} >"results/profile-$name.txt"
}

cpu closed-serial '^BenchmarkAcquireSuccess$/^impl=actor$'
cpu closed-parallel '^BenchmarkAcquireSuccessParallel$/^impl=actor$'
cpu slowtime-serial '^BenchmarkAcquireSuccessSlowTime$/^impl=actor$'
cpu open-serial '^BenchmarkOpenRejection$/^impl=actor$'
cpucmp churn '^BenchmarkChurn$/^impl=actor$'
cpucmp churn-gobreaker '^BenchmarkChurn$/^impl=gobreaker$'
cpucmp parallel-8 '^BenchmarkParallel$/^impl=actor$/^p=4$'
cpucmp parallel-8-failsafe '^BenchmarkParallel$/^impl=failsafe-permit$/^p=4$'

echo "tracing BenchmarkTripLatency/impl=actor" >&2
(cd .. && bench/"$bin/root.test" -test.run '^$' -test.bench '^BenchmarkTripLatency$/^impl=actor$' -test.benchtime 2000x \
	-test.trace bench/"$bin/trip.trace") >"$bin/trip.bench"
$GO tool trace -pprof=sched "$bin/trip.trace" >"$bin/trip-sched.pprof"
{
	echo "\$ go test -run '^\$' -bench 'BenchmarkTripLatency/impl=actor' -benchtime 2000x -trace trip.trace ."
	grep '^Benchmark' "$bin/trip.bench"
	echo "\$ go tool trace -pprof=sched trip.trace >trip-sched.pprof"
	echo "\$ go tool pprof -top -nodecount 25 trip-sched.pprof"
	$GO tool pprof -top -nodecount 25 "$bin/trip-sched.pprof" 2>/dev/null
} >results/profile-trip-sched.txt
ls results/profile-*.txt
