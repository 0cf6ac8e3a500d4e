#!/usr/bin/env bash
# Mutation check: builds the library with each deliberately seeded bug
# (internal/mutant: one build tag per bug, compiled out of normal builds)
# and runs the test suite against it. Every mutant must make the suite
# fail; a mutant that survives is a missing test, and this script fails.
#
#   scripts/mutation.sh                 # every mutant
#   scripts/mutation.sh mut_rate_gt     # just some
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
GO=${GO:-go}
mutants=("$@")
if [ ${#mutants[@]} -eq 0 ]; then
	mutants=($(sed -n 's|^//go:build \(mut_[a-z_]*\)$|\1|p' internal/mutant/*_on.go | sort))
fi
survived=()
for m in "${mutants[@]}"; do
	start=$(date +%s)
	out=$($GO test -tags "$m" -count=1 -timeout 120s . ./engine ./events 2>&1)
	code=$?
	took=$(($(date +%s) - start))
	if [ $code -eq 0 ]; then
		echo "SURVIVED $m (${took}s): the suite passed with this bug in"
		survived+=("$m")
	else
		caught=$(printf '%s\n' "$out" | grep -E '^\s*--- FAIL|^panic: test timed out' | head -3 | sed 's/^ *//' | paste -sd ';' -)
		echo "caught   $m (${took}s): ${caught:-build or run failure}"
	fi
done
# A failing rapid check leaves a replay file behind; a mutant's must not
# replay against the real code.
rm -rf testdata/rapid
if [ ${#survived[@]} -gt 0 ]; then
	echo "mutation check: ${#survived[@]} of ${#mutants[@]} mutants survived: ${survived[*]}"
	exit 1
fi
echo "mutation check: all ${#mutants[@]} mutants caught"
