#!/usr/bin/env bash
# The whole test suite: cmocka unit tests, then integration tests that drive
# the real binaries over loopback.  Prints "N passed, N failed, N skipped"
# last and exits non-zero if anything failed.  A skip (cmocka's skip(), an
# "ok ... # SKIP" line) is not a pass; a unit test binary that is missing
# (one per tests/unit/test_*.c) or an integration script named and not
# found is a failure.
#   tests/run.sh            everything
#   tests/run.sh unit       unit tests only
#   tests/run.sh integ [T]  integration tests only (optionally one script)
set -u
cd "$(dirname "$0")/.." || exit 2
mode=${1:-all}
only=${2:-}
passed=0
failed=0
skipped=0
failures=()

if [ "$mode" = all ] || [ "$mode" = unit ]; then
	for src in tests/unit/test_*.c; do
		t=${BUILD:-build}/tests/$(basename "$src" .c)
		echo "== unit: $t"
		if [ ! -x "$t" ]; then
			echo "not ok - $t is missing (make unit builds it)"
			failures+=("$t")
			failed=$((failed + 1))
			continue
		fi
		out=$("$t" 2>&1)
		rc=$?
		printf '%s\n' "$out" | grep -E '^\[ +(OK|FAILED|PASSED|ERROR) +\]|^\[==========\]' | grep -v '^\[ *OK' || true
		p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
		f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
		k=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | tail -1)
		p=${p:-0}
		f=${f:-0}
		k=${k:-0}
		[ "$k" -gt 0 ] && printf '%s\n' "$out" | grep '^\[  SKIPPED \] [a-z]' | sed 's/^/# skipped: /'
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1  # crashed or exited badly without a summary
			printf '%s\n' "$out" | tail -20
		elif [ $((p + f + k)) -eq 0 ]; then
			f=1  # ran no test at all
			echo "not ok - $t ran no test"
		fi
		if [ "$f" -gt 0 ]; then
			printf '%s\n' "$out" | grep -E 'FAILED|ERROR|Failure|error:' | head -20
			failures+=("$t")
		fi
		passed=$((passed + p))
		failed=$((failed + f))
		skipped=$((skipped + k))
	done
fi

if [ "$mode" = all ] || [ "$mode" = integ ]; then
	if [ -n "$only" ] && [ ! -f "tests/integration/$only" ]; then
		echo "not ok - tests/integration/$only does not exist"
		failures+=("tests/integration/$only")
		failed=$((failed + 1))
	fi
	for s in tests/integration/t_*.sh; do
		[ -n "$only" ] && [ "$(basename "$s")" != "$only" ] && continue
		echo "== integration: $s"
		out=$(timeout 300 bash "$s" 2>&1)
		rc=$?
		printf '%s\n' "$out" | grep -E '^(ok|not ok|#)' || true
		p=$(printf '%s\n' "$out" | grep '^ok ' | grep -vc '# SKIP')
		k=$(printf '%s\n' "$out" | grep '^ok ' | grep -c '# SKIP')
		f=$(printf '%s\n' "$out" | grep -c '^not ok ')
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1
			echo "not ok - $s exited $rc"
			printf '%s\n' "$out" | tail -30
		fi
		[ "$f" -gt 0 ] && failures+=("$s")
		passed=$((passed + p))
		failed=$((failed + f))
		skipped=$((skipped + k))
	done
fi

if [ ${#failures[@]} -gt 0 ]; then
	echo "failing: ${failures[*]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
