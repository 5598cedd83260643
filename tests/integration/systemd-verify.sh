#!/bin/sh
# Check qmsd's systemd files with systemd's own tools:
#   systemd-analyze verify     the units (with their Exec lines running QMSD)
#   systemd-analyze security   prints the exposure score (informational)
#   systemd-sysusers --root    the sysusers.d file, into a scratch root
#   systemd-tmpfiles --root    the tmpfiles.d file, into the same root
#
# usage: systemd-verify.sh QMSD [FILE...]
#   QMSD  the built qmsd; verify refuses an ExecStart= binary that does not
#         exist, so every Exec line that runs qmsd is rewritten to run QMSD.
#   FILE  qmsd.service (the template or the configured file), qmsd.socket,
#         *.sysusers, *.tmpfiles, and man pages (*.1 ... *.8), which let
#         verify check the units' Documentation= references too.  Without
#         FILEs, the files in the source tree are used.
# Any message that names qmsd fails the test: on a machine where systemd is
# not PID 1, verify may also complain about unrelated system units, and
# those lines are ignored.  Exits 77 (skipped) without systemd-analyze.

set -eu

fail=0
die() { echo "systemd-verify: $*" >&2; exit 1; }
bad() { echo "FAIL: $*" >&2; fail=1; }

[ $# -ge 1 ] || die "usage: $0 QMSD [FILE...]"
command -v systemd-analyze >/dev/null 2>&1 || { echo "no systemd-analyze; skipped"; exit 77; }

qmsd=$(realpath "$1") || die "$1: not found"
[ -x "$qmsd" ] || die "$qmsd: not executable"
shift
if [ $# -eq 0 ]; then
	src=$(cd "$(dirname "$0")/../.." && pwd)
	set -- "$src"/systemd/qmsd.service "$src"/systemd/qmsd.socket \
	    "$src"/systemd/qmsd.sysusers "$src"/systemd/qmsd.tmpfiles \
	    "$src"/docs/*.[1-8]
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qmsd-systemd-verify.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/units" "$tmp/sysusers" "$tmp/tmpfiles" "$tmp/man" "$tmp/root/etc"

# Sort the files by kind into $tmp; from here on only $tmp is read.
man=no
for f in "$@"; do
	[ -f "$f" ] || die "$f: not found"
	b=$(basename "$f")
	case $b in
	*.service)
		# Every Exec line that runs qmsd (by @SBINDIR@ or by an installed
		# path) runs the built one instead.
		sed -E "s#^(Exec[A-Za-z]+=[-@:+!]*)[^ ]*/qmsd( |\$)#\\1$qmsd\\2#" \
		    "$f" >"$tmp/units/$b" ;;
	*.socket|*.target|*.timer|*.path)
		cp "$f" "$tmp/units/$b" ;;
	*.sysusers)
		cp "$f" "$tmp/sysusers/$b" ;;
	*.tmpfiles)
		cp "$f" "$tmp/tmpfiles/$b" ;;
	*.[1-8])
		sec=${b##*.}
		mkdir -p "$tmp/man/man$sec"
		cp "$f" "$tmp/man/man$sec/"
		man=yes ;;
	*)
		die "$f: don't know how to check this" ;;
	esac
done

# --- units -------------------------------------------------------------------
for u in "$tmp"/units/*; do
	[ -f "$u" ] || break
	if grep -n '@[A-Z_]*@' "$u" >&2; then
		bad "$(basename "$u"): an @VARIABLE@ was not substituted"
	fi
	# verify checks only ExecStart='s binary; check every Exec line's.
	sed -nE 's/^Exec[A-Za-z]+=[-@:+!]*([^ ]+).*/\1/p' "$u" |
	while read -r prog; do
		case $prog in
		/*) [ -x "$prog" ] || { echo "FAIL: $(basename "$u"): $prog is not an executable" >&2; exit 1; } ;;
		*) echo "FAIL: $(basename "$u"): $prog is not an absolute path" >&2; exit 1 ;;
		esac
	done || fail=1
done

if [ -n "$(ls "$tmp/units")" ]; then
	echo "== systemd-analyze verify $(cd "$tmp/units" && echo *)"
	# With MANPATH, verify's "man" finds our pages for Documentation=.
	rc=0
	(cd "$tmp/units" && MANPATH="$tmp/man" SYSTEMD_LOG_COLOR=0 \
	    systemd-analyze verify --man="$man" "$tmp"/units/*) \
	    >"$tmp/verify.out" 2>&1 || rc=$?
	if grep -i qmsd "$tmp/verify.out" >&2; then
		bad "systemd-analyze verify complains about our units"
	fi
	if [ "$rc" -ne 0 ]; then
		cat "$tmp/verify.out" >&2
		bad "systemd-analyze verify exited $rc"
	fi
	others=$(grep -civ qmsd "$tmp/verify.out" || true)
	[ "$others" -eq 0 ] || echo "(ignored $others line(s) about other units)"
fi

for u in "$tmp"/units/*.service; do
	[ -f "$u" ] || break
	# Offline analysis exists since systemd 250; the score is shown so that
	# a change in hardening is seen in the test log.
	if systemd-analyze security --offline=yes --no-pager "$u" \
	    >"$tmp/security.out" 2>&1; then
		echo "== systemd-analyze security: $(sed -n 's/^.*\(Overall exposure level\)/\1/p' "$tmp/security.out")"
	else
		echo "(no systemd-analyze security --offline here)"
	fi
done

# The socket's group must be one that our sysusers file creates.
for u in "$tmp"/units/*.socket; do
	[ -f "$u" ] || break
	g=$(sed -n 's/^SocketGroup=//p' "$u")
	if [ -z "$g" ] || [ -z "$(ls "$tmp/sysusers")" ]; then
		continue
	fi
	cat "$tmp"/sysusers/* |
	    awk -v g="$g" '$1 == "g" && $2 == g { found = 1 } END { exit !found }' ||
	    bad "$(basename "$u"): SocketGroup=$g is not created by a sysusers file"
done

# --- sysusers.d --------------------------------------------------------------
for f in "$tmp"/sysusers/*; do
	[ -f "$f" ] || break
	echo "== systemd-sysusers --root $(basename "$f")"
	if ! systemd-sysusers --root="$tmp/root" "$f" >"$tmp/sysusers.out" 2>&1; then
		cat "$tmp/sysusers.out" >&2
		bad "systemd-sysusers failed on $(basename "$f")"
	fi
	cat "$tmp/sysusers.out"
	# Every group and user the file names now exists in the scratch root.
	awk '$1 == "g" || $1 == "u" { print $2 }' "$f" |
	while read -r g; do
		grep -q "^$g:" "$tmp/root/etc/group" 2>/dev/null ||
		    { echo "FAIL: $(basename "$f"): group $g was not created" >&2; exit 1; }
	done || fail=1
done

# --- tmpfiles.d --------------------------------------------------------------
for f in "$tmp"/tmpfiles/*; do
	[ -f "$f" ] || break
	echo "== systemd-tmpfiles --root --create $(basename "$f")"
	rc=0
	systemd-tmpfiles --root="$tmp/root" --create "$f" >"$tmp/tmpfiles.out" 2>&1 || rc=$?
	# tmpfiles warns about lines it dislikes and still exits 0.
	if [ "$rc" -ne 0 ] || [ -s "$tmp/tmpfiles.out" ]; then
		cat "$tmp/tmpfiles.out" >&2
		bad "systemd-tmpfiles on $(basename "$f"): exit $rc or warnings"
	fi
	# Each directory line: the directory exists with the mode it asks for.
	awk '$1 == "d" || $1 == "D" { print $2, $3 }' "$f" |
	while read -r path mode; do
		got=$(stat -c %a "$tmp/root$path" 2>/dev/null || echo missing)
		want=$(echo "$mode" | sed 's/^0*//')
		[ "$got" = "$want" ] ||
		    { echo "FAIL: $(basename "$f"): $path is $got, want $want" >&2; exit 1; }
		echo "$path $got"
	done || fail=1
done

if [ "$fail" -ne 0 ]; then
	echo "systemd-verify: FAILED" >&2
	exit 1
fi
echo "systemd-verify: OK"
