#!/usr/bin/env bash
# Mutation check: applies each deliberately seeded bug (scripts/mutants/*.patch)
# to a temporary worktree of the current code and runs the test suite there.
# Every mutant must make the suite fail; a mutant that survives is a missing
# test, and a patch that no longer applies is a stale mutant: either one fails
# this script. The shipped code carries no test switches: a bug exists only in
# the throwaway worktree.
#
#   scripts/mutation.sh                  # every mutant
#   scripts/mutation.sh rate_gt skip_epoch  # just some (file names without .patch)
#
# Uncommitted changes to tracked files are included (git stash create), so the
# check runs against what is in the working tree, not only what is committed.
# To add a mutant: change the code, `git diff > scripts/mutants/NAME.patch`,
# put a one-line description above the diff, then restore the code.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
GO=${GO:-go}
mutants=("$@")
if [ ${#mutants[@]} -eq 0 ]; then
	for f in scripts/mutants/*.patch; do
		mutants+=("$(basename "$f" .patch)")
	done
fi

base=$(git stash create)
base=${base:-HEAD}
tmp=$(mktemp -d)
cleanup() {
	git -C "$root" worktree remove --force "$tmp/wt" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

survived=()
stale=()
for m in "${mutants[@]}"; do
	patch="$root/scripts/mutants/$m.patch"
	start=$(date +%s)
	git worktree add --detach -q "$tmp/wt" "$base" || exit 2
	if ! git -C "$tmp/wt" apply "$patch" 2>"$tmp/apply.err"; then
		echo "STALE    $m: the patch no longer applies: $(head -1 "$tmp/apply.err")"
		stale+=("$m")
	else
		# -failfast: one failing test is enough, and a mutant that hangs one test
		# (a blocked publisher) must not cost the whole timeout.
		out=$(cd "$tmp/wt" && $GO test -count=1 -failfast -timeout 180s . ./engine ./events ./prom 2>&1)
		code=$?
		took=$(($(date +%s) - start))
		if [ $code -eq 0 ]; then
			echo "SURVIVED $m (${took}s): the suite passed with this bug in"
			survived+=("$m")
		else
			caught=$(printf '%s\n' "$out" | grep -E '^\s*--- FAIL|^panic: test timed out' | head -3 | sed 's/^ *//' | paste -sd ';' -)
			echo "caught   $m (${took}s): ${caught:-build or run failure}"
		fi
	fi
	git worktree remove --force "$tmp/wt"
done
if [ ${#survived[@]} -gt 0 ] || [ ${#stale[@]} -gt 0 ]; then
	echo "mutation check: ${#survived[@]} of ${#mutants[@]} mutants survived (${survived[*]:-}), ${#stale[@]} stale (${stale[*]:-})"
	exit 1
fi
echo "mutation check: all ${#mutants[@]} mutants caught"
