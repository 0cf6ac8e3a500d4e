#!/usr/bin/env bash
# Regenerates bench/RESULTS.md and bench/results/parallel.png from the raw
# output of bench/run.sh (results/root.txt, results/latest.txt,
# results/meta.txt), the benchstat tables it writes here
# (results/benchstat-*.txt), any profiles from bench/profile.sh
# (results/profile-*.txt) and the hand-written bench/analysis.md.
set -euo pipefail

cd "$(dirname "$0")"
GO=${GO:-go}
. ./benchstat.sh

for f in results/root.txt results/latest.txt; do
	[ -s "$f" ] || { echo "$f is missing: run bench/run.sh first" >&2; exit 1; }
done
$BENCHSTAT results/root.txt >results/benchstat-root.txt
$BENCHSTAT results/latest.txt >results/benchstat-compare.txt
$GO run ./cmd/report -results results -out RESULTS.md -analysis analysis.md
