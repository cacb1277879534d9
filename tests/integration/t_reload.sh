#!/usr/bin/env bash
# SIGHUP reloads the configuration, like sshd and fwknopd: the new file is
# read and checked as at start; a good one takes effect in both processes
# (a new user, a changed key, a removed action, whose live grant is revoked
# through its destructor), while the replay state, the live grants, the
# rate limits and counters, and both processes stay.  A bad file, or one
# that changes what needs a restart, changes nothing and says why.
# SIGUSR2 only reopens the log files.
. "$(dirname "$0")/lib.sh"

setup_keys
pick_port
cat >"$T/grant.sh" <<'SH'
#!/bin/sh
echo "$SIGLATCH_PHASE $1 $3" >>"$(dirname "$0")/grants.log"
SH
cat >"$T/revoke.sh" <<'SH'
#!/bin/sh
echo "$SIGLATCH_PHASE $1 $3" >>"$(dirname "$0")/revokes.log"
SH
chmod 755 "$T/grant.sh" "$T/revoke.sh"
write_config
cat >>"$T/server.conf" <<CONF

[action:open]
id = 20
constructor = $T/grant.sh
destructor = $T/revoke.sh
keepalive_interval = 300
CONF
sed -i 's/^actions = record, ascii_only, strip, hang, other, vec42, vec200$/&, open/' "$T/server.conf"
sed -i '0,/^actions = record, ascii_only, strip, hang, unlisted$/s//&, open/' "$T/server.conf"
cp "$T/server.conf" "$T/server.conf.orig"
start_daemon || { notok "siglatchd starts"; exit 1; }
npid=$(netpid)
wait_log() {
	for _ in $(seq 1 100); do log_has "$1" && return 0; sleep 0.05; done
	return 1
}
counter() { kill -USR1 "$DPID"; sleep 0.3; grep -o "SL008 received=[0-9]*" "$T/daemon.log" | tail -1 | cut -d= -f2; }

n=$(nruns)
knock alice 1 before >/dev/null
craft alice --action 1 --payload captured --save "$T/captured.bin" >/dev/null
check "alice knocks before the reload" wait_runs $((n + 2))
knock alice 20 >/dev/null
for _ in $(seq 1 100); do [ -s "$T/grants.log" ] && break; sleep 0.05; done
check "alice's grant is live" grep -q "grant 127.0.0.1 alice" "$T/grants.log"
recv0=$(counter)

# --- a good new configuration --------------------------------------------
hexkey >"$T/keys/dave.hmac"
hexkey >"$T/keys/carol.new.hmac"
chmod 600 "$T/keys/dave.hmac" "$T/keys/carol.new.hmac"
cp "$T/keys/carol.hmac" "$T/keys/carol.old.hmac"
sed -i "s|hmac_file = $T/keys/carol.hmac|hmac_file = $T/keys/carol.new.hmac|" "$T/server.conf"
sed -i '0,/^actions = record, ascii_only, strip, hang, unlisted, open$/s//actions = record, ascii_only, strip, hang, unlisted/' "$T/server.conf"
cat >>"$T/server.conf" <<CONF

[user:dave]
id = 13
enabled = yes
hmac_file = $T/keys/dave.hmac
actions = record
CONF
kill -HUP "$DPID"
check "SIGHUP: the configuration is reloaded (SL001)" \
	wait_log "SIGHUP: configuration reloaded from $T/server.conf: 1 server(s), 5 user(s)"
check "... the network process says it took it" wait_log "network process: new configuration in use (4 enabled user(s))"
check "... both processes are the same as before" \
	sh -c "kill -0 $DPID && [ \"\$(pgrep -P $DPID -x siglatchd-net)\" = $npid ]"
for _ in $(seq 1 100); do [ -s "$T/revokes.log" ] && break; sleep 0.05; done
check "alice's grant, whose action she may no longer run, is revoked by its destructor" \
	grep -q "revoke 127.0.0.1 alice" "$T/revokes.log"
check "... and the log says why" log_has "reload: revoking 1 grant(s) the new configuration does not allow"
n=$(nruns)
knock dave 1 new-user >/dev/null
check "a user added by the reload knocks" wait_runs $((n + 1))
n=$(nruns)
cp "$T/keys/carol.old.hmac" "$T/keys/carol.hmac"
knock carol 5 old-key >/dev/null
sleep 0.6
check "carol's old key no longer works" test "$(nruns)" -eq "$n"
cp "$T/keys/carol.new.hmac" "$T/keys/carol.hmac"
knock carol 5 new-key >/dev/null
check "... her new key does" wait_runs $((n + 1))
n=$(nruns)
"$BIN/tools/slcraft" --host 127.0.0.1 --port "$PORT" --send-file "$T/captured.bin" >/dev/null
sleep 0.6
check "a knock captured before the reload is still a replay" test "$(nruns)" -eq "$n"
check "the counters went on (received $recv0 -> $(counter)): the rate limits and the cache stayed" \
	test "$(counter)" -gt "$recv0"
check "a format-2 knock from the added user runs" sh -c "
	n=\$(find '$T/runs' -maxdepth 1 -name 'run.*' | wc -l)
	'$BIN/tools/k2knock' --port $PORT --server-key '$T/keys/server.pub.pem' \
	    --hmac-key '$T/keys/dave.hmac' --user 13 --action 1 --payload k2dave >/dev/null
	for _ in \$(seq 1 100); do
		[ \$(find '$T/runs' -maxdepth 1 -name 'run.*' | wc -l) -gt \$n ] && exit 0
		sleep 0.05
	done
	exit 1"

# --- a bad one: nothing changes --------------------------------------------
cp "$T/server.conf" "$T/server.conf.good"
printf '\n[user:eve]\nid = 14\nenabled = yes\nhmac_file = %s\nactions = record\nbogus_key = 1\n' \
	"$T/keys/dave.hmac" >>"$T/server.conf"
bad=$(grep -n '^bogus_key' "$T/server.conf" | cut -d: -f1)
kill -HUP "$DPID"
check "a bad configuration is refused with file, line and key" \
	wait_log "SIGHUP: $T/server.conf:$bad: .*bogus_key.*; the running configuration stays"
n=$(nruns)
knock dave 1 after-bad >/dev/null
check "... and the running one stays (dave still knocks)" wait_runs $((n + 1))

sed "s/^port = $PORT/port = $((PORT + 1))/" "$T/server.conf.good" >"$T/server.conf"
kill -HUP "$DPID"
check "a new port is not applied: the log says it takes a restart" \
	wait_log "SIGHUP: \[server:main\] port changed in $T/server.conf, which takes a restart"
n=$(nruns)
knock dave 1 after-port >/dev/null
check "... and the daemon goes on as it was" wait_runs $((n + 1))

# --- SIGUSR2: the logs only -------------------------------------------------
cp "$T/server.conf.good" "$T/server.conf"
mv "$T/daemon.logfile" "$T/daemon.logfile.1"
c0=$(log_count 'log file(s) taken over')
kill -USR2 "$DPID"
for _ in $(seq 1 100); do [ "$(log_count 'log file(s) taken over')" -gt "$c0" ] && break; sleep 0.05; done
check "SIGUSR2 reopens the log files, and the network process takes them over" \
	test "$(log_count 'log file(s) taken over')" -gt "$c0"
check "... without a reload" sh -c "[ \$(grep -c 'configuration reloaded' '$T/daemon.log') -eq 1 ]"
check "... and the new file exists" test -e "$T/daemon.logfile"
stop_daemon
check "a clean stop after reloads exits 0 ($DEXIT)" test "$DEXIT" = 0
[ "$NOK" -eq 0 ]
