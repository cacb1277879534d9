#!/usr/bin/env bash
# mutants.sh - a mutation check: does the test suite notice small bugs?
#
# Each line of scripts/mutants.txt names a file, a string that occurs in it
# exactly once, what to replace it with, and optionally the test command
# that should notice (the unit suite if none):
#
#   FILE @@ ORIGINAL @@ REPLACEMENT [@@ TEST COMMAND]
#
# Fields are separated by " @@ " (one space each side); in ORIGINAL and
# REPLACEMENT, \n stands for a newline, \t for a tab and \\ for a
# backslash.  Lines starting with # and empty lines are skipped.
#
# The tree as it is (uncommitted changes too; without .git and the
# build-* directories, with build/ so that the first build only brings it
# up to date) is copied to a temporary directory and built (make tests,
# without -Werror: a warning is not a kill); each test command is run once
# unmutated and must pass there.  Then, one mutant at a time: apply it,
# rebuild what its test needs (the binaries it names; every unit test for
# "run.sh unit"; the programs, tools and benchmark programs for "run.sh
# integ"), run it; the mutant is "killed" when the command fails (or times
# out), and "SURVIVED" when it passes.  The file is put back after each.
#
#   scripts/mutants.sh [N...]     only the mutants on those lines of the
#                                 list (numbers as `grep -n` shows them)
#   scripts/mutants.sh -n [N...]  only check that each line applies (its
#                                 string is there once); builds nothing
#   env: MUTANTS_LIST (scripts/mutants.txt), MUTANTS_TIMEOUT (600 s per
#        test run), MUTANTS_KEEP=1 keeps the temporary tree, MUTANTS_JOBS
#        (make -j, 2)
#
# Exits 0 when every mutant was killed, 1 when any survived, 2 when a line
# is wrong (string not found, or found more than once; the mutant does not
# build) or a test command fails on the unmutated tree.  It is slow (a
# rebuild and a test run per mutant): `make mutants` runs it, CI does not.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
list=${MUTANTS_LIST:-$top/scripts/mutants.txt}
tmo=${MUTANTS_TIMEOUT:-600}
jobs=${MUTANTS_JOBS:-2}
default_test="tests/run.sh unit"
dry=
if [ "${1:-}" = -n ]; then
	dry=1
	shift
fi
[ -r "$list" ] || { echo "mutants: cannot read $list" >&2; exit 2; }

d=$(mktemp -d /tmp/siglatch-mutants.XXXXXX)
cleanup() { [ -n "${MUTANTS_KEEP:-}" ] && echo "kept: $d" || rm -rf "$d"; }
trap cleanup EXIT
log=$d/log
tree=$d/tree
mkdir -p "$tree"

if [ -n "$dry" ]; then
	tree=$top
else
	(cd "$top" && tar --exclude=./.git --exclude='./build-*' -cf - .) |
	    (cd "$tree" && tar -xf -) ||
	    { echo "mutants: copy failed" >&2; exit 2; }
fi

unescape() { # \\ \n \t
	local s=$1
	s=${s//\\\\/$'\001'}
	s=${s//\\n/$'\n'}
	s=${s//\\t/$'\t'}
	s=${s//$'\001'/\\}
	printf '%s' "$s"
}

# What a test command needs built: the binaries it names
# (build/tests/test_X), every unit test for "run.sh unit", the programs,
# tools and benchmark programs for "run.sh integ", else everything.
targets() {
	local w t=() f
	for w in $1; do
		case $w in build/*) t+=("$w") ;; esac
	done
	if [[ $1 == *"run.sh unit"* ]]; then
		for f in "$tree"/tests/unit/test_*.c; do
			f=${f##*/}
			t+=("build/tests/${f%.c}")
		done
	fi
	if [[ $1 == *"run.sh integ"* ]]; then
		t+=(all build/tools/fakeclock.so)
		for f in "$tree"/tests/tools/*.c "$tree"/bench/*.c; do
			case $f in */fakeclock.c) continue ;; esac
			f=${f#"$tree"/}
			case $f in
			tests/tools/*) f=${f#tests/tools/}; t+=("build/tools/${f%.c}") ;;
			bench/*) f=${f#bench/}; t+=("build/bench/${f%.c}") ;;
			esac
		done
	fi
	[ ${#t[@]} -eq 0 ] && t=(tests)
	echo "${t[@]}"
}

# build [TEST COMMAND]: what it needs (everything without one)
build() {
	local t=tests
	[ -n "${1:-}" ] && t=$(targets "$1")
	# shellcheck disable=SC2086
	(cd "$tree" && nice make -s -j"$jobs" CI= WERROR= $t) >"$log" 2>&1
}

# run TEST in the tree; 0 = passed
run_test() {
	(cd "$tree" && timeout "$tmo" nice bash -c "$1") >"$log" 2>&1
}

[ -z "$dry" ] && echo "mutants: building the unmutated tree in $tree"
if [ -z "$dry" ] && ! build; then
	tail -20 "$log"
	echo "mutants: the unmutated tree does not build" >&2
	exit 2
fi

# parse the list: arrays of line number, file, original, replacement, test
nums=() files=() origs=() repls=() tests=()
bad=0
n=0
while IFS= read -r line || [ -n "$line" ]; do
	n=$((n + 1))
	case $line in '' | '#'*) continue ;; esac
	if [ $# -gt 0 ] && [[ " $* " != *" $n "* ]]; then
		continue
	fi
	f=${line%% @@ *}
	rest=${line#* @@ }
	if [ "$rest" = "$line" ] || [[ $rest != *" @@ "* ]]; then
		echo "line $n: want FILE @@ ORIGINAL @@ REPLACEMENT [@@ TEST]"
		bad=$((bad + 1))
		continue
	fi
	o=${rest%% @@ *}
	rest=${rest#* @@ }
	r=${rest%% @@ *}
	t=$default_test
	[[ $rest == *" @@ "* ]] && t=${rest#* @@ }
	nums+=("$n") files+=("$f") origs+=("$(unescape "$o")")
	repls+=("$(unescape "$r")") tests+=("$t")
done <"$list"

# every test command must pass on the unmutated tree, else a "kill" means
# nothing
declare -A baseline=()
for t in "${tests[@]}"; do
	[ -n "${baseline[$t]:-}" ] && continue
	[ -n "$dry" ] && { baseline[$t]=ok; continue; }
	echo "mutants: unmutated: $t"
	if run_test "$t"; then
		baseline[$t]=ok
	else
		baseline[$t]=fail
		tail -20 "$log"
		echo "mutants: '$t' fails on the unmutated tree" >&2
		bad=$((bad + 1))
	fi
done

killed=0
survived=0
applied=0
survivors=()
for i in "${!nums[@]}"; do
	n=${nums[$i]} f=${files[$i]} o=${origs[$i]} r=${repls[$i]}
	t=${tests[$i]}
	what="line $n: $f: $(printf '%s' "$o" | head -1 | sed 's/^[[:space:]]*//')"
	[ "${baseline[$t]}" = ok ] || { echo "skip   $what (its test fails unmutated)"; continue; }
	if [ ! -f "$tree/$f" ]; then
		echo "BAD    $what: no such file"
		bad=$((bad + 1))
		continue
	fi
	src=$(cat "$tree/$f"; printf x)
	src=${src%x}
	after=${src#*"$o"}
	if [ "$after" = "$src" ]; then
		echo "BAD    $what: string not found"
		bad=$((bad + 1))
		continue
	fi
	if [ "${after#*"$o"}" != "$after" ]; then
		echo "BAD    $what: string found more than once"
		bad=$((bad + 1))
		continue
	fi
	if [ -n "$dry" ]; then
		echo "ok     $what  (test: $t)"
		applied=$((applied + 1))
		continue
	fi
	printf '%s' "${src%%"$o"*}$r$after" >"$tree/$f"
	if ! build "$t"; then
		echo "BAD    $what: the mutant does not build"
		grep -m3 'error' "$log" | sed 's/^/         /'
		bad=$((bad + 1))
	elif run_test "$t"; then
		echo "SURVIVED $what  (test: $t)"
		survived=$((survived + 1))
		survivors+=("$n")
	else
		echo "killed $what  (test: $t)"
		killed=$((killed + 1))
	fi
	printf '%s' "$src" >"$tree/$f"
done
# leave the tree built as it was (for MUTANTS_KEEP)
[ -z "$dry" ] && [ -n "${MUTANTS_KEEP:-}" ] && { build || true; }

if [ -n "$dry" ]; then
	echo "mutants: $applied line(s) apply, $bad bad line(s)"
else
	echo "mutants: $killed killed, $survived survived, $bad bad line(s) or failing test(s)"
fi
[ "$survived" -gt 0 ] && echo "mutants: survivors on lines: ${survivors[*]} of $list"
[ "$bad" -gt 0 ] && exit 2
[ "$survived" -gt 0 ] && exit 1
exit 0
