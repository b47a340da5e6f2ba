#!/bin/sh
# The .deb on a clean Debian 12, under systemd: debootstrap makes a minimal bookworm root
# (systemd, dbus and curl added), systemd-nspawn boots it, and a unit inside it installs the
# package with dpkg and checks what a user gets: gpriod.service enabled and running (started by
# the package's postinst, Type=notify), `gprio status` and the metrics endpoint answering, a
# real Prometheus on this machine scraping it (the container shares this machine's network),
# `systemctl reload` keeping it up, and `dpkg -r` stopping it; `dpkg -P` then purges it.
#   test_debian12.sh [--install] BUILD_DIR     (root; BUILD_DIR: a configured build tree, cpack
#                                                makes the .deb from it)
# --install: apt-get installs debootstrap and systemd-container where missing. Every step has a
# time bound; the container is powered off (or killed) before the script returns.
set -u
INSTALL=
[ "${1:-}" = --install ] && { INSTALL=1; shift; }
BUILD=${1:?usage: test_debian12.sh [--install] BUILD_DIR}
MIRROR=${GPRIO_DEBIAN_MIRROR:-http://deb.debian.org/debian}
fails=0
ok() { echo "ok   - $1"; }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }
skip() { echo "SKIP - $1"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, systemd-nspawn)"
if [ -n "$INSTALL" ] && { ! command -v debootstrap >/dev/null || ! command -v systemd-nspawn >/dev/null; }; then
	{ timeout 300 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 600 \
		apt-get install -y -qq debootstrap systemd-container >/dev/null; } ||
		{ echo "could not install debootstrap and systemd-container" >&2; exit 1; }
fi
command -v debootstrap >/dev/null && command -v systemd-nspawn >/dev/null ||
	skip "debootstrap or systemd-nspawn missing (--install installs them)"
TMP=$(mktemp -d /var/tmp/gprio-deb12.XXXXXX)
NSPID=
cleanup() {
	[ -n "$NSPID" ] && kill -KILL "$NSPID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
(cd "$BUILD" && timeout 300 cpack -B "$TMP/out" >"$TMP/cpack.log" 2>&1) || { cat "$TMP/cpack.log"; exit 1; }
deb=$(ls "$TMP"/out/gprio_*_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { echo "cpack made no .deb" >&2; exit 1; }
R=$TMP/root
if ! timeout 900 debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,curl bookworm "$R" \
	"$MIRROR" >"$TMP/debootstrap.log" 2>&1; then
	tail -5 "$TMP/debootstrap.log"
	echo "debootstrap of Debian 12 from $MIRROR failed" >&2
	exit 1
fi
ok "a clean Debian $(cat "$R/etc/debian_version") root (debootstrap minbase, systemd)"
cp "$deb" "$R/root/gprio.deb"
X=/var/tmp/gprio-check # inside the container; $R$X from here
mkdir -p "$R$X"
cat >"$R/root/check.sh" <<'EOF'
#!/bin/sh
# runs inside the booted container as gprio-check.service; results in /var/tmp/gprio-check
X=/var/tmp/gprio-check
say() { echo "$*" >>$X/result; }
up() { # wait up to 10 s for gpriod.service to be active
	i=0
	until systemctl is-active --quiet gpriod.service || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
	systemctl is-active gpriod.service
}
dpkg -i /root/gprio.deb >$X/dpkg-i.log 2>&1 && say "dpkg-i ok" || say "dpkg-i failed"
say "enabled $(systemctl is-enabled gpriod.service 2>&1)"
say "active $(up)"
say "type $(systemctl show -p Type --value gpriod.service)"
gprio status >$X/status.txt 2>&1 && say "status ok" || say "status failed"
gprio status --json >$X/status.json 2>&1
curl -sf --max-time 5 http://127.0.0.1:9464/metrics >$X/metrics.txt && say "metrics ok" || say "metrics failed"
touch $X/ready
# the host's Prometheus scrapes it now (up to 60 s)
i=0
until [ -e $X/scraped ] || [ $i -ge 600 ]; do sleep 0.1; i=$((i + 1)); done
pid=$(systemctl show -p MainPID --value gpriod.service)
systemctl reload gpriod.service
sleep 0.5
say "reload $(up) $( [ "$(systemctl show -p MainPID --value gpriod.service)" = "$pid" ] && echo same-pid || echo new-pid)"
journalctl -u gpriod.service --no-pager >$X/journal.txt 2>&1
dpkg -r gprio >$X/dpkg-r.log 2>&1 && say "dpkg-r ok" || say "dpkg-r failed"
say "after-remove $(systemctl is-active gpriod.service 2>&1)"
[ -e /usr/bin/gpriod ] && say "binary-left" || say "binary-gone"
dpkg -P gprio >$X/dpkg-p.log 2>&1 && say "dpkg-p ok" || say "dpkg-p failed"
[ -e /etc/gprio/gpriod.conf ] && say "conf-left" || say "conf-gone"
say "done"
systemctl poweroff
EOF
chmod 755 "$R/root/check.sh"
cat >"$R/etc/systemd/system/gprio-check.service" <<'EOF'
[Unit]
Description=gprio package check
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/root/check.sh
StandardOutput=journal+console
EOF
mkdir -p "$R/etc/systemd/system/default.target.wants"
ln -s /etc/systemd/system/gprio-check.service "$R/etc/systemd/system/default.target.wants/gprio-check.service"
# the host's fresh-boot checks (a machine id, no login prompt needed)
: >"$R/etc/machine-id"
timeout -k 10 300 systemd-nspawn --quiet --register=no --keep-unit -D "$R" --boot \
	>"$TMP/boot.log" 2>&1 </dev/null &
NSPID=$!
i=0
while [ ! -e "$R$X/ready" ] && [ $i -lt 1800 ] && kill -0 "$NSPID" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
if [ -e "$R$X/ready" ] && command -v prometheus >/dev/null 2>&1; then
	P=$TMP/prom
	mkdir -p "$P"
	printf 'global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: gpriod\n    static_configs:\n      - targets: ["127.0.0.1:9464"]\n' >"$P/prom.yml"
	prometheus --config.file="$P/prom.yml" --storage.tsdb.path="$P/tsdb" \
		--web.listen-address=127.0.0.1:19091 >"$P/log" 2>&1 &
	PP=$!
	got=
	j=0
	while [ -z "$got" ] && [ $j -lt 60 ]; do
		sleep 0.5
		got=$(curl -sf --max-time 2 'http://127.0.0.1:19091/api/v1/query?query=gprio_build_info' |
			grep -o '"version":"[^"]*"' | head -1)
		j=$((j + 1))
	done
	kill "$PP" 2>/dev/null
	wait "$PP" 2>/dev/null
	[ -n "$got" ] && ok "a real Prometheus scraped the packaged gpriod: gprio_build_info $got" ||
		bad "Prometheus did not scrape the container's gpriod: $(tail -3 "$P/log")"
elif [ -e "$R$X/ready" ]; then
	echo "skip - Prometheus scrape (prometheus not installed: apt-get install prometheus)"
fi
touch "$R$X/scraped"
wait "$NSPID"
rc=$?
NSPID=
[ $rc -eq 0 ] && ok "the container powered itself off (nspawn exit 0)" || bad "nspawn exit $rc: $(tail -5 "$TMP/boot.log")"
res=$(cat "$R$X/result" 2>/dev/null)
has() { echo "$res" | grep -qx "$1"; }
has "dpkg-i ok" && ok "dpkg -i installs it on Debian 12" || bad "dpkg -i: $(tail -5 "$R$X/dpkg-i.log" 2>&1)"
has "enabled enabled" && has "active active" && has "type notify" &&
	ok "gpriod.service enabled and started by the package (Type=notify, active)" ||
	bad "service: $res $(tail -5 "$R$X/journal.txt" 2>&1)"
has "status ok" && grep -q "running" "$R$X/status.txt" && ok "gprio status: $(grep -m1 "running" "$R$X/status.txt")" ||
	bad "gprio status: $(cat "$R$X/status.txt" 2>&1)"
has "metrics ok" && grep -q '^gprio_build_info{' "$R$X/metrics.txt" && ok "metrics served on 127.0.0.1:9464" ||
	bad "metrics: $(head -3 "$R$X/metrics.txt" 2>&1)"
has "reload active same-pid" && ok "systemctl reload: still active, same process" || bad "reload: $res"
has "dpkg-r ok" && has "binary-gone" && echo "$res" | grep -q "^after-remove \(inactive\|unknown\)" &&
	ok "dpkg -r stops the service and removes the programs" || bad "remove: $res"
has "dpkg-p ok" && has "conf-gone" && ok "dpkg -P purges /etc/gprio" || bad "purge: $res"
has "done" || bad "the check did not finish: $(tail -20 "$TMP/boot.log")"
[ "$fails" -eq 0 ] || { echo "$fails Debian 12 package check(s) failed"; exit 1; }
echo "the .deb installs, starts, is scraped, reloads and goes cleanly on a clean Debian 12"
