# shellcheck shell=bash
# lib.sh - sourced by the integration tests (t_*.sh).
#
# Each test gets a private directory with throwaway keys and config,
# starts the real siglatchd on loopback, and talks to it with the real
# knocker (or the slcraft test tool for packets no client would send).
# Results are TAP-like lines "ok - ..." / "not ok - ..." counted by
# tests/run.sh.  Everything is stopped and removed on exit: the processes
# this test started (not any process whose command line looks like ours),
# and its directory.
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$TOP/${BUILD:-build}
VEC=$TOP/tests/vectors
# the default run_as: a system user of the daemon's own (make install and
# the package create it; a test machine may not have it yet)
if [ "$(id -u)" -eq 0 ] && ! id siglatch >/dev/null 2>&1; then
	useradd --system --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin siglatch 2>/dev/null ||
		groupadd --system siglatch 2>/dev/null
	id siglatch >/dev/null 2>&1 || useradd --system --no-create-home \
		--home-dir /nonexistent --shell /usr/sbin/nologin -g siglatch siglatch
fi
T=$(mktemp -d /tmp/sl-it.XXXXXX)
chmod 755 "$T"
DPID=
DEXIT=
PORT=
NOK=0
# What this test started: pids (each daemon, any helper a test passes to
# track) and the sessions of the daemons (start_daemon runs siglatchd in a
# session of its own, so that what its runner starts is still ours after
# the daemon is gone, when nothing is its parent any more).  cleanup kills
# these, their descendants and the members of these sessions, and nothing
# else.
PIDS=()
SIDS=()
track() { PIDS+=("$@"); }
# siglatchd (or anything) started with setsid in the background: $1 is its
# pid; its session is ours when it leads one (it does unless the shell runs
# with job control, then only the pid is tracked)
track_session() {
	local s
	[[ " ${PIDS[*]} " == *" $1 "* ]] || track "$1"
	# setsid(2) may not have happened yet
	for _ in $(seq 1 20); do
		s=$(proc_stat "$1") || return 0
		# shellcheck disable=SC2086
		set -- "$1" $s
		if [ "$5" = "$1" ]; then
			[[ " ${SIDS[*]} " == *" $1 "* ]] || SIDS+=("$1")
			return 0
		fi
		sleep 0.05
	done
}
# /proc/PID/stat after the command name: state ppid pgrp session ... (the
# 22nd field, the start time, is the 20th word)
proc_stat() {
	local s
	read -r s 2>/dev/null <"/proc/$1/stat" || return 1
	printf '%s\n' "${s##*) }"
}
# Our processes as "pid:starttime" words: the tracked pids, the members of
# the tracked sessions, and the descendants of all of them.
ours() {
	local d p f more
	local -A par=() ses=() st=() mine=()
	for d in /proc/[0-9]*; do
		p=${d#/proc/}
		read -r f 2>/dev/null <"$d/stat" || continue
		# shellcheck disable=SC2086
		set -- ${f##*) }
		par[$p]=$2 ses[$p]=$4 st[$p]=${20}
	done
	for p in "${!par[@]}"; do
		if [[ " ${PIDS[*]} " == *" $p "* ]] ||
		    [[ " ${SIDS[*]} " == *" ${ses[$p]} "* ]]; then
			mine[$p]=1
		fi
	done
	more=1
	while [ -n "$more" ]; do
		more=
		for p in "${!par[@]}"; do
			if [ -z "${mine[$p]:-}" ] && [ -n "${mine[${par[$p]}]:-}" ]; then
				mine[$p]=1
				more=1
			fi
		done
	done
	for p in "${!mine[@]}"; do
		# never the test itself
		[ "$p" = "$$" ] || [ "$p" = "$BASHPID" ] || echo "$p:${st[$p]}"
	done
}
# SIGKILL each "pid:starttime" still alive with that start time (a pid
# that was reused since is somebody else's)
kill_ours() {
	local w f
	for w in $1; do
		f=$(proc_stat "${w%%:*}") || continue
		# shellcheck disable=SC2086
		set -- $f
		[ "${20}" = "${w##*:}" ] && kill -KILL "${w%%:*}" 2>/dev/null
	done
}

stop_daemon() {
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		kill -TERM "$DPID" 2>/dev/null
		for _ in $(seq 1 100); do
			kill -0 "$DPID" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$DPID" 2>/dev/null
	fi
	DEXIT=
	if [ -n "$DPID" ]; then
		wait "$DPID" 2>/dev/null
		DEXIT=$?
	fi
	DPID=
}
cleanup() {
	local before
	# who is ours while the daemon still holds its children together
	before=$(ours)
	stop_daemon
	# then whatever is left of them: scripts a test left behind (timeout
	# tests), helpers, orphans in a daemon's session
	kill_ours "$before $(ours)"
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; NOK=$((NOK + 1)); }
# check "description" command...: ok if the command succeeds
check() {
	local d=$1
	shift
	if "$@"; then ok "$d"; else notok "$d"; fi
}
diag() { echo "# $*"; }

hexkey() { head -c 32 /dev/urandom | od -An -tx1 -v | tr -d ' \n'; echo; }

# Keys: the vector server key pair and one HMAC key per user.
setup_keys() {
	mkdir -p "$T/keys" "$T/runs" "$T/state"
	cp "$VEC/server.priv.pem" "$T/keys/server.priv.pem"
	cp "$VEC/server.pub.pem" "$T/keys/server.pub.pem"
	for u in alice bob carol; do hexkey >"$T/keys/$u.hmac"; done
	cp "$VEC/user1.hmac.key" "$T/keys/v1.hmac"
	chmod 600 "$T/keys/"*
	chmod 777 "$T/runs"
}

pick_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 30000))
		if ! ss -Hlun "sport = :$p" 2>/dev/null | grep -q .; then
			PORT=$p
			return 0
		fi
	done
	PORT=$p
}

# The standard test configuration.  Extra top-level lines in $1.
write_config() {
	local extra=${1:-}
	cat >"$T/server.conf" <<CONF
# integration test configuration
log_file = $T/daemon.logfile
state_dir = $T/state
timestamp_window = 120
script_timeout = ${SCRIPT_TIMEOUT:-5}
max_scripts = ${MAX_SCRIPTS:-16}
# the knock-path tests send many bad packets from the same source as the
# good ones: budgets wide enough not to penalise it (t_flood.sh sets its own)
ratelimit_source_budget = ${RL_SOURCE:-100000}
ratelimit_prefix_budget = ${RL_PREFIX:-1000000}
kernel_filter = ${KERNEL_FILTER:-yes}
$extra

[server:main]
enabled = yes
port = $PORT
bind_ip = ${BIND_IP:-}
secure = yes
priv_key_path = $T/keys/server.priv.pem
actions = record, ascii_only, strip, hang, other, vec42, vec200
logging = yes

[action:record]
id = 1
constructor = $BIN/tools/slaction $T/runs

[action:ascii_only]
id = 2
constructor = $BIN/tools/slaction $T/runs
require_ascii = yes

[action:strip]
id = 3
constructor = $BIN/tools/slaction $T/runs
discard_payload = yes

[action:hang]
id = 4
constructor = $T/hang.sh

[action:other]
id = 5
constructor = $BIN/tools/slaction $T/runs

[action:unlisted]
id = 6
constructor = $BIN/tools/slaction $T/runs

[action:vec42]
id = 42
constructor = $BIN/tools/slaction $T/runs

[action:vec200]
id = 200
constructor = $BIN/tools/slaction $T/runs

[user:alice]
id = 10
enabled = yes
hmac_file = $T/keys/alice.hmac
actions = record, ascii_only, strip, hang, unlisted

[user:bob]
id = 11
enabled = no
hmac_file = $T/keys/bob.hmac
actions = record

[user:carol]
id = 12
enabled = yes
hmac_file = $T/keys/carol.hmac
actions = other

[user:v1]
id = 1
enabled = yes
hmac_file = $T/keys/v1.hmac
actions = record
CONF
	cat >"$T/hang.sh" <<'SH'
#!/bin/sh
# a script that hangs, with a child of its own
sleep 300 &
echo $! >"$(dirname "$0")/hang.child"
echo $$ >"$(dirname "$0")/hang.pid"
sleep 300
SH
	chmod 755 "$T/hang.sh"
}

# Start siglatchd in the foreground (background job); wait until it listens.
start_daemon() {
	: >"$T/daemon.log"
	setsid "$BIN/siglatchd" -f -c "$T/server.conf" "$@" \
	    >>"$T/daemon.log" 2>&1 &
	DPID=$!
	track_session "$DPID"
	for _ in $(seq 1 200); do
		grep -q 'SL003' "$T/daemon.log" 2>/dev/null && return 0
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.05
	done
	diag "siglatchd did not start:"
	sed 's/^/#   /' "$T/daemon.log"
	return 1
}

# the network process: the main process's child of that name
netpid() { pgrep -P "$DPID" -x siglatchd-net | head -1; }
daemon_alive() { [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; }
nruns() { find "$T/runs" -maxdepth 1 -name 'run.*' | wc -l; }
latest_run() { ls -t "$T/runs"/run.* 2>/dev/null | head -1; }

# Wait until at least N runs exist (up to ~5 s).
wait_runs() {
	local n=$1
	for _ in $(seq 1 100); do
		[ "$(nruns)" -ge "$n" ] && return 0
		sleep 0.05
	done
	return 1
}

# knocker as a 1.0 user would run it, keys given explicitly.
knock() { # user action [payload...]
	local user=$1 action=$2
	shift 2
	"$BIN/knocker" --port "$PORT" --server-key "$T/keys/server.pub.pem" \
	    --hmac-key "$T/keys/$user.hmac" "${HOST:-127.0.0.1}" \
	    "$(uid_of "$user")" "$action" "$@"
}
uid_of() {
	case $1 in alice) echo 10 ;; bob) echo 11 ;; carol) echo 12 ;; dave) echo 13 ;; v1) echo 1 ;; *) echo "$1" ;; esac
}

# slcraft with the usual keys: craft user [options...]
craft() {
	local user=$1
	shift
	"$BIN/tools/slcraft" --host "${HOST:-127.0.0.1}" --port "$PORT" \
	    --server-key "$T/keys/server.pub.pem" --hmac-key "$T/keys/$user.hmac" \
	    --user "$(uid_of "$user")" "$@"
}

# A bad packet must run nothing, and the daemon must still serve the next
# valid knock: send the bad one(s) with "$@", then a valid knock, and check
# that exactly one more run appears.
runs_nothing() { # description command...
	local d=$1 before after
	shift
	before=$(nruns)
	if ! "$@" >/dev/null 2>&1; then
		notok "$d (could not send: $*)"
		return
	fi
	knock alice 1 "probe" >/dev/null 2>&1
	if ! wait_runs $((before + 1)); then
		notok "$d (no valid knock served afterwards)"
		return
	fi
	sleep 0.3
	after=$(nruns)
	if [ "$after" -eq $((before + 1)) ] && daemon_alive; then
		ok "$d"
	else
		notok "$d (runs $before -> $after)"
	fi
}

# A process is gone when it no longer exists or is only a zombie waiting
# for whoever adopted it to reap it.
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
# Wait up to ~5 s for every PID given to be gone.
wait_gone() {
	local p
	for _ in $(seq 1 100); do
		for p in "$@"; do gone "$p" || break; done
		gone "$p" && return 0
		sleep 0.05
	done
	return 1
}

log_has() { grep -q -- "$1" "$T/daemon.log"; }
log_count() { grep -c -- "$1" "$T/daemon.log"; }
