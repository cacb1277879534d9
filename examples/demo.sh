#!/usr/bin/env bash
# A self-contained demo: throwaway keys and config in a temporary directory,
# siglatchd on 127.0.0.1, one format-2 knock from knocker --wait, the
# server's receipt and the action's output shown, the daemon stopped.
# Touches nothing outside the temporary directory.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/${BUILD:-build}
d=$(mktemp -d /tmp/siglatch-demo.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$d"
}
trap cleanup EXIT
port=$((40000 + RANDOM % 20000))

echo "== 1. keys: a server key pair, and a user with a client bundle (formats 1,2)"
"$bin/siglatch-keygen" server -o "$d" 2>&1 >/dev/null | sed 's/^/   /'
mkdir -p "$d/client/siglatch"
if ! "$bin/siglatch-keygen" user demo --id 1 --server-pub "$d/server.pub.pem" \
	--host 127.0.0.1 --key-dir "$d" --bundle "$d/client/siglatch/127.0.0.1" \
	--action hello=1 >"$d/stanza.conf" 2>"$d/keygen.err"; then
	cat "$d/keygen.err" >&2
	exit 1
fi
# keygen's messages (standard error), then the section it printed (standard
# output), which goes into the configuration below
sed 's/^/   /' "$d/keygen.err" "$d/stanza.conf"

echo "== 2. an action script and the configuration"
cat >"$d/hello.sh" <<'SH'
#!/bin/sh
# siglatch 1.0 argv: ip user_id username action_id action_name secure payload_b64
echo "hello $3 from $1: action $5 ran, payload '$(printf %s "$7" | base64 -d)'"
SH
chmod 755 "$d/hello.sh"
cat >"$d/server.conf" <<CONF
state_dir = $d/state
[server:demo]
port = $port
bind_ip = 127.0.0.1
priv_key_path = $d/server.priv.pem
actions = hello
receipt = yes
[action:hello]
id = 1
constructor = $d/hello.sh
CONF
cat "$d/stanza.conf" >>"$d/server.conf"
"$bin/siglatchd" -t -c "$d/server.conf"

echo "== 3. siglatchd on 127.0.0.1 port $port"
"$bin/siglatchd" -f -c "$d/server.conf" 2>"$d/daemon.log" &
pid=$!
for _ in $(seq 1 100); do grep -q SL003 "$d/daemon.log" && break; sleep 0.05; done

echo "== 4. one knock, waiting for the receipt: knocker --wait 127.0.0.1 demo hello 'open sesame'"
XDG_CONFIG_HOME=$d/client "$bin/knocker" --wait --port "$port" 127.0.0.1 demo hello 'open sesame' |
	tee "$d/knocker.out" | sed 's/^/   /'
grep -q '^knocker: done' "$d/knocker.out"
for _ in $(seq 1 100); do grep -q SL102 "$d/daemon.log" && break; sleep 0.05; done

echo "== 5. what the action printed (from the daemon's log)"
grep -E 'SL10[0-3]' "$d/daemon.log" | sed 's/^/   /'
kill "$pid"
wait "$pid"
pid=
grep -q "hello demo from 127.0.0.1: action hello ran, payload 'open sesame'" "$d/daemon.log"
echo "== demo OK: daemon stopped"
