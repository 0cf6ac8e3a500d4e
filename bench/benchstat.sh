# Sourced by run.sh and report.sh (from bench/, with GO set): the one place
# the benchstat version is pinned, so every table in RESULTS.md and the
# version recorded in results/meta.txt come from the same tool.
BENCHSTAT_VERSION=v0.0.0-20260908200009-22c9c6c9d4da
BENCHSTAT="$GO run golang.org/x/perf/cmd/benchstat@$BENCHSTAT_VERSION"
