#!/usr/bin/env bash
# Metrics and an audit trail as operators collect them: metrics_file in the
# Prometheus text format (node_exporter's textfile collector), replaced
# atomically every stats_interval, whose counters move with the knocks;
# log_format = json, one JSON object per line, the knock's outcome in
# fields of its own.
. "$(dirname "$0")/lib.sh"

setup_keys
pick_port
KERNEL_FILTER=no write_config "stats_interval = 1
metrics_file = siglatchd.prom
log_format = json"
start_daemon || { notok "siglatchd starts"; exit 1; }
ok "siglatchd starts with metrics_file and log_format = json"

prom() { find "$T/state" -name siglatchd.prom 2>/dev/null | head -1; }
# the value of one sample (exact name and labels), or nothing
sample() { # file 'name{labels}'
	awk -v k="$2" '$1 == k { print $2 }' "$1"
}
# wait until sample >= n
wait_sample() { # file key n
	local v
	for _ in $(seq 1 80); do
		v=$(sample "$1" "$2")
		[ -n "$v" ] && [ "${v%.*}" -ge "$3" ] 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# The format, as a small parser sees it: every sample after a # TYPE of its
# family, each family's lines together, names ^siglatch_[a-z_]+$, labels
# name="value", values numbers, a # HELP for each family.
check_format() { # file
	python3 - "$1" <<'PY'
import re, sys
name_re = re.compile(r'^siglatch_[a-z_]+$')
sample_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$')
label_re = re.compile(r'^[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"$')
types, helps, done, cur, bad, n = {}, set(), set(), None, [], 0
for ln, line in enumerate(open(sys.argv[1]), 1):
    line = line.rstrip('\n')
    if line.startswith('# HELP '):
        helps.add(line.split(' ')[2])
        continue
    if line.startswith('# TYPE '):
        _, _, fam, typ = line.split(' ')
        if fam in types:
            bad.append('%d: second TYPE for %s' % (ln, fam))
        if typ not in ('counter', 'gauge'):
            bad.append('%d: type %s' % (ln, typ))
        if cur is not None:
            done.add(cur)
        types[fam], cur = typ, fam
        continue
    m = sample_re.match(line)
    if not m:
        bad.append('%d: not a sample: %r' % (ln, line))
        continue
    fam = m.group(1)
    n += 1
    if not name_re.match(fam):
        bad.append('%d: name %s' % (ln, fam))
    if fam not in types or fam != cur:
        bad.append('%d: %s without its # TYPE just before its family' % (ln, fam))
    if fam not in helps:
        bad.append('%d: %s without # HELP' % (ln, fam))
    if m.group(3) is not None:
        for lab in re.findall(r'[a-z_]+="(?:[^"\\]|\\.)*"', m.group(3)):
            if not label_re.match(lab):
                bad.append('%d: label %s' % (ln, lab))
        if ','.join(re.findall(r'[a-z_]+="(?:[^"\\]|\\.)*"', m.group(3))) != m.group(3):
            bad.append('%d: labels %s' % (ln, m.group(3)))
    try:
        float(m.group(4))
    except ValueError:
        bad.append('%d: value %s' % (ln, m.group(4)))
    if types.get(fam) == 'counter' and not fam.endswith('_total'):
        bad.append('%d: counter %s without _total' % (ln, fam))
if n < 10:
    bad.append('only %d samples' % n)
for b in bad[:10]:
    print(b)
sys.exit(1 if bad else 0)
PY
}

for _ in $(seq 1 50); do [ -n "$(prom)" ] && break; sleep 0.1; done
P=$(prom)
check "the metrics file appears in the stats file's directory" test -n "$P" -a -f "$P"
[ -n "$P" ] || exit 1
out=$(check_format "$P")
rc=$?
check "the metrics file parses as the Prometheus text format" test "$rc" -eq 0
[ -n "$out" ] && diag "$out"
check "the uniform rejection counter is there, per server" grep -q '^siglatch_knocks_rejected_total{server="main"} 0$' "$P"
check "counters by reason, per server" grep -q '^siglatch_knocks_rejected_reason_total{server="main",reason="hmac"} 0$' "$P"
check "the drop counters carry a server and a reason label" grep -q '^siglatch_datagrams_dropped_total{server="main",reason="duplicate"} 0$' "$P"
check "gauges are typed as such" grep -q '^# TYPE siglatch_replay_entries gauge$' "$P"

acc='siglatch_knocks_accepted_total{server="main"}'
hm='siglatch_knocks_rejected_reason_total{server="main",reason="hmac"}'
rx='siglatch_datagrams_received_total{server="main"}'
a0=$(sample "$P" "$acc")
knock alice 1 "metrics"
craft alice --action 1 --bad-hmac >/dev/null 2>&1
craft alice --action 1 --bad-hmac >/dev/null 2>&1
craft alice --action 5 >/dev/null 2>&1
wait_runs 1
# and one format-2 knock, from carol
"$BIN/tools/k2knock" --port "$PORT" --server-key "$T/keys/server.pub.pem" \
	--hmac-key "$T/keys/carol.hmac" --user 12 --action 5 >/dev/null 2>&1
wait_runs 2
check "a knock moves the accepted counter (0 -> 1)" wait_sample "$P" "$acc" $((a0 + 1))
check "two wrong-HMAC knocks move the hmac counter to 2" wait_sample "$P" "$hm" 2
check "... and the uniform one" wait_sample "$P" 'siglatch_knocks_rejected_total{server="main"}' 2
check "the received counter counts all five" wait_sample "$P" "$rx" 5
check "the format-2 knock counts as such" wait_sample "$P" 'siglatch_knocks_accepted_format_two_total{server="main"}' 1
check "a denied knock counts under refused, reason denied" wait_sample "$P" 'siglatch_knocks_refused_total{server="main",reason="denied"}' 1
check "the file stays well-formed as it changes" check_format "$P"
check "no temporary file is left behind" test -z "$(find "$(dirname "$P")" -name '*.prom.tmp')"
t1=$(sample "$P" siglatch_stats_time_seconds)
sleep 2.2
t2=$(sample "$P" siglatch_stats_time_seconds)
check "it is rewritten every stats_interval ($t1 -> $t2)" test "${t2:-0}" -gt "${t1:-0}"

# --- the JSON log -------------------------------------------------------------
sleep 0.3
out=$(python3 - "$T/daemon.log" <<'PY'
import json, sys
n = outcomes = 0
need = ('time', 'level', 'code', 'message')
fields = ('src', 'server', 'user', 'action', 'outcome', 'reason')
seen = {}
for line in open(sys.argv[1]):
    n += 1
    o = json.loads(line)          # every line is one JSON object
    for k in need:
        assert k in o, (k, line)
    if 'outcome' in o:
        outcomes += 1
        for k in fields:
            assert k in o, (k, line)
        seen.setdefault(o['code'], [])
        seen[o['code']].append(o)
a2 = [x for x in seen['SL100'] if x['user'] == 'carol']
assert len(a2) == 1 and (a2[0]['action'], a2[0]['outcome'], a2[0]['src']) \
    == ('other', 'accepted', '127.0.0.1'), a2
assert 'format 2' in a2[0]['message'], a2
seen = {k: v[0] for k, v in seen.items()}
a = seen['SL100']
assert (a['src'], a['server'], a['user'], a['action'], a['outcome'],
        a['reason']) == ('127.0.0.1', 'main', 'alice', 'record', 'accepted',
        None), a
r = seen['SL201']
assert (r['outcome'], r['reason'], r['user'], r['src']) == \
    ('rejected', 'hmac', None, '127.0.0.1'), r
assert 'HMAC mismatch for user alice' in r['message'], r
d = seen['SL204']
assert (d['outcome'], d['reason'], d['user'], d['action']) == \
    ('denied', 'user_actions', 'alice', 'other'), d
print('%d lines, %d outcomes' % (n, outcomes))
PY
)
rc=$?
check "with log_format = json every line parses, and outcomes carry src, server, user, action, outcome, reason ($out)" test "$rc" -eq 0

stop_daemon
check "the daemon stops cleanly" test "$DEXIT" = 0

# --- a metrics file elsewhere: a directory held open, written after the
# privilege drop (the textfile collector's directory) ----------------------
mkdir -m 755 "$T/textfile"
chown nobody "$T/textfile"
KERNEL_FILTER=no write_config "stats_interval = 1
run_as = nobody
metrics_file = $T/textfile/siglatch.prom"
start_daemon || { notok "siglatchd starts with an absolute metrics_file"; exit 1; }
knock alice 1 "elsewhere"
wait_runs 3
check "an absolute metrics_file is written in its own directory" \
	wait_sample "$T/textfile/siglatch.prom" "$acc" 1
check "... and parses" check_format "$T/textfile/siglatch.prom"
check "text is the default log format" log_has ' notice SL100 user alice from 127.0.0.1'
stop_daemon

[ "$NOK" -eq 0 ]
