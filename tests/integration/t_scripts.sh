#!/usr/bin/env bash
# script_timeout kills a hanging script and what it started; max_scripts
# holds; every child is reaped.
. "$(dirname "$0")/lib.sh"

setup_keys
pick_port
SCRIPT_TIMEOUT=1 MAX_SCRIPTS=2 write_config
start_daemon || { notok "siglatchd starts"; exit 1; }

knock alice 4 >/dev/null
for _ in $(seq 1 40); do [ -s "$T/hang.child" ] && break; sleep 0.05; done
hpid=$(cat "$T/hang.pid" 2>/dev/null)
cpid=$(cat "$T/hang.child" 2>/dev/null)
check "the hanging script started" test -n "$hpid"
for _ in $(seq 1 100); do log_has 'SL104' && break; sleep 0.05; done
check "the hanging script was killed at script_timeout (SL104)" log_has 'SL104'
check "the hanging script is gone" wait_gone "$hpid"
check "the process it started is gone too" wait_gone "$cpid"

# max_scripts = 2: a third concurrent request is refused, not queued
rm -f "$T/hang.pid"
knock alice 4 >/dev/null
knock alice 4 >/dev/null
sleep 0.2
knock alice 4 >/dev/null
sleep 0.3
check "a request over max_scripts is refused and logged (SL207)" log_has 'SL207'
sleep 3
rpid=$(pgrep -P "$DPID" | head -1)
check "the runner process exists" test -n "$rpid"
check "no zombie children remain" sh -c "! ps -o stat= --ppid $rpid | grep -q Z"
check "nothing from the hanging scripts lingers" sh -c "! pgrep -f '$T/[h]ang.sh' >/dev/null"
# and the daemon still serves
n=$(nruns)
knock alice 1 after >/dev/null
check "the daemon still serves after timeouts and refusals" wait_runs $((n + 1))
