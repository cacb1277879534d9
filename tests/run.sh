#!/usr/bin/env bash
# The whole test suite: cmocka unit tests, then integration tests that drive
# the real binaries over loopback.  Prints "N passed, N failed" last and
# exits non-zero if anything failed.
#   tests/run.sh            everything
#   tests/run.sh unit       unit tests only
#   tests/run.sh integ [T]  integration tests only (optionally one script)
set -u
cd "$(dirname "$0")/.." || exit 2
mode=${1:-all}
only=${2:-}
passed=0
failed=0
failures=()

if [ "$mode" = all ] || [ "$mode" = unit ]; then
	for t in "${BUILD:-build}"/tests/test_*; do
		[ -x "$t" ] || continue
		[ "${t##*.}" = d ] && continue
		echo "== unit: $t"
		out=$("$t" 2>&1)
		rc=$?
		printf '%s\n' "$out" | grep -E '^\[ +(OK|FAILED|PASSED|ERROR) +\]|^\[==========\]' | grep -v '^\[ *OK' || true
		p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
		f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
		p=${p:-0}
		f=${f:-0}
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1  # crashed or exited badly without a summary
			printf '%s\n' "$out" | tail -20
		fi
		if [ "$f" -gt 0 ]; then
			printf '%s\n' "$out" | grep -E 'FAILED|ERROR|Failure|error:' | head -20
			failures+=("$t")
		fi
		passed=$((passed + p))
		failed=$((failed + f))
	done
fi

if [ "$mode" = all ] || [ "$mode" = integ ]; then
	for s in tests/integration/t_*.sh; do
		[ -n "$only" ] && [ "$(basename "$s")" != "$only" ] && continue
		echo "== integration: $s"
		out=$(timeout 300 bash "$s" 2>&1)
		rc=$?
		printf '%s\n' "$out" | grep -E '^(ok|not ok|#)' || true
		p=$(printf '%s\n' "$out" | grep -c '^ok ')
		f=$(printf '%s\n' "$out" | grep -c '^not ok ')
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1
			echo "not ok - $s exited $rc"
			printf '%s\n' "$out" | tail -30
		fi
		[ "$f" -gt 0 ] && failures+=("$s")
		passed=$((passed + p))
		failed=$((failed + f))
	done
fi

if [ ${#failures[@]} -gt 0 ]; then
	echo "failing: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
