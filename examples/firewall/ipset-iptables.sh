#!/bin/sh
# ipset-iptables.sh - the iptables + ipset setup for siglatch: SSH is closed
# except to addresses that siglatchd has granted (firewall/ipset-grant adds
# them to the ipsets siglatch4 / siglatch6, firewall/ipset-revoke removes
# them).  See docs/FIREWALL.md.
#
#   sh ipset-iptables.sh            create or update (run it again: same result)
#   sh ipset-iptables.sh remove     take it all away again
#
# It creates the two ipsets and, in the filter tables of iptables and
# ip6tables, a chain SIGLATCH jumped to first from INPUT.  Nothing else is
# touched: the ipsets keep their entries when it runs again.  SIGLATCH lets
# granted and established traffic go on to the rest of INPUT (RETURN) and
# drops the other packets to the protected port.
#
# To protect another port: SSH_PORT=2222 sh ipset-iptables.sh (or change the
# default below), or a list: SSH_PORT=22,2222 (iptables multiport).
# Run it at boot (after the network is up, before sshd matters), for
# example from a systemd unit or /etc/network/if-pre-up.d.
set -eu

SSH_PORT=${SSH_PORT:-22}
CHAIN=SIGLATCH
SET4=siglatch4
SET6=siglatch6

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

case $SSH_PORT in
'' | *[!0-9,]* | ,* | *, | *,,*)
	echo "ipset-iptables.sh: SSH_PORT '$SSH_PORT' is not a port or a list of ports" >&2
	exit 2
	;;
esac

remove() { # iptables-command
	while "$1" -w -D INPUT -j "$CHAIN" 2>/dev/null; do :; done
	"$1" -w -F "$CHAIN" 2>/dev/null || true
	"$1" -w -X "$CHAIN" 2>/dev/null || true
}

if [ "${1:-}" = remove ]; then
	remove iptables
	remove ip6tables
	ipset destroy "$SET4" 2>/dev/null || true
	ipset destroy "$SET6" 2>/dev/null || true
	echo "siglatch: chains $CHAIN and ipsets $SET4, $SET6 removed"
	exit 0
fi
[ $# -eq 0 ] || { echo "usage: ipset-iptables.sh [remove]" >&2; exit 2; }

# timeout 0: no default timeout, but every entry may carry its own
ipset create -exist "$SET4" hash:ip family inet timeout 0
ipset create -exist "$SET6" hash:ip family inet6 timeout 0

# One iptables-restore transaction per family, so the chain is never seen
# half built: declaring SIGLATCH empties it, the rules follow, and the jump
# from INPUT is added only when it is not there yet.
setup() { # iptables-command set
	if "$1" -w -C INPUT -j "$CHAIN" 2>/dev/null; then
		jump=
	else
		jump="-I INPUT 1 -j $CHAIN"
	fi
	m="-p tcp -m multiport --dports $SSH_PORT"
	printf '%s\n' '*filter' ":$CHAIN - [0:0]" \
	    "-A $CHAIN $m -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN" \
	    "-A $CHAIN $m -m set --match-set $2 src -j RETURN" \
	    "-A $CHAIN $m -j DROP" \
	    "$jump" COMMIT | "$1-restore" -w --noflush
}
setup iptables "$SET4"
setup ip6tables "$SET6"
echo "siglatch: tcp port(s) $SSH_PORT closed except to ipsets $SET4, $SET6"
