#!/usr/bin/env bash
# The replay cache is shared out between the users: one key, stolen or
# misused, that knocks as fast as it can fills only its own share
# (replay_cache_size / enabled users), and the others still knock.
. "$(dirname "$0")/lib.sh"

k2() { # user [options...]
	local user=$1
	shift
	"$BIN/tools/k2knock" --port "$PORT" --server-key "$T/keys/server.pub.pem" \
	    --hmac-key "$T/keys/$user.hmac" --user "$(uid_of "$user")" "$@"
}

setup_keys
pick_port
# alice, carol and v1 are enabled: a share of 10 entries each
write_config "replay_cache_size = 30"
start_daemon || { notok "siglatchd starts"; exit 1; }

# alice knocks as fast as she can (format 1 has no budget of its own per
# user): her share first, then a format-2 knock, then 30 more
n=$(nruns)
craft alice --action 1 --payload flood --count 10 --interval-us 2000 >/dev/null
check "alice's first 10 knocks run" wait_runs $((n + 10))
k2 alice --action 1 --payload after-flood >/dev/null
sleep 1
check "alice's format-2 knock is refused once her share is full" test "$(nruns)" -eq $((n + 10))
check "... naming her and why (SL206)" log_has "SL206 user alice from 127.0.0.1: format-2 knock not recorded (this user's share of the replay cache is full)"
craft alice --action 1 --payload flood --count 30 --interval-us 2000 >/dev/null
sleep 1
check "so are her format-1 knocks beyond her share" test "$(nruns)" -eq $((n + 10))
check "... naming her (SL206)" \
	log_has "SL206 user alice from 127.0.0.1: this user's share of the replay cache is full (10 live entries)"
n=$(nruns)
craft carol --action 5 --payload after-flood >/dev/null
check "carol's format-1 knock still runs" wait_runs $((n + 1))
k2 carol --action 5 --payload after-flood >/dev/null
check "carol's format-2 knock still runs" wait_runs $((n + 2))
knock v1 1 after-flood >/dev/null
check "v1's knock still runs" wait_runs $((n + 3))
check "the refusals are counted (cache_full)" sh -c "kill -USR1 $DPID; sleep 0.3; grep -q 'cache_full=31' '$T/daemon.log'"
