#!/usr/bin/env bash
# ssh that just works, end to end, as root: a real sshd (Debian
# openssh-server) in a server namespace S behind the shipped nftables
# ruleset (examples/firewall/nftables.conf: port 22 dropped unless the
# source is in the granted set), siglatchd in S whose action runs the
# shipped firewall/nft-grant, and a real ssh client in namespace C:
#   C 10.203.1.2  <-veth->  S 10.203.1.1
# ssh -F testconfig reaches sshd only through
#   ProxyCommand knocker --connect %h:%p PROFILE
# (or the "Match exec" form); directly, or with a knock the server
# refuses, it does not.  Throwaway host and user keys; no traffic leaves
# the namespaces.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	ok "ssh end-to-end test needs root # SKIP"
	exit 0
fi
missing() { # description
	if [ -n "${CI:-}" ]; then
		notok "$1"
	else
		ok "$1 # SKIP"
		diag "install: apt-get install openssh-server openssh-client nftables"
	fi
}
have() { command -v "$1" >/dev/null 2>&1; }
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
if [ ! -x "$SSHD" ] || ! have ssh || ! have ssh-keygen || ! have nft; then
	missing "ssh end-to-end test needs sshd, ssh, ssh-keygen and nft"
	exit 0
fi
if ! have ip || ! ip netns add "slssh-probe-$$" 2>/dev/null; then
	missing "ssh end-to-end test needs network namespaces (ip netns)"
	exit 0
fi
ip netns del "slssh-probe-$$"

FW=$TOP/firewall
EX=$TOP/examples/firewall
S4=10.203.1.1 C4=10.203.1.2
NSS=slssh-s-$$ NSC=slssh-c-$$
SPID="" MADE_RUN_SSHD=""
PORT=62203

ssh_cleanup() {
	local ns p
	[ -n "$SPID" ] && kill -TERM "$SPID" 2>/dev/null
	stop_daemon
	for ns in $NSS $NSC; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "$SPID" ] && wait "$SPID" 2>/dev/null
	# the privilege separation directory, if this test made it
	[ -n "$MADE_RUN_SSHD" ] && rmdir /run/sshd 2>/dev/null
	cleanup
}
trap ssh_cleanup EXIT
trap 'exit 1' INT TERM

inS() { ip netns exec "$NSS" "$@"; }
inC() { ip netns exec "$NSC" "$@"; }
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
granted() { inS nft list set inet siglatch granted4 2>/dev/null | grep -q "$C4"; }

# --- namespaces, ruleset --------------------------------------------------------
ip netns add "$NSS" && ip netns add "$NSC" &&
ip -n "$NSS" link set lo up && ip -n "$NSC" link set lo up &&
ip -n "$NSS" link add eth-c type veth peer name eth0 netns "$NSC" &&
ip -n "$NSS" addr add "$S4/24" dev eth-c &&
ip -n "$NSC" addr add "$C4/24" dev eth0 &&
ip -n "$NSS" link set eth-c up && ip -n "$NSC" link set eth0 up ||
	{ notok "namespaces S and C are set up"; exit 1; }
check "the shipped nftables ruleset loads in S" inS nft -f "$EX/nftables.conf"

# --- keys: server, user, ssh ------------------------------------------------------
setup_keys
mkdir -m 700 "$T/ssh"
ssh-keygen -q -t ed25519 -N '' -C sl-test-host -f "$T/ssh/host_key" &&
ssh-keygen -q -t ed25519 -N '' -C sl-test-user -f "$T/ssh/id" &&
cp "$T/ssh/id.pub" "$T/ssh/authorized_keys" ||
	{ notok "throwaway ssh keys are made"; exit 1; }
printf 'sl-target %s\n' "$(cut -d' ' -f1,2 "$T/ssh/host_key.pub")" >"$T/ssh/known_hosts"

# --- sshd in S: test-only config, root, pubkey only, no PAM -----------------------------
cat >"$T/ssh/sshd_config" <<CONF
# t_ssh.sh: a throwaway sshd inside namespace $NSS
ListenAddress $S4:22
HostKey $T/ssh/host_key
PidFile none
AuthorizedKeysFile $T/ssh/authorized_keys
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers root
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PrintMotd no
LogLevel VERBOSE
CONF
if [ ! -d /run/sshd ]; then
	mkdir -m 755 /run/sshd && MADE_RUN_SSHD=1
fi
check "sshd accepts the test config (sshd -t)" inS "$SSHD" -t -f "$T/ssh/sshd_config"
inS "$SSHD" -D -e -f "$T/ssh/sshd_config" 2>"$T/sshd.log" &
SPID=$!
for _ in $(seq 1 100); do
	inS ss -Hltn "sport = :22" | grep -q . && break
	sleep 0.05
done
check "sshd listens on $S4:22 in S" sh -c "ip netns exec $NSS ss -Hltn 'sport = :22' | grep -q '$S4:22'"

# --- siglatchd in S: the action opens port 22 to the knocking address -------------------------
mkdir -p "$T/state-ssh"
cat >"$T/ssh.conf" <<CONF
# t_ssh.sh
state_dir = $T/state-ssh
timestamp_window = 120
script_timeout = 10

[server:main]
port = $PORT
secure = yes
priv_key_path = $T/keys/server.priv.pem
actions = ssh
receipt = yes

[action:ssh]
id = 1
constructor = $FW/nft-grant
destructor = $FW/nft-revoke
keepalive_interval = 120
rerun_on_extend = yes
discard_payload = yes

[user:alice]
id = 10
enabled = yes
hmac_file = $T/keys/alice.hmac
actions = ssh

[user:carol]
id = 12
enabled = yes
hmac_file = $T/keys/carol.hmac
actions = ssh
allowed_ips = 192.0.2.1
CONF
: >"$T/daemon.log"
inS "$BIN/siglatchd" -f -c "$T/ssh.conf" >>"$T/daemon.log" 2>&1 &
DPID=$!
for _ in $(seq 1 200); do
	grep -q SL003 "$T/daemon.log" && break
	kill -0 "$DPID" 2>/dev/null || break
	sleep 0.05
done
if ! grep -q SL003 "$T/daemon.log"; then
	notok "siglatchd starts in S"
	sed 's/^/#   /' "$T/daemon.log"
	exit 1
fi

# --- the client side: knocker profiles and the ssh config ------------------------------------
export HOME=$T/home
unset XDG_CONFIG_HOME SIGLATCH_CONFIG
mkdir -p -m 700 "$HOME/.config/siglatch"
cat >"$HOME/.config/siglatch/knocker.conf" <<CONF
[lab]
host = $S4
port = $PORT
user = 10
action = 1
format = 2
server-key = $T/keys/server.pub.pem
hmac-key = $T/keys/alice.hmac
timeout = 15

# carol may not knock from C (allowed_ips): the server refuses
[refused]
host = $S4
port = $PORT
user = 12
action = 1
format = 2
server-key = $T/keys/server.pub.pem
hmac-key = $T/keys/carol.hmac
CONF
chmod 600 "$HOME/.config/siglatch/knocker.conf"

common="  User root
  IdentityFile $T/ssh/id
  IdentitiesOnly yes
  HostKeyAlias sl-target
  UserKnownHostsFile $T/ssh/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 3
  LogLevel ERROR"
cat >"$T/testconfig" <<CONF
# t_ssh.sh: the snippet docs/knocker.md documents, with test paths
Host target
  HostName $S4
  ProxyCommand env HOME=$HOME $BIN/knocker --connect %h:%p lab
$common

Host refused
  HostName $S4
  ProxyCommand env HOME=$HOME $BIN/knocker --connect %h:%p --timeout 5 refused
$common

Host direct
  HostName $S4
$common

# the Match exec form: knock and wait for the receipt, then connect
Match originalhost matched exec "env HOME=$HOME $BIN/knocker -q --wait=5 lab"
  HostName $S4
$common
CONF

sshc() { inC ssh -F "$T/testconfig" "$@" 2>>"$T/ssh.err" </dev/null; }

# --- without knocker: no way in -------------------------------------------------------------
t0=$(now_ms)
sshc direct true
rc=$?
check "ssh direct (no knock): fails (exit $rc)" test "$rc" = 255
check "... the port was closed: nothing granted" sh -c '! granted'
sshc refused true
rc=$?
check "ssh through knocker with a knock the server refuses: fails (exit $rc)" test "$rc" = 255
check "... knocker said why (the receipt: refused)" grep -q 'knocker: refused by the server' "$T/ssh.err"
check "... still nothing granted" sh -c '! granted'

# --- through knocker --------------------------------------------------------------------------
out=$(sshc target 'echo via-$((6 * 7))')
rc=$?
check "ssh -F testconfig target, ProxyCommand knocker --connect %h:%p lab: exit 0" test "$rc" = 0
check "... the remote command ran" test "$out" = via-42
check "... C's address is in the granted set" granted
check "... siglatchd ran the action for alice" grep -q 'nft-grant' "$T/daemon.log"
check "sshd saw the user key from C" grep -q "Accepted publickey for root from $C4" "$T/sshd.log"
out=$(inC sh -c "printf 'hello through the relay' | ssh -F '$T/testconfig' target 'cat; echo; echo done'" 2>>"$T/ssh.err")
check "standard input goes through the relay and its end of file too" test "$out" = "hello through the relay
done"

# --- the Match exec form, after the grant is gone from the kernel -------------------------------
inS nft flush set inet siglatch granted4
sshc direct true
rc=$?
check "with the kernel's grant flushed, ssh direct fails again (exit $rc)" test "$rc" = 255
out=$(sshc matched 'echo matched')
rc=$?
check "ssh matched (Match originalhost ... exec \"knocker -q --wait=5 lab\"): exit 0" sh -c "[ $rc = 0 ] && [ '$out' = matched ]"
check "... the knock's action put C back in the set" granted
if [ "$NOK" -gt 0 ]; then
	diag "ssh stderr:"; sed 's/^/#   /' "$T/ssh.err" | tail -20
	diag "sshd:"; sed 's/^/#   /' "$T/sshd.log" | tail -20
	diag "siglatchd:"; sed 's/^/#   /' "$T/daemon.log" | tail -20
fi
