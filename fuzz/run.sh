#!/usr/bin/env bash
# fuzz/run.sh - run libFuzzer harnesses for a fixed time each, from the
# repository root (the harnesses read tests/vectors).  Called by `make fuzz`.
#   fuzz/run.sh [fuzz_NAME...]     default: every fuzz/fuzz_*.c
# Environment: FUZZ_SECONDS (60 per harness), FUZZ_B (build-fuzz),
# FUZZ_RSS_MB (2048), FUZZ_TIMEOUT (25 s per input).
# Each harness fuzzes a scratch copy of its seeds, $FUZZ_B/corpus/NAME, and
# logs to $FUZZ_B/logs/NAME.log.  A crash, leak, timeout, out-of-memory,
# sanitizer report or failed invariant is a finding: the input is saved as
# $FUZZ_B/artifacts/NAME-*, the end of the log is shown, and the exit status
# is 1.
set -u
cd "$(dirname "$0")/.." || exit 2
B=${FUZZ_B:-build-fuzz}
secs=${FUZZ_SECONDS:-60}
rss=${FUZZ_RSS_MB:-2048}
tmo=${FUZZ_TIMEOUT:-25}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

if [ $# -eq 0 ]; then
	for f in fuzz/fuzz_*.c; do set -- "$@" "$(basename "$f" .c)"; done
fi

# Per-harness options: the longest input worth trying, a dictionary.
opts_for() {
	case $1 in
	fuzz_datagram) echo "-max_len=512" ;;
	fuzz_config) echo "-max_len=16384 -dict=fuzz/config.dict" ;;
	fuzz_keys) echo "-max_len=16400 -dict=fuzz/keys.dict" ;;
	fuzz_b64) echo "-max_len=1024" ;;
	fuzz_grants) echo "-max_len=4096" ;;
	fuzz_knock2) echo "-max_len=1024" ;;
	*) echo "" ;;
	esac
}

stat_of() { sed -n "s/^stat::$1: *//p" "$2" | tail -1; }

found=0
npass=0
nfail=0
for t in "$@"; do
	bin=$B/$t
	if [ ! -x "$bin" ]; then
		echo "fuzz: $bin not built (make fuzz-build)" >&2
		found=1
		continue
	fi
	corpus=$B/corpus/$t
	log=$B/logs/$t.log
	mkdir -p "$corpus" "$B/artifacts" "$B/logs"
	cp fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null
	echo "  FUZZ    $t for ${secs} s"
	# shellcheck disable=SC2046
	"$bin" -max_total_time="$secs" -rss_limit_mb="$rss" -timeout="$tmo" \
	    -print_final_stats=1 -artifact_prefix="$B/artifacts/$t-" \
	    $(opts_for "$t") "$corpus" >"$log" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|invariant failed|^SUMMARY: ' "$log"; then
		found=1
		echo "FUZZ FINDING in $t (exit $rc); last lines of $log:"
		tail -n 60 "$log"
		for a in "$B/artifacts/$t-"*; do
			[ -e "$a" ] && echo "  reproduce: $bin $a"
		done
		nfail=$((nfail + 1))
		continue
	fi
	npass=$((npass + 1))
	cov=$(grep -E '^#[0-9]+[[:space:]]+DONE ' "$log" | tail -1 | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/cov \1, ft \2, corpus \3/p')
	echo "  ok      $t: $(stat_of number_of_executed_units "$log") runs," \
	    "$(stat_of average_exec_per_sec "$log")/s, ${cov:-?}," \
	    "peak $(stat_of peak_rss_mb "$log") MB"
done
echo "fuzz: $npass passed, $nfail failed"
exit "$found"
