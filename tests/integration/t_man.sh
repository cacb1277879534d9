#!/usr/bin/env bash
# The manual pages in man/ (mdoc(7) source):
#   - each passes "mandoc -T lint -W warning" with nothing to say, and
#     renders with "man --warnings -l" (groff) without a warning;
#   - siglatchd.conf.5 documents every key of src/daemon/cfgkeys.c's key tables,
#     each in the section of its table (top level, [server:NAME],
#     [action:NAME], [user:NAME]), as ".It Cm KEY No = ...";
#   - each program's page names every long option its --help prints;
#   - make install puts them in $(MANDIR)/man1, man5 and man8.
# MANDIR_SRC=DIR checks the pages in DIR instead of man/.
. "$(dirname "$0")/lib.sh"

M=${MANDIR_SRC:-$TOP/man}
KEYSRC=$TOP/src/daemon/cfgkeys.c  # the key tables and the *_defaults functions
PAGES="siglatchd.8 siglatchd.conf.5 knocker.1 siglatch-keygen.1"

for p in $PAGES; do
	check "man/$p exists" test -s "$M/$p"
done

# 1. lint: mandoc (Debian package mandoc), then groff through man-db
if command -v mandoc >/dev/null 2>&1; then
	for p in $PAGES; do
		out=$(mandoc -T lint -W warning "$M/$p" 2>&1)
		rc=$?
		if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
			ok "mandoc -T lint -W warning $p: clean"
		else
			notok "mandoc -T lint -W warning $p: clean (exit $rc)"
			printf '%s\n' "$out" | head -10 | sed 's/^/#   /'
		fi
	done
else
	ok "mandoc lint # SKIP mandoc is not installed"
fi
if command -v man >/dev/null 2>&1 && command -v groff >/dev/null 2>&1; then
	for p in $PAGES; do
		out=$(MANWIDTH=80 man --warnings -E UTF-8 -l "$M/$p" 2>&1 >"$T/$p.txt")
		rc=$?
		if [ "$rc" -eq 0 ] && [ -z "$out" ] && [ -s "$T/$p.txt" ]; then
			ok "man --warnings -l $p: renders without a warning"
		else
			notok "man --warnings -l $p: renders without a warning (exit $rc)"
			printf '%s\n' "$out" | head -10 | sed 's/^/#   /'
		fi
	done
else
	ok "man --warnings -l # SKIP man-db or groff is not installed"
fi

# 2. every configuration key, in the section of its table.  The tables
# are the cfg_*_keys arrays of src/daemon/cfgkeys.c: K(struct ..., KEY, ...) lines,
# and { "KEY", ... } lines for the keys stored elsewhere (actions, deaddrops).
keys_of() { # table name: its keys, one a line
	sed -n "/^static const struct cfg_key $1\\[\\] = {/,/^};/p" \
	    "$KEYSRC" |
	    sed -n -e 's/^[[:space:]]*K(struct [a-z_]*, \([a-z0-9_]*\),.*/\1/p' \
	        -e 's/^[[:space:]]*{ "\([a-z0-9_]*\)", CT_.*/\1/p'
}
# The lines of the page from the .Ss that starts with $1 to the next .Ss/.Sh
section_of() {
	awk -v want="$1" '
	    /^\.S[sh] / { s = $0; sub(/^\.S[sh] "?/, "", s);
	        on = index(s, want) == 1; next }
	    on' "$M/siglatchd.conf.5"
}
nkeys=0
missing=
for t in cfg_top_keys:"Top level" cfg_server_keys:"[server:NAME]" \
    cfg_action_keys:"[action:NAME]" cfg_user_keys:"[user:NAME]"; do
	table=${t%%:*}
	sect=${t#*:}
	section_of "$sect" >"$T/sect.txt"
	n=$(keys_of "$table" | wc -l)
	if [ "$n" -lt 4 ] || [ ! -s "$T/sect.txt" ]; then
		notok "keys of $table ($n found in cfgkeys.c) and section '$sect' of siglatchd.conf.5 found"
		continue
	fi
	for k in $(keys_of "$table"); do
		nkeys=$((nkeys + 1))
		grep -q "^\\.It Cm $k No = " "$T/sect.txt" ||
		    missing="$missing $sect:$k"
	done
done
if [ "$nkeys" -ge 50 ] && [ -z "$missing" ]; then
	ok "siglatchd.conf.5 documents all $nkeys keys of cfgkeys.c, each in its section"
else
	notok "siglatchd.conf.5 documents every key of cfgkeys.c ($nkeys keys; missing:${missing:- none})"
fi

# ... with its range and its default as cfgkeys.c has them: "LO to HI" for
# each number key of the tables, "Default V" for each value the *_defaults
# functions and cfg_init set (true/false read as yes/no)
item_text() { # section-file key: the item's text, macros dropped, one line
	awk -v k="$2" '
	    $0 ~ "^\\.It Cm " k " No = " { on = 1; next }
	    on && /^\.(It|El)( |$)/ { exit }
	    on { sub(/^\.[A-Z][a-z] /, ""); printf "%s ", $0 }' "$1"
}
defaults_of() { # function: "key value" lines
	sed -n "/^$1(/,/^}/p" "$KEYSRC" | sed -n \
	    -e 's/^[[:space:]]*[a-z]*->\([a-z0-9_]*\) = \([0-9]*\|true\|false\);$/\1 \2/p' \
	    -e 's/^[[:space:]]*sl_strlcpy([a-z]*->\([a-z0-9_]*\), "\([^"]*\)".*/\1 \2/p' |
	    sed -e 's/ true$/ yes/' -e 's/ false$/ no/'
}
nfacts=0
wrong=
for t in cfg_top_keys:cfg_init:"Top level" \
    cfg_server_keys:cfg_server_defaults:"[server:NAME]" \
    cfg_action_keys:cfg_action_defaults:"[action:NAME]" \
    cfg_user_keys:cfg_user_defaults:"[user:NAME]"; do
	table=${t%%:*}
	rest=${t#*:}
	fn=${rest%%:*}
	sect=${rest#*:}
	section_of "$sect" >"$T/sect.txt"
	while read -r k lo hi; do
		nfacts=$((nfacts + 1))
		item_text "$T/sect.txt" "$k" | grep -qF -- "$lo to $hi" ||
		    wrong="$wrong $sect:$k(range $lo to $hi)"
	done < <(sed -n "/^static const struct cfg_key $table\[\] = {/,/^};/p" \
	    "$KEYSRC" | sed -n 's/^[[:space:]]*K(struct [a-z_]*, \([a-z0-9_]*\), CT_\(U16\|U32\|INT\), \(-*[0-9]*\), \([0-9]*\)).*/\1 \3 \4/p')
	while read -r k v; do
		nfacts=$((nfacts + 1))
		item_text "$T/sect.txt" "$k" | grep -qF -- "Default $v" ||
		    wrong="$wrong $sect:$k(default $v)"
	done < <(defaults_of "$fn")
done
if [ "$nfacts" -ge 50 ] && [ -z "$wrong" ]; then
	ok "siglatchd.conf.5 gives cfgkeys.c's range and default for each key ($nfacts facts)"
else
	notok "siglatchd.conf.5 gives cfgkeys.c's ranges and defaults ($nfacts facts; wrong:${wrong:- none})"
fi

# 3. every long option of each program's --help is in its page
for prog in siglatchd:siglatchd.8 knocker:knocker.1 siglatch-keygen:siglatch-keygen.1; do
	b=${prog%%:*}
	p=${prog#*:}
	opts=$("$BIN/$b" --help 2>&1 | grep -o -- '--[a-z][a-z0-9-]*' | sort -u)
	if [ -z "$opts" ]; then
		notok "$b --help prints long options"
		continue
	fi
	miss=
	for o in $opts; do
		grep -Eq -- "Fl -${o#--}([^a-z0-9-]|\$)" "$M/$p" || miss="$miss $o"
	done
	check "$p names every long option of $b --help ($(wc -w <<<"$opts"))${miss:+; missing:$miss}" \
	    test -z "$miss"
done

# ... and every subcommand of siglatch-keygen's usage has a synopsis line
# (".Cm NAME" after ".Nm") and a subsection (".Ss NAME") of its own
subs=$("$BIN/siglatch-keygen" --help 2>&1 |
    sed -n 's/^\(usage:\)* *siglatch-keygen \([a-z][a-z0-9-]*\).*/\2/p' | sort -u)
miss=
for c in $subs; do
	awk -v c="$c" 'prev == ".Nm" && $0 == ".Cm " c { f = 1 } { prev = $0 }
	    END { exit !f }' "$M/siglatch-keygen.1" &&
	    grep -qx "\.Ss $c" "$M/siglatch-keygen.1" || miss="$miss $c"
done
check "siglatch-keygen.1 has a synopsis and a subsection for each subcommand ($(echo $subs))${miss:+; missing:$miss}" \
    test -n "$subs" -a -z "$miss"

# 4. make install puts them in place
if [ -z "${MANDIR_SRC:-}" ]; then
	(cd "$TOP" && unset MAKEFLAGS MAKELEVEL MFLAGS &&
	    make -s install DESTDIR="$T/stage" PREFIX=/usr) >"$T/install.out" 2>&1
	check "make install DESTDIR=... PREFIX=/usr succeeds" test $? -eq 0
	check "make install puts the pages in man1, man5 and man8" test \
	    -f "$T/stage/usr/share/man/man8/siglatchd.8" -a \
	    -f "$T/stage/usr/share/man/man5/siglatchd.conf.5" -a \
	    -f "$T/stage/usr/share/man/man1/knocker.1" -a \
	    -f "$T/stage/usr/share/man/man1/siglatch-keygen.1"
	check "... mode 0644" test "$(stat -c %a "$T/stage/usr/share/man/man8/siglatchd.8" 2>/dev/null)" = 644
fi
exit 0
