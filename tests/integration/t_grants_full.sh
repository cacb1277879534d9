#!/usr/bin/env bash
# Timed grants fail closed when their record cannot be written: with the
# grants directory on a small tmpfs (64 KiB) filled up, a knock that would
# make a grant is refused before its constructor runs, with a log line
# saying why and a receipt "action failed (could not be started)"; a
# knock for a live grant does not extend it; the destructor of a lapsing
# grant still runs; after kill -9 and a restart nothing is owed and
# nothing was opened; once space is freed, grants are made, written and
# extended again.
. "$(dirname "$0")/lib.sh"

setup_keys
pick_port

MNT=$T/state/grants
mounted=
unmount_grants() {
	[ -n "$mounted" ] || return 0
	umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
	mounted=
}
# the daemon holds the directory open: stop it before unmounting, and
# unmount before lib.sh removes $T
trap 'stop_daemon; unmount_grants; cleanup' EXIT

mkdir -m 700 "$MNT"
if ! mount -t tmpfs -o size=64k,mode=0700 siglatch-test "$MNT" 2>/dev/null; then
	diag "cannot mount a tmpfs here (not root?): skipped"
	exit 0
fi
mounted=1

cat >"$T/grant.sh" <<'SH'
#!/bin/sh
echo "$SIGLATCH_PHASE $1" >>"$(dirname "$0")/grants.log"
SH
cat >"$T/revoke.sh" <<'SH'
#!/bin/sh
echo "$SIGLATCH_PHASE $1" >>"$(dirname "$0")/revokes.log"
SH
chmod 755 "$T/grant.sh" "$T/revoke.sh"

write_config ""
sed -i '/^logging = yes$/a receipt = yes' "$T/server.conf"
sed -i 's/^actions = record, ascii_only, strip, hang, other, vec42, vec200$/&, open/' "$T/server.conf"
sed -i '0,/^actions = record, ascii_only, strip, hang, unlisted$/s//&, open/' "$T/server.conf"
cat >>"$T/server.conf" <<CONF

[action:open]
id = 20
constructor = $T/grant.sh
destructor = $T/revoke.sh
keepalive_interval = 4
rerun_on_extend = yes
CONF

lines() { if [ -f "$1" ]; then grep -c -- "${2:-}" "$1"; else echo 0; fi; }
wait_log() {
	for _ in $(seq 1 $((${2:-5} * 20))); do
		log_has "$1" && return 0
		sleep 0.05
	done
	return 1
}
wait_lines() {
	for _ in $(seq 1 $((${3:-5} * 20))); do
		[ "$(lines "$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}
# a format-2 knock for "open" that waits for its receipt; prints knocker's line
k2open() {
	"$BIN/knocker" --port "$PORT" --server-key "$T/keys/server.pub.pem" \
	    --hmac-key "$T/keys/alice.hmac" --format 2 --no-address --wait=3 \
	    127.0.0.1 10 20 2>&1
}
# fill the tmpfs to the last byte
fill() { dd if=/dev/zero of="$MNT/fill" bs=4k 2>/dev/null; sync; }
grants_listed() { "$BIN/siglatchd" -c "$T/server.conf" --grants | tail -1; }
kill9() {
	local r
	r=$(netpid)
	kill -KILL "$DPID" 2>/dev/null
	[ -n "$r" ] && kill -KILL "$r" 2>/dev/null
	wait "$DPID" 2>/dev/null
	DPID=
	[ -n "$r" ] && wait_gone "$r"
}

start_daemon || { notok "siglatchd starts"; exit 1; }

# ---- full: a new grant is refused before its constructor runs ------------
fill
check "the grants directory is full" \
	sh -c "! dd if=/dev/zero of='$MNT/probe' bs=4k count=1 2>/dev/null"
rm -f "$MNT/probe"
out=$(k2open)
rc=$?
check "the knock is told the action could not be started (rc=$rc: $out)" \
	test "$rc" -eq 3 -a "$out" = "knocker: the action failed (the server could not start it)"
check "the constructor did not run" test "$(lines "$T/grants.log")" -eq 0
check "the log says why (SL302, the error, constructor not run)" \
	wait_log "SL302 grant open for user alice from 127.0.0.1 refused: grant state could not be written (No space left on device); constructor not run"
check "nothing is granted in memory either (no destructor will ever be owed)" \
	sh -c "! grep -q 'SL107.*open for' '$T/daemon.log'"

# ---- kill -9, restart while still full: nothing was opened, nothing owed --
kill9
start_daemon || { notok "siglatchd restarts on a full grants directory"; exit 1; }
check "after kill -9 and a restart, no grant is live or owed" \
	wait_log "SL009.*0 live, 0 to revoke now"
sleep 0.5
check "and no destructor ran (nothing had been opened)" \
	test "$(lines "$T/revokes.log")" -eq 0

# ---- space freed: grants work again ----------------------------------------
rm -f "$MNT/fill"
check "once there is room, the grant state is written again (SL302 notice)" \
	wait_log "SL302 grant state written again" 3
out=$(k2open)
check "a knock now makes the grant ($out)" \
	sh -c "printf '%s' '$out' | grep -Eq '^knocker: done: access granted for [34] s$'"
check "its constructor ran once" test "$(lines "$T/grants.log" "^grant ")" -eq 1
check "and it is on disk" sh -c "'$BIN/siglatchd' -c '$T/server.conf' --grants | grep -Eq '^live +main +alice +open +127\\.0\\.0\\.1 '"

# ---- full again: an extension is refused, the grant lapses as before ------
fill
t0=$(date +%s%N)
out=$(k2open)
rc=$?
check "an extension that cannot be written: the action could not be started (rc=$rc: $out)" \
	test "$rc" -eq 3
check "its rerun did not run" test "$(lines "$T/grants.log" "^extend ")" -eq 0
check "the log says the grant was not extended" \
	wait_log "SL302 grant open for user alice from 127.0.0.1 not extended: grant state could not be written (No space left on device); it lapses as before"
wait_lines "$T/revokes.log" 1 6
el=$(( ($(date +%s%N) - t0) / 1000000 ))
check "the destructor still runs on a full disk, at the original expiry (${el} ms after the refused extension; due in < 4000)" \
	test "$(lines "$T/revokes.log" "^revoke 127.0.0.1")" -eq 1 -a "$el" -lt 4500
check "the revocation is logged" wait_log "grant open for user alice from 127.0.0.1 revoked"

# ---- and after it, the file catches up ----------------------------------
rm -f "$MNT/fill"
for _ in $(seq 1 60); do [ "$(grants_listed)" = "0 grant(s)" ] && break; sleep 0.05; done
check "once there is room, the revocation reaches the disk too" \
	test "$(grants_listed)" = "0 grant(s)"
out=$(k2open)
check "and grants are made again ($out)" \
	sh -c "printf '%s' '$out' | grep -Eq '^knocker: done: access granted for [34] s$'"
out=$(k2open)
check "and extended again ($out)" \
	sh -c "printf '%s' '$out' | grep -Eq '^knocker: done: access granted for [34] s$'"
wait_lines "$T/grants.log" 3
check "the extension reran the constructor" test "$(lines "$T/grants.log" "^extend ")" -eq 1
check "the daemon is alive" daemon_alive
exit $((NOK > 0))
