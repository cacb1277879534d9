#!/usr/bin/env bash
# knocker's profiles against the real siglatchd: a bundle made for one host
# name imported under another name and knocked at 127.0.0.1, knocker
# PROFILE [ACTION] [PAYLOAD] with command-line overrides, --save-profile,
# drop-ins, which file is read (--config, SIGLATCH_CONFIG,
# XDG_CONFIG_HOME, HOME), --list with fingerprints and never keys, and the
# refusals: unknown keys, a profile defined twice, loose key modes, a
# group-writable file, each naming file:line.
. "$(dirname "$0")/lib.sh"

setup_keys
pick_port
write_config
sed -i '/^logging = yes$/a receipt = yes' "$T/server.conf"
K=$BIN/siglatch-keygen
KN=$BIN/knocker
export HOME=$T/home
unset XDG_CONFIG_HOME SIGLATCH_CONFIG
mkdir -p -m 700 "$HOME/.config/siglatch"
CFG=$HOME/.config/siglatch/knocker.conf

# a bundle for "gw.example.org", a name that resolves nowhere
stanza=$("$K" user dave --id 20 --server-pub "$T/keys/server.pub.pem" \
	--host gw.example.org --key-dir "$T/keys" --bundle "$T/bundle" \
	--action record=1 2>/dev/null)
printf '\n%s\n' "$stanza" >>"$T/server.conf"
start_daemon || { notok "siglatchd starts"; exit 1; }

field() { printf '%s\n' "$1" | sed -n "s/^$2=//p"; }
# outcome: run knocker, want exit status and stderr text
runs() { # description want-exit want-text command...
	local d=$1 want=$2 text=$3 o rc
	shift 3
	o=$("$@" 2>&1 </dev/null)
	rc=$?
	if [ "$rc" != "$want" ]; then
		notok "$d (exit $rc, want $want: $o)"
	elif [ -n "$text" ] && ! printf '%s' "$o" | grep -qF -- "$text"; then
		notok "$d (output: $o)"
	else
		ok "$d"
	fi
}

# --- import under another name --------------------------------------------------
runs "--import-bundle DIR --as lab 127.0.0.1: exit 0" 0 "profile lab" \
	"$KN" --import-bundle "$T/bundle" --as lab -p "$PORT" 127.0.0.1
check "... writes the drop-in knocker.conf.d/lab.conf, mode 0600" test "$(stat -c %a "$CFG.d/lab.conf")" = 600
check "... which names host 127.0.0.1, the port, user dave, action record" sh -c "grep -qx 'host = 127.0.0.1' '$CFG.d/lab.conf' && grep -qx 'port = $PORT' '$CFG.d/lab.conf' && grep -qx 'user = dave' '$CFG.d/lab.conf' && grep -qx 'action = record' '$CFG.d/lab.conf'"
check "... and copies the key mode 0600 into knocker.bundles/lab" test "$(stat -c %a "$HOME/.config/siglatch/knocker.bundles/lab/hmac.key")" = 600
runs "importing under a name in use is refused" 1 "lab.conf:2" \
	"$KN" --import-bundle "$T/bundle" --as lab 127.0.0.1

n=$(nruns)
runs "knocker lab: the bundle for gw.example.org knocks 127.0.0.1 (format 2, --wait)" 0 "done" \
	"$KN" --wait=5 lab
wait_runs $((n + 1)) && r=$(latest_run)
check "... runs user dave's action record" sh -c "grep -qx 'argv\[4\]=dave' '$r' && grep -qx 'argv\[6\]=record' '$r'"
n=$(nruns)
runs "knocker lab ACTION PAYLOAD: the action by id, a payload" 0 "" \
	"$KN" lab 1 "from profile"
wait_runs $((n + 1)) && r=$(latest_run)
check "... the payload arrives" test "$(sed -n 's/^argv\[8\]=//p' "$r" | base64 -d)" = "from profile"
runs "command-line options win over the profile (-p to a dead port: no receipt)" 6 "no receipt" \
	"$KN" --wait=1 -p 9 lab
runs "a profile takes at most ACTION and PAYLOAD" 2 "too many arguments for a profile" \
	"$KN" lab record x y

# --- the main file, relative paths, its checks --------------------------------------
cp "$T/keys/alice.hmac" "$HOME/.config/siglatch/alice.hmac"
chmod 600 "$HOME/.config/siglatch/alice.hmac"
cat >"$CFG" <<CONF
# knocker profiles for the test
[alice]
host = nowhere.invalid, 127.0.0.1
port = $PORT
user = 10
action = 1
format = 1
server-key = $T/keys/server.pub.pem
hmac-key = alice.hmac
CONF
chmod 600 "$CFG"
n=$(nruns)
runs "a format-1 profile with relative key path and two hosts (the first unresolvable)" 0 "" \
	"$KN" alice
wait_runs $((n + 1)) && r=$(latest_run)
check "... runs alice's action record" sh -c "grep -qx 'argv\[4\]=alice' '$r' && grep -qx 'argv\[6\]=record' '$r'"

chmod 640 "$HOME/.config/siglatch/alice.hmac"
runs "a profile's key open to the group is refused, naming the fix" 1 "chmod 600 $HOME/.config/siglatch/alice.hmac" \
	"$KN" alice
chmod 600 "$HOME/.config/siglatch/alice.hmac"

cp "$CFG" "$T/good.conf"
printf 'colour = blue\n' >>"$CFG"
runs "an unknown key is refused with file:line" 1 "$CFG:10: [alice] colour: unknown key" "$KN" alice
cp "$T/good.conf" "$CFG"
printf 'port = 1\n' >>"$CFG"
runs "a key given twice is refused with both lines" 1 "$CFG:10: [alice] port: given twice (first at line 4)" "$KN" alice
cp "$T/good.conf" "$CFG"
printf '[lab]\nhost = 127.0.0.1\n' >>"$CFG"
runs "a profile defined in the main file and a drop-in is refused" 1 "profile [lab] defined again (first at $CFG:10)" "$KN" alice
cp "$T/good.conf" "$CFG"
sed -i 's/^port = .*/port = 70000/' "$CFG"
runs "a port out of range is refused with file:line" 1 "$CFG:4: [alice] port: '70000' is not a number in 1..65535" "$KN" alice
cp "$T/good.conf" "$CFG"
chmod 620 "$CFG"
runs "a group-writable knocker.conf is refused" 1 "writable by group or others" "$KN" alice
chmod 600 "$CFG"
runs "a HOST that is no profile still needs USER ACTION, and says so" 2 "no profile 'nosuch'" "$KN" nosuch record

# --- --list ---------------------------------------------------------------------------
l=$("$KN" --list)
rc=$?
# the fingerprints the server side shows (keygen, the daemon's SL002)
pubfp=$("$BIN/siglatch-keygen" fingerprint "$T/keys/server.pub.pem" | cut -d' ' -f1)
# the key file is 64 hex digits: its 32 bytes, hashed
keyfp=$("$BIN/siglatch-keygen" fingerprint "$T/keys/alice.hmac" | cut -d' ' -f1)
check "--list: exit 0, both profiles with file:line" sh -c "[ $rc = 0 ] && printf '%s\n' \"\$1\" | grep -qx 'alice  ($CFG:2)' && printf '%s\n' \"\$1\" | grep -qx 'lab  ($CFG.d/lab.conf:2)'" _ "$l"
check "--list shows the server key's fingerprint, the one siglatch-keygen prints ($pubfp)" sh -c "[ ${#pubfp} = 50 ] && printf '%s\n' \"\$1\" | grep -qF 'server key  $pubfp'" _ "$l"
check "--list shows the HMAC key's fingerprint, the one siglatch-keygen prints ($keyfp)" sh -c "[ ${#keyfp} = 55 ] && printf '%s\n' \"\$1\" | grep -qF 'hmac key    $keyfp'" _ "$l"
check "--list never shows a key" sh -c "! printf '%s\n' \"\$1\" | grep -qi -e \"\$(cat '$T/keys/alice.hmac')\" -e \"\$(cat '$T/keys/dave.hmac.key')\" -e 'BEGIN'" _ "$l"

# --- --save-profile ------------------------------------------------------------------------
n=$(nruns)
runs "--save-profile NAME HOST USER ACTION saves and knocks" 0 "saved profile carol" \
	"$KN" --save-profile carol -p "$PORT" --format 2 --server-key "$T/keys/server.pub.pem" \
	--hmac-key "$T/keys/carol.hmac" 127.0.0.1 12 5
wait_runs $((n + 1))
check "... the knock ran" test "$(nruns)" = $((n + 1))
check "... the stanza has absolute key paths" grep -qx "hmac-key = $T/keys/carol.hmac" "$CFG.d/carol.conf"
n=$(nruns)
runs "knocker carol: the saved profile knocks" 0 "" "$KN" carol
check "... and runs" wait_runs $((n + 1))
runs "--save-profile with a name in use is refused" 1 "profile carol exists" \
	"$KN" --save-profile carol 127.0.0.1 12 5

# --- which file -----------------------------------------------------------------------------
mkdir -p -m 700 "$T/xdg/siglatch" "$T/alt"
printf '[only-xdg]\nhost = 127.0.0.1\nport = %s\nuser = 10\naction = 1\nformat = 1\nserver-key = %s\nhmac-key = %s\n' \
	"$PORT" "$T/keys/server.pub.pem" "$T/keys/alice.hmac" >"$T/xdg/siglatch/knocker.conf"
sed 's/only-xdg/only-alt/' "$T/xdg/siglatch/knocker.conf" >"$T/alt/k.conf"
chmod 600 "$T/xdg/siglatch/knocker.conf" "$T/alt/k.conf"
runs "XDG_CONFIG_HOME/siglatch/knocker.conf is read when XDG_CONFIG_HOME is set" 0 "" \
	env XDG_CONFIG_HOME="$T/xdg" "$KN" -n only-xdg
runs "... and then ~/.config is not" 2 "no profile 'alice'" env XDG_CONFIG_HOME="$T/xdg" "$KN" -n alice
runs "SIGLATCH_CONFIG names the file" 0 "" env SIGLATCH_CONFIG="$T/alt/k.conf" "$KN" -n only-alt
runs "--config wins over SIGLATCH_CONFIG" 0 "" env SIGLATCH_CONFIG="$T/xdg/siglatch/knocker.conf" "$KN" --config "$T/alt/k.conf" -n only-alt
runs "a --config file that does not exist is an error" 1 "$T/nope.conf" "$KN" --config "$T/nope.conf" -n alice

# --- no HOME: no profiles, and HOST USER ACTION with explicit keys still works ------------
runs "without HOME, HOST USER ACTION with explicit keys still works" 0 "payload_len=0" \
	env -u HOME -u XDG_CONFIG_HOME "$KN" -n --format 1 --server-key "$T/keys/server.pub.pem" \
	--hmac-key "$T/keys/alice.hmac" 127.0.0.1 10 1
runs "... and --list then says why there are none" 1 "HOME" env -u HOME -u XDG_CONFIG_HOME "$KN" --list

# --- drop-ins: only *.conf, each checked ---------------------------------------------------
printf 'garbage that is no config\n' >"$CFG.d/lab.conf~"
printf '[hidden]\nnonsense\n' >"$CFG.d/.hidden.conf"
runs "editor backups and dot files in knocker.conf.d/ are skipped" 0 "" "$KN" -n lab
printf '[broken]\nhost = 127.0.0.1\ncolour = red\n' >"$CFG.d/broken.conf"
chmod 600 "$CFG.d/broken.conf"
runs "an unknown key in a drop-in names the drop-in file:line" 1 "$CFG.d/broken.conf:3: [broken] colour: unknown key" "$KN" -n lab
rm "$CFG.d/broken.conf"
chmod 666 "$CFG.d/lab.conf"
runs "a drop-in writable by others is refused" 1 "$CFG.d/lab.conf is writable by group or others" "$KN" -n lab
chmod 600 "$CFG.d/lab.conf"
chmod 777 "$CFG.d"
runs "a knocker.conf.d/ writable by others is refused" 1 "$CFG.d is writable by group or others" "$KN" -n lab
chmod 700 "$CFG.d"
