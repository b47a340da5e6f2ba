#!/bin/sh
# gpriod's Prometheus endpoint: the exposition a scraper gets (gpriod's own counters and one
# series per registered process), checked with promtool where Debian's prometheus package is
# installed, and scraped by a real Prometheus server where its binary is. Parts whose tools are
# missing are skipped and say so.
#   test_metrics.sh GPRIO GPRIOD SHIM APP FAKE_LIBCUDA_DIR
set -u
GPRIO=$1 GPRIOD=$2 SHIM=$3 APP=$4 FAKE=$5
TMP=$(mktemp -d)
DPID= APID= PPID2=
cleanup() {
	for p in $APID $DPID $PPID2; do kill "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
export LD_LIBRARY_PATH="$FAKE" GPRIO_SHM="$TMP/shm" GPRIO_SHIM="$SHIM"
fails=0
ok() { echo "ok   - $1"; }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }
port=$((20000 + $$ % 20000))

"$GPRIOD" --shm "$TMP/shm" --metrics "127.0.0.1:$port" 2>"$TMP/gpriod.log" &
DPID=$!
# wait for the endpoint, then for the program's first launches (no fixed sleeps: a busy machine)
i=0
until curl -sf "http://127.0.0.1:$port/metrics" >/dev/null 2>&1 || [ $i -ge 100 ]; do sleep 0.05; i=$((i + 1)); done
"$GPRIO" run --online -- "$APP" 20000 paced >/dev/null 2>&1 &
APID=$!
i=0
until curl -sf "http://127.0.0.1:$port/metrics" >"$TMP/m" 2>/dev/null &&
	grep -qE "^gprio_process_launches_total\{pid=\"$APID\".*\} [1-9]" "$TMP/m" || [ $i -ge 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
curl -sf "http://127.0.0.1:$port/metrics" >"$TMP/m" || bad "no answer on :$port ($(cat "$TMP/gpriod.log"))"
grep -q '^gprio_build_info{version="[0-9.]*",backend="nvidia",policy="priority"} 1$' "$TMP/m" &&
	grep -qE '^gprio_monitor_ticks_total [1-9][0-9]*$' "$TMP/m" &&
	grep -qE "^gprio_process_launches_total\{pid=\"$APID\",uid=\"[0-9]+\",class=\"online\"\} [1-9][0-9]*\$" "$TMP/m" &&
	ok "GET /metrics: gpriod's counters and the online process's launches" || bad "metrics: $(cat "$TMP/m")"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")
[ "$code" = 404 ] && ok "anything but /metrics is 404" || bad "GET / answered $code"
# a client that connects and says nothing does not stall the daemon
sleep 3 | curl -s --max-time 4 "telnet://127.0.0.1:$port" >/dev/null 2>&1 &
SILENT=$!
sleep 0.2
curl -sf --max-time 2 "http://127.0.0.1:$port/metrics" >/dev/null && ok "a silent client does not block the next scrape" ||
	bad "silent client blocked the endpoint"
kill $SILENT 2>/dev/null
# twenty silent clients (more than its 16 slots): the oldest make room, the scrape is answered
SIL=""
for i in $(seq 1 20); do
	sleep 3 | curl -s --max-time 4 "telnet://127.0.0.1:$port" >/dev/null 2>&1 &
	SIL="$SIL $!"
done
sleep 0.5
curl -sf --max-time 1 "http://127.0.0.1:$port/metrics" >/dev/null &&
	ok "20 silent clients (16 slots): the oldest make room, a scrape is still answered" ||
	bad "silent clients filled the endpoint"
kill $SIL 2>/dev/null

if command -v promtool >/dev/null 2>&1; then
	promtool check metrics <"$TMP/m" >"$TMP/pt" 2>&1 && ok "promtool check metrics: clean" ||
		bad "promtool: $(cat "$TMP/pt")"
else
	echo "skip - promtool not installed (Debian: apt-get install prometheus)"
fi

# the Grafana dashboard asks only for series gpriod exports (with the labels it uses)
DASH=$(dirname "$0")/../../packaging/grafana/gprio-dashboard.json
grep -o '"expr": "\([^"\\]\|\\.\)*"' "$DASH" | sed -e 's/^"expr": "//' -e 's/"$//' -e 's/\\"/"/g' >"$TMP/exprs"
n=0
while IFS= read -r e; do
	n=$((n + 1))
	for m in $(printf '%s\n' "$e" | grep -o 'gprio_[a-z_]*' | sort -u); do
		grep -q "^$m[{ ]" "$TMP/m" || bad "dashboard query '$e' asks for $m, which gpriod does not export"
	done
	for l in $(printf '%s\n' "$e" | grep -o '{{[a-z]*}}\|by ([a-z]*)' | tr -d '{}()' | sed 's/^by //'); do
		grep -q "^gprio_[a-z_]*{[^}]*$l=" "$TMP/m" || bad "dashboard query '$e' uses label $l, which no series has"
	done
done <"$TMP/exprs"
[ "$n" -ge 10 ] && ok "Grafana dashboard: $n queries, every metric and label exported" || bad "dashboard: $n queries"

if command -v prometheus >/dev/null 2>&1; then
	pport=$((port + 1))
	cat >"$TMP/prom.yml" <<EOC
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: gpriod
    static_configs:
      - targets: ['127.0.0.1:$port']
EOC
	prometheus --config.file="$TMP/prom.yml" --storage.tsdb.path="$TMP/tsdb" \
		--web.listen-address="127.0.0.1:$pport" >"$TMP/prom.log" 2>&1 &
	PPID2=$!
	got=
	for i in $(seq 60); do
		sleep 0.5
		got=$(curl -sf "http://127.0.0.1:$pport/api/v1/query?query=gprio_monitor_ticks_total" 2>/dev/null |
			grep -o '"value":\[[0-9.]*,"[0-9]*"\]') && [ -n "$got" ] && break
	done
	[ -n "$got" ] && ok "a real Prometheus scraped gpriod: gprio_monitor_ticks_total $got" ||
		bad "Prometheus did not get gpriod's metrics: $(tail -5 "$TMP/prom.log")"
	# every dashboard query is valid PromQL and answers
	pq=0
	while IFS= read -r e; do
		r=$(curl -s -G --data-urlencode "query=$e" "http://127.0.0.1:$pport/api/v1/query")
		case "$r" in
		*'"status":"success"'*) pq=$((pq + 1)) ;;
		*) bad "Prometheus refused dashboard query '$e': $r" ;;
		esac
	done <"$TMP/exprs"
	[ "$pq" -eq "$n" ] && ok "a real Prometheus evaluates all $pq dashboard queries"
else
	echo "skip - prometheus server not installed (Debian: apt-get install prometheus)"
fi

[ "$fails" -eq 0 ] || { echo "$fails metrics test(s) failed"; exit 1; }
echo "all metrics tests passed"
