#!/usr/bin/env bash
# make bench-scale: what many breakers cost (cmd/scale), for the actor
# (Supervisor.GetOrCreate, DefaultConfig), the mutex variant and
# sony/gobreaker, at 1k, 10k, 100k and 1M breakers, each in its own
# process. Writes results/scale.jsonl, results/scale-meta.txt and
# results/scale.md (which bench/report.sh puts in RESULTS.md).
#
# Environment: SIZES (default "1000 10000 100000 1000000"), IMPLS (default
# "actor mutex gobreaker"), MAX_TRANSITIONS (100000: the transition phase,
# 2 s of timers per process, runs up to this many breakers).
set -euo pipefail
cd "$(dirname "$0")"
GO=${GO:-go}
SIZES=${SIZES:-"1000 10000 100000 1000000"}
IMPLS=${IMPLS:-"actor mutex gobreaker"}
MAX_TRANSITIONS=${MAX_TRANSITIONS:-100000}
mkdir -p results/.bin
$GO build -o results/.bin/scale ./cmd/scale
{
	echo "started $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "load-before $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "git $(git rev-parse --short HEAD)"
	echo "go $($GO version)"
} >results/scale-meta.txt
: >results/scale.jsonl
for n in $SIZES; do
	for impl in $IMPLS; do
		echo "scale: $impl $n (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
		results/.bin/scale -impl "$impl" -n "$n" -max-transitions "$MAX_TRANSITIONS" >>results/scale.jsonl
	done
done
echo "load-after $(cut -d' ' -f1-3 /proc/loadavg)" >>results/scale-meta.txt
results/.bin/scale -report results/scale.jsonl >results/scale.md
cat results/scale.md
