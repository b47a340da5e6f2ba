#!/bin/sh
# The package as a user gets it: cpack builds the .deb from this build tree; its contents are
# unpacked into a scratch root (not installed on this machine); the binaries there run, `gprio
# run` finds the shim where the package puts it, and gpriod tells systemd it is ready
# (Type=notify); dpkg installs, removes and purges it in a scratch root with its own database.
# Installing it on a clean Debian 12 and starting the unit under systemd: test_debian12.sh (CI).
#   test_package.sh BUILD_DIR
set -u
BUILD=$1
TMP=$(mktemp -d)
DPID=
cleanup() { [ -n "$DPID" ] && kill "$DPID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
fails=0
ok() { echo "ok   - $1"; }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }
if ! command -v cpack >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
	echo "SKIP - cpack or dpkg-deb missing"
	exit 77
fi
(cd "$BUILD" && cpack -B "$TMP/out" >"$TMP/cpack.log" 2>&1) || { cat "$TMP/cpack.log"; exit 1; }
deb=$(ls "$TMP"/out/gprio_*_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] && ok "cpack built $(basename "$deb")" || { bad "no .deb: $(tail -5 "$TMP/cpack.log")"; exit 1; }
dpkg-deb -x "$deb" "$TMP/root"
for f in usr/bin/gprio usr/bin/gpriod usr/lib/gprio/libgprio-cuda.so usr/lib/gprio/libgprio-hsa.so \
	usr/lib/systemd/system/gpriod.service usr/share/doc/gprio/README.md etc/gprio/gpriod.conf \
	usr/share/bash-completion/completions/gprio usr/share/bash-completion/completions/gpriod \
	usr/share/man/man1/gprio.1 usr/share/man/man8/gpriod.8 usr/include/gprio/hint.h; do
	[ -e "$TMP/root/$f" ] || bad "missing /$f"
done
grep -q '^Type=notify$' "$TMP/root/usr/lib/systemd/system/gpriod.service" &&
	ok "binaries, shims, systemd unit (Type=notify) and docs in place" || bad "unit"
# the manual pages carry every command and flag the help texts name
for c in sim run status top set doctor; do
	grep -q "^\.SS $c\$" "$TMP/root/usr/share/man/man1/gprio.1" || bad "gprio.1 lacks $c"
done
grep -q -- '--metrics' "$TMP/root/usr/share/man/man8/gpriod.8" || bad "gpriod.8 lacks --metrics"
if command -v groff >/dev/null 2>&1; then
	w=$(groff -man -Tutf8 -ww -z "$TMP/root/usr/share/man/man1/gprio.1" "$TMP/root/usr/share/man/man8/gpriod.8" 2>&1)
	[ -z "$w" ] && ok "manual pages gprio(1) and gpriod(8) render without warnings" || bad "groff: $w"
else
	ok "manual pages gprio(1) and gpriod(8) present (groff not installed: not rendered)"
fi
v=$("$TMP/root/usr/bin/gpriod" --version)
[ "$v" = "gpriod $(sed -n 's/^project(gprio VERSION \([0-9.]*\).*/\1/p' "$(dirname "$0")/../../CMakeLists.txt")" ] &&
	ok "installed gpriod runs: $v" || bad "gpriod --version: $v"
out=$(env -u GPRIO_SHIM "$TMP/root/usr/bin/gprio" run --offline -- sh -c 'echo "$LD_PRELOAD"' 2>/dev/null)
case "$out" in
*"$TMP/root/usr/lib/gprio/libgprio-cuda.so"*) ok "installed gprio run finds the shim in ../lib/gprio" ;;
*) bad "gprio run preloads '$out'" ;;
esac
# Type=notify: gpriod sends READY=1 to $NOTIFY_SOCKET once it serves
PY=$(command -v python3 || true)
if [ -n "$PY" ]; then
	"$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(10)
print(s.recv(64).decode())' "$TMP/notify" >"$TMP/notified" 2>&1 &
	LPID=$!
	# the listener must be bound before gpriod starts (python starts slowly on a busy machine)
	i=0
	while [ ! -S "$TMP/notify" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	NOTIFY_SOCKET="$TMP/notify" "$TMP/root/usr/bin/gpriod" --shm "$TMP/seg" 2>"$TMP/gpriod.err" &
	DPID=$!
	wait $LPID
	grep -q '^READY=1$' "$TMP/notified" && ok "gpriod tells systemd it is ready (READY=1)" ||
		bad "no READY=1: $(tail -2 "$TMP/notified") gpriod: $(cat "$TMP/gpriod.err")"
else
	echo "skip - readiness check (no python3)"
fi
# dpkg itself installs, removes and purges it in a scratch root (its own database there):
# the files land, a changed conffile survives removal, purge takes it
if command -v dpkg >/dev/null 2>&1; then
	D="$TMP/dpkgroot"
	mkdir -p "$D/var/lib/dpkg/info" "$D/var/lib/dpkg/updates"
	: >"$D/var/lib/dpkg/status"
	dp() { dpkg --root="$D" --force-script-chrootless --force-depends --force-not-root "$@" >>"$TMP/dpkg.log" 2>&1; }
	if dp -i "$deb" && [ -x "$D/usr/bin/gpriod" ] && [ -f "$D/etc/gprio/gpriod.conf" ] &&
		dpkg --root="$D" -s gprio 2>/dev/null | grep -q '^Status: install ok installed$'; then
		ok "dpkg -i installs it (status: install ok installed)"
	else
		bad "dpkg -i: $(tail -5 "$TMP/dpkg.log")"
	fi
	# its postinst enables gpriod.service in that root (deb-systemd-helper honours DPKG_ROOT;
	# nothing is started: no systemd runs there), postrm masks it on removal, purge forgets it
	W="$D/etc/systemd/system/multi-user.target.wants/gpriod.service"
	HAVE_DSH=$(command -v deb-systemd-helper || true)
	if [ -n "$HAVE_DSH" ]; then
		[ -L "$W" ] && [ "$(readlink "$W")" = /usr/lib/systemd/system/gpriod.service ] &&
			ok "postinst enables gpriod.service (multi-user.target.wants)" ||
			bad "postinst did not enable gpriod.service: $(ls -l "$W" 2>&1)"
	fi
	echo "policy = share" >>"$D/etc/gprio/gpriod.conf"
	dp -r gprio
	[ ! -e "$D/usr/bin/gpriod" ] && grep -q '^policy = share$' "$D/etc/gprio/gpriod.conf" 2>/dev/null &&
		ok "dpkg -r removes the programs and keeps the changed /etc/gprio/gpriod.conf" ||
		bad "dpkg -r: $(tail -5 "$TMP/dpkg.log")"
	if [ -n "$HAVE_DSH" ]; then
		[ ! -e "$W" ] && [ "$(readlink "$D/etc/systemd/system/gpriod.service")" = /dev/null ] &&
			ok "postrm disables and masks gpriod.service on removal" ||
			bad "after dpkg -r: $(ls -l "$W" "$D/etc/systemd/system/gpriod.service" 2>&1)"
	fi
	dp -P gprio
	[ ! -e "$D/etc/gprio/gpriod.conf" ] && ok "dpkg -P purges the configuration" ||
		bad "dpkg -P left /etc/gprio/gpriod.conf"
	if [ -n "$HAVE_DSH" ]; then
		[ ! -e "$D/etc/systemd/system/gpriod.service" ] &&
			! ls "$D/var/lib/systemd/deb-systemd-helper-enabled" 2>/dev/null | grep -q gpriod &&
			ok "dpkg -P forgets gpriod.service's mask and enablement state" ||
			bad "after dpkg -P: $(find "$D/etc/systemd" "$D/var/lib/systemd" 2>&1 | grep gpriod)"
	fi
else
	echo "skip - dpkg install/remove/purge (no dpkg)"
fi
[ "$fails" -eq 0 ] || { echo "$fails packaging test(s) failed"; exit 1; }
echo "all packaging tests passed"
