#!/bin/sh
# The AMD operator kit (bench/amd/run.sh) on a machine with no AMD GPU, ROCm stubbed on PATH
# (hipify-perl, hipcc building a stand-in gpubench that prints plausible results, rocminfo,
# rocm-smi): the kit must finish within its timeouts, must not report a gprio stage whose
# gpriod suspended nothing (here gpriod cannot even open /dev/kfd), and must record the machine
# facts. Needs root (the kit refuses otherwise) and python3; skipped, and says so, without them.
#   test_amd_kit.sh SOURCE_DIR BUILD_DIR
set -u
SRC=$1 BUILD=$2
if [ "$(id -u)" != 0 ] || ! command -v python3 >/dev/null 2>&1 || ! command -v timeout >/dev/null; then
	echo "SKIP: needs root, python3 and timeout"
	exit 77
fi
TMP=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT
fails=0
ok() { echo "ok   - $1"; }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }
mkdir "$TMP/bin"
cat >"$TMP/bin/hipify-perl" <<'X'
#!/bin/sh
cat "$1"
X
# hipcc -O2 --offload-arch=... -o OUT SRC: a stand-in gpubench
cat >"$TMP/bin/hipcc" <<'X'
#!/bin/sh
while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done
cat >"$out" <<'Y'
#!/bin/sh
mode=$1; dump=; secs=1
while [ $# -gt 0 ]; do case $1 in --dump) dump=$2 ;; --seconds) secs=$2 ;; esac; shift; done
case $mode in
online|probe) sleep 0.3; [ -n "$dump" ] && printf '1.0\n1.1\n1.2\n' >"$dump"
	echo '{"mode": "online", "requests": 3, "p50_ms": 1.1, "p90_ms": 1.2, "p99_ms": 1.2, "max_ms": 1.2, "busy_share": 0.1}' ;;
offline) sleep 0.3; echo '{"mode": "offline", "kernels": 100, "window_kernels_per_s": 50.0, "checksum": "abcd"}' ;;
esac
Y
chmod +x "$out"
X
printf '#!/bin/sh\necho "  Compute Unit:            304"\n' >"$TMP/bin/rocminfo"
printf '#!/bin/sh\nexit 0\n' >"$TMP/bin/rocm-smi"
chmod +x "$TMP/bin/"*
t0=$(date +%s)
PATH="$TMP/bin:$PATH" DUR=1 STEP_TIMEOUT=20 GPRIO_BIN="$BUILD" GPRIO_SHM="$TMP/shm" \
	SETUPS="online_alone offline_alone together stage1" \
	timeout 300 bash "$SRC/bench/amd/run.sh" "$TMP/out" launchbound >"$TMP/log" 2>&1
rc=$?
el=$(($(date +%s) - t0))
[ $rc = 0 ] && ok "the kit finished in ${el} s with stubbed ROCm and no GPU" || bad "kit exit $rc after ${el} s: $(tail -5 "$TMP/log")"
grep -q "launchbound.stage1 NOT REPORTED: gpriod counted" "$TMP/log" &&
	[ ! -e "$TMP/out/launchbound.stage1.online.json" ] && [ -e "$TMP/out/launchbound.stage1.online.json.refused" ] &&
	ok "a stage that suspended nothing is not reported (renamed .refused, said why)" || bad "stage1 reported: $(ls "$TMP/out")"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); r=d["refused"]
assert "launchbound.stage1" in r and "suspends" in r["launchbound.stage1"], r
assert "stage1" not in d["cases"]["launchbound"], d["cases"]["launchbound"]
assert "together" in d["cases"]["launchbound"] and d["machine"]["kernel"], d' "$TMP/out/results.json" 2>"$TMP/err" &&
	ok "results JSON: the refusal with its reason, no stage1 row, the machine facts" || bad "results: $(cat "$TMP/err")"
grep -q "NOT REPORTED: launchbound.stage1" "$TMP/out/summary.txt" && ok "the summary says what was not reported" ||
	bad "summary: $(cat "$TMP/out/summary.txt")"
[ "$fails" = 0 ] && echo "all kit checks passed" || echo "$fails kit check(s) failed"
[ "$fails" = 0 ]
