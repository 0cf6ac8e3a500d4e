#!/usr/bin/env bash
# Runs the benchmarks of ARCHITECTURE §7 and prints benchstat tables.
#
#   bench/run.sh                      # COUNT=10, BENCHTIME=100ms
#   COUNT=3 BENCHTIME=50ms bench/run.sh
#
# Two binaries are built: the root package's benchmarks (bench_test.go:
# the library alone) and this module's comparison (compare_test.go: actor,
# mutex, gobreaker, failsafe-go). Each implementation runs in its own
# process (an allocating library's GC cost depends on what else is in the
# heap), and the processes are interleaved round by round, COUNT rounds of
# -test.count=1, so load that comes and goes on a shared machine spreads
# over every implementation instead of skewing the ratios.
#
# Output: results/root.txt and results/latest.txt (raw `go test -bench`
# output, benchstat's input), results/meta.txt (machine, toolchain,
# commands, load). bench/report.sh turns them into RESULTS.md.
#
# Environment: COUNT (10), BENCHTIME (100ms; every benchmark),
# TRIPTIME (2000x; trips per BenchmarkTripLatency run), GO (go).
set -euo pipefail

cd "$(dirname "$0")"
GO=${GO:-go}
COUNT=${COUNT:-10}
BENCHTIME=${BENCHTIME:-100ms}
TRIPTIME=${TRIPTIME:-2000x}
. ./benchstat.sh

IMPLS=(actor actor-exec mutex gobreaker gobreaker-twostep failsafe-permit failsafe-exec)
ROOT_BENCH='^Benchmark(AcquireSuccess|AcquireSuccessParallel|AcquireSuccessSlowTime|AcquireSuccessSlowTimeParallel|OpenRejection|OpenRejectionParallel)$'
TRIP_BENCH='^BenchmarkTripLatency(Busy)?$'

mkdir -p results/.bin
bin=results/.bin
echo "building test binaries" >&2
$GO test -c -o "$bin/compare.test" .
(cd .. && $GO test -c -o bench/"$bin/root.test" .)

root_tmp=$(mktemp) latest_tmp=$(mktemp)
trap 'rm -f "$root_tmp" "$latest_tmp"' EXIT

load() { cut -d' ' -f1-3 /proc/loadavg; }
load_before=$(load)
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)

flags=(-test.run '^$' -test.benchmem -test.count 1)
for ((round = 1; round <= COUNT; round++)); do
	echo "round $round/$COUNT (load $(load))" >&2
	# The library alone, from the root package (its directory, so that
	# relative paths in its tests hold).
	# A process that fails (a benchmark's b.Fatal, say a 5 s guard tripped
	# on an overloaded machine) is reported and the run goes on; its
	# output stays in the results, where the check below finds it.
	(cd .. && bench/"$bin/root.test" "${flags[@]}" -test.benchtime "$BENCHTIME" -test.bench "$ROOT_BENCH") >>"$root_tmp" || echo "round $round: root benchmarks failed" >&2
	(cd .. && bench/"$bin/root.test" "${flags[@]}" -test.benchtime "$TRIPTIME" -test.bench "$TRIP_BENCH") >>"$root_tmp" || echo "round $round: trip benchmarks failed" >&2
	# The comparison: one process per implementation, then the baselines.
	for impl in "${IMPLS[@]}"; do
		"$bin/compare.test" "${flags[@]}" -test.benchtime "$BENCHTIME" -test.bench "/^impl=$impl\$" >>"$latest_tmp" || echo "round $round: $impl failed" >&2
	done
	"$bin/compare.test" "${flags[@]}" -test.benchtime "$BENCHTIME" -test.bench '^BenchmarkBaseline' >>"$latest_tmp"
done

finished=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_after=$(load)

# Keep only what benchstat reads; drop the PASS/ok lines of each process.
grep -v -e '^PASS$' -e '^ok ' "$root_tmp" >results/root.txt
grep -v -e '^PASS$' -e '^ok ' "$latest_tmp" >results/latest.txt
if grep -q -e '^--- FAIL' -e '^FAIL' results/root.txt results/latest.txt; then
	echo "a benchmark failed (its other samples are kept):" >&2
	grep -e '^--- FAIL' -e '^FAIL' -A5 results/root.txt results/latest.txt >&2
	grep -h -e '^--- FAIL' -A5 results/root.txt results/latest.txt >results/failures.txt || true
fi

{
	echo "started: $started"
	echo "finished: $finished"
	echo "go: $($GO version)"
	echo "cpu: $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "nproc: $(nproc)"
	echo "gomaxprocs: $(grep -m1 -o -E -- '-[0-9]+ ' results/latest.txt | tr -d ' -')"
	echo "kernel: $(uname -sr)"
	echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo unknown)"
	echo "count: $COUNT"
	echo "benchtime: $BENCHTIME"
	echo "triptime: $TRIPTIME"
	echo "load-before: $load_before"
	echo "load-after: $load_after"
	echo "git: $(git -C .. rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C .. status --porcelain --untracked-files=no -- . ':!bench' 2>/dev/null | grep -q . && echo ' (with uncommitted changes to the library)')"
	echo "benchstat: golang.org/x/perf/cmd/benchstat@$BENCHSTAT_VERSION"
	echo "cmd-root: (cd .. && bench/$bin/root.test ${flags[*]} -test.benchtime $BENCHTIME -test.bench '$ROOT_BENCH')"
	echo "cmd-trip: (cd .. && bench/$bin/root.test ${flags[*]} -test.benchtime $TRIPTIME -test.bench '$TRIP_BENCH')"
	echo "cmd-compare: $bin/compare.test ${flags[*]} -test.benchtime $BENCHTIME -test.bench '/^impl=IMPL\$'   # for IMPL in ${IMPLS[*]}"
	echo "cmd-baseline: $bin/compare.test ${flags[*]} -test.benchtime $BENCHTIME -test.bench '^BenchmarkBaseline'"
	echo "rounds: $COUNT, each running every command above once, in that order"
} >results/meta.txt

echo >&2
echo "== the library alone (results/root.txt)" >&2
$BENCHSTAT results/root.txt
echo
echo "== comparison (results/latest.txt)" >&2
$BENCHSTAT results/latest.txt
echo >&2
echo "bench/report.sh regenerates RESULTS.md and results/parallel.png from these." >&2
