#!/usr/bin/env bash
# siglatch-keygen and knocker end to end: keys and a client bundle, the
# 1.0 command line with aliases from the per-host directory (a bundle
# without a formats file: format 1), --stdin, and client-side refusals
# that send nothing.
. "$(dirname "$0")/lib.sh"

setup_keys
pick_port
write_config
K=$BIN/siglatch-keygen

# --- keygen ------------------------------------------------------------------
mkdir -m 700 "$T/gen"
check "keygen server writes a key pair" "$K" server -o "$T/gen"
check "the private key is mode 0600" test "$(stat -c %a "$T/gen/server.priv.pem")" = 600
check "the generated key pair loads and round-trips a knock" "$BIN/bench/rsaop" "$T/gen/server.priv.pem" "$T/gen/server.pub.pem" 5
before=$(sha256sum "$T/gen/server.priv.pem")
check "keygen refuses to overwrite an existing key" sh -c "! '$K' server -o '$T/gen' 2>/dev/null"
check "... and leaves it untouched" test "$(sha256sum "$T/gen/server.priv.pem")" = "$before"
mkdir -m 1777 "$T/public"
check "keygen refuses a world-writable directory" sh -c "! '$K' server -o '$T/public' 2>/dev/null && [ ! -e '$T/public/server.priv.pem' ]"

mkdir -p "$T/home/.config/siglatch"
stanza=$("$K" user dave --id 20 --server-pub "$T/keys/server.pub.pem" --host 127.0.0.1 \
	--key-dir "$T/keys" --bundle "$T/home/.config/siglatch/127.0.0.1" \
	--action record=1 --action ascii_only=2 2>/dev/null)
check "keygen user prints the [user:dave] stanza" sh -c "printf '%s' \"\$1\" | grep -qx '\[user:dave\]'" _ "$stanza"
check "the server-side HMAC key is mode 0600" test "$(stat -c %a "$T/keys/dave.hmac.key")" = 600
check "the bundle's HMAC key is mode 0600" test "$(stat -c %a "$T/home/.config/siglatch/127.0.0.1/hmac.key")" = 600
check "the bundle's user.map has the 1.0 name,host,id line" grep -qx 'dave,127.0.0.1,20' "$T/home/.config/siglatch/127.0.0.1/user.map"
check "the bundle says the server takes formats 1,2" test "$(cat "$T/home/.config/siglatch/127.0.0.1/formats")" = 1,2
check "... and the stanza hint says format 2 needs format2 = yes" sh -c "printf '%s' \"\$1\" | grep -q '^# .*format2 = yes'" _ "$stanza"
# What follows is the siglatch 1.0 command line with a 1.0 bundle, which has
# no formats file: knocker then sends format 1 (t_knocker2.sh covers format 2)
rm "$T/home/.config/siglatch/127.0.0.1/formats"
# the stanza goes into the config as printed
printf '\n%s\n' "$stanza" >>"$T/server.conf"
check "the config with the pasted stanza passes -t" "$BIN/siglatchd" -t -c "$T/server.conf"

start_daemon || { notok "siglatchd starts"; exit 1; }

# --- knocker with the per-host directory --------------------------------------
export HOME=$T/home
unset XDG_CONFIG_HOME
n=$(nruns)
"$BIN/knocker" --port "$PORT" 127.0.0.1 dave record "by alias"
check "knocker HOST USER ACTION PAYLOAD with aliases from ~/.config/siglatch/HOST" wait_runs $((n + 1))
r=$(latest_run)
check "... runs as user dave, action record" sh -c "grep -qx 'argv\[4\]=dave' '$r' && grep -qx 'argv\[6\]=record' '$r'"

n=$(nruns)
"$BIN/knocker" 127.0.0.1 dave ascii_only "options after positionals" --port "$PORT"
check "options may follow the positionals" wait_runs $((n + 1))

n=$(nruns)
printf 'from stdin' | "$BIN/knocker" --stdin --port "$PORT" 127.0.0.1 dave record
wait_runs $((n + 1)) && r=$(latest_run)
check "--stdin sends standard input as the payload" test "$(sed -n 's/^argv\[8\]=//p' "$r" | base64 -d)" = "from stdin"

n=$(nruns)
printf 'must not be read' | "$BIN/knocker" --port "$PORT" 127.0.0.1 dave record
wait_runs $((n + 1)) && r=$(latest_run)
check "without --stdin, standard input is not read" grep -qx 'argv\[8\]=' "$r"

# --- refusals: clear message, non-zero exit, nothing sent ----------------------
received() {
	kill -USR1 "$DPID"
	sleep 0.2
	grep 'SL008 received=' "$T/daemon.log" | tail -1 | sed -n 's/.* received=\([0-9]*\).*/\1/p'
}
r0=$(received)
refuses() { # description expected-text command...
	local d=$1 want=$2 out
	shift 2
	if out=$("$@" 2>&1 </dev/null); then
		notok "$d (exit 0)"
	elif ! printf '%s' "$out" | grep -q -- "$want"; then
		notok "$d (message: $out)"
	else
		ok "$d"
	fi
}
big=$(head -c 200 /dev/zero | tr '\0' 'x')
refuses "a 200-byte payload is refused" "199" "$BIN/knocker" --port "$PORT" 127.0.0.1 dave record "$big"
refuses "a 200-byte payload on stdin is refused" "199" sh -c "printf '%s' '$big' | '$BIN/knocker' --stdin --port $PORT 127.0.0.1 dave record"
refuses "an unknown user alias is refused" "nobody" "$BIN/knocker" --port "$PORT" 127.0.0.1 nobody record
refuses "an unknown action alias is refused" "nothing" "$BIN/knocker" --port "$PORT" 127.0.0.1 dave nothing
refuses "an unreadable HMAC key is refused" "/nonexistent" "$BIN/knocker" --port "$PORT" --hmac-key /nonexistent/k 127.0.0.1 dave record
refuses "a bad server key is refused" "$T/keys/alice.hmac" "$BIN/knocker" --port "$PORT" --server-key "$T/keys/alice.hmac" 127.0.0.1 dave record
refuses "a bad port is refused" "port" "$BIN/knocker" --port 70000 127.0.0.1 dave record
refuses "too many arguments are refused" "too many arguments" "$BIN/knocker" --port "$PORT" 127.0.0.1 dave record a b
check "none of the refused knocks sent anything" test "$(received)" = "$r0"
