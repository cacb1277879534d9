#!/usr/bin/env bash
# Several [server:*] sections: each listens on its own port and address,
# runs only its own actions, with its own allowed_ips, logging and log_file.
. "$(dirname "$0")/lib.sh"

setup_keys
pick_port
P1=$PORT
P2=$((PORT + 1))
P3=$((PORT + 2))
cat >"$T/server.conf" <<CONF
state_dir = $T/state
[server:v4]
port = $P1
bind_ip = 127.0.0.1
priv_key_path = $T/keys/server.priv.pem
actions = one
log_file = $T/v4.log

[server:v6]
port = $P2
bind_ip = ::1
priv_key_path = $T/keys/server.priv.pem
actions = two
logging = no

[server:fenced]
port = $P3
bind_ip = 127.0.0.1
priv_key_path = $T/keys/server.priv.pem
actions = one
allowed_ips = 192.0.2.0/24, 2001:db8::/32

[action:one]
id = 1
constructor = $BIN/tools/slaction $T/runs

[action:two]
id = 2
constructor = $BIN/tools/slaction $T/runs
allowed_ips = ::1

[user:alice]
id = 10
enabled = yes
hmac_file = $T/keys/alice.hmac
actions = one, two
CONF
start_daemon || { notok "siglatchd starts with three servers"; exit 1; }
check "each server listens on its own address and port" sh -c "
	grep -q 'server v4 listening on 127.0.0.1:$P1' '$T/daemon.log' &&
	grep -q 'server v6 listening on \[::1\]:$P2' '$T/daemon.log' &&
	grep -q 'server fenced listening on 127.0.0.1:$P3' '$T/daemon.log'"

kn() { # port host action
	"$BIN/knocker" --port "$1" --server-key "$T/keys/server.pub.pem" \
	    --hmac-key "$T/keys/alice.hmac" "$2" 10 "$3" x
}
n=$(nruns)
kn "$P1" 127.0.0.1 1
check "server v4 runs its action" wait_runs $((n + 1))
kn "$P2" ::1 2
check "server v6 runs its action (action allowed_ips = ::1)" wait_runs $((n + 2))
kn "$P1" 127.0.0.1 2
kn "$P2" ::1 1
kn "$P3" 127.0.0.1 1
sleep 0.5
check "actions not listed for a server, or sources outside allowed_ips, run nothing" test "$(nruns)" -eq $((n + 2))
check "the refusals are logged (SL204)" test "$(log_count 'SL204')" -ge 2
check "a server's log_file gets its packet lines" grep -q 'SL100 user alice from 127.0.0.1 on v4' "$T/v4.log"
check "logging = no keeps a server's packet lines out of the log" sh -c "! grep -q 'on v6' '$T/daemon.log'"
check "the v6 server still counted its knocks" sh -c "kill -USR1 $DPID; sleep 0.3; grep 'SL008 received=' '$T/daemon.log' | tail -1 | grep -q 'accepted=2 '"
