# Shared by the NVIDIA scripts in bench/gpu and bench/amd/run.sh (AMD kit); sourced by bash. The caller
# defines OUT, DUR, GB (the gpubench binary), B (the build dir), setup_begin/setup_end (which set
# the ON/OFF command prefixes for a setup) and daemon_start/daemon_stop.

# gpu_build ROOT: gprio, gpriod and the shim (Release) into ROOT/build-gpu, and gpubench for the
# H100 (sm_90); sets B (the build dir) and GB (gpubench)
gpu_build() {
	B=$1/build-gpu
	GB=$B/gpubench
	[ -n "${GPRIO_BUILT:-}" ] && return 0 # built once by the caller (bench/gpu/parallel.sh)
	cmake -S "$1" -B "$B" -DCMAKE_BUILD_TYPE=Release -DGPRIO_TESTS=OFF >/dev/null || return 1
	cmake --build "$B" -j16 --target gprio gpriod gprio-cuda >/dev/null || return 1
	nvcc -O2 -arch=sm_90 -o "$GB" "$1/bench/gpu/gpubench.cu" -ldl
}

# mps_start / mps_stop: an MPS control daemon for the MPS setups (stopped before the command
# ends: callers also call mps_stop from their EXIT trap)
# (MPS_DIR: where its pipes and logs go; one per GPU when two matrices run side by side)
mps_start() {
	local d=${MPS_DIR:-/tmp/gprio-mps}
	export CUDA_MPS_PIPE_DIRECTORY=$d-pipe CUDA_MPS_LOG_DIRECTORY=$d-log
	mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
	nvidia-cuda-mps-control -d && sleep 1
}
mps_stop() {
	echo quit | nvidia-cuda-mps-control; sleep 1
	unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY
}

# pair CASE SETUP ONLINE_CMD OFFLINE_CMD (commands as words; the window/duration options are
# appended). START: seconds the offline job gets before the online one starts (model loading).
# ON2 / OFF2 (commands, optional): a second online service and a second offline job started
# beside them (CASE.SETUP.online2.json, .offline2.json, .lat2).
pair() {
	local c=$1 s=$2 on=$3 off=$4 opid= opid2= npid2= p= start=${START:-1}
	setup_begin "$s"
	echo "== $(date +%T) $c / $s" >&2
	local began=$SECONDS
	if [ "$s" != online_alone ]; then
		"${OFF[@]}" $off --seconds $((DUR + start + 3)) --window-start $((start)).5 \
			--window-end $((DUR + start)).5 >"$OUT/$c.$s.offline.json" &
		opid=$!
		if [ -n "${OFF2:-}" ]; then
			"${OFF[@]}" $OFF2 --seconds $((DUR + start + 3)) --window-start $((start)).5 \
				--window-end $((DUR + start)).5 >"$OUT/$c.$s.offline2.json" &
			opid2=$!
		fi
	fi
	if [ "$s" != offline_alone ]; then
		sleep "$start"
		if [ -n "${ON2:-}" ]; then
			"${ON[@]}" $ON2 --warmup 0.5 --seconds "$DUR" --dump "$OUT/$c.$s.lat2" \
				>"$OUT/$c.$s.online2.json" &
			npid2=$!
		fi
		"${ON[@]}" $on --warmup 0.5 --seconds "$DUR" --dump "$OUT/$c.$s.lat" >"$OUT/$c.$s.online.json"
	fi
	[ -n "$npid2" ] && wait "$npid2"
	# an offline job ends by itself DUR + start + 3 s after it began; one starved through its
	# warm-up never does: killed GRACE s (60) after that, its result file saying so
	local f= end=$((began + DUR + start + 3 + ${GRACE:-60}))
	for p in $opid $opid2; do
		while kill -0 "$p" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do sleep 0.1; done
		if kill -0 "$p" 2>/dev/null; then
			pkill -TERM -P "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null
			sleep 2; pkill -KILL -P "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null
			f=$OUT/$c.$s.offline.json
			[ "$p" = "$opid2" ] && f=$OUT/$c.$s.offline2.json
			echo "{\"mode\": \"killed\", \"window_kernels_per_s\": null, \"checksum\": null, \"note\": \"still running ${GRACE:-60} s after its end: no result (starved)\"}" >>"$f"
			echo "   $c / $s: offline job $p still running ${GRACE:-60} s after its end: killed" >&2
		fi
		wait "$p" 2>/dev/null
	done
	setup_end "$s"
}

# correctness DAEMON_ARGS...: the same fixed offline job (20000 kernels) alone, then under gprio
# (gpriod started with DAEMON_ARGS) with an online service preempting it the whole time; the
# checksums in correct.{alone,gprio}.json must be equal
correctness() {
	local opid
	echo "== $(date +%T) correctness" >&2
	"$GB" offline --iterations 20000 --block-us 300 >"$OUT/correct.alone.json"
	daemon_start "$@"
	"$B/gprio" run --online -- "$GB" online --kernels 32 --kernel-us 20 --blocks 16 --gap-us 50 \
		--rate 100 --seconds 12 --warmup 0 >"$OUT/correct.online.json" &
	opid=$!
	sleep 0.5
	"$B/gprio" run --offline -- "$GB" offline --iterations 20000 --block-us 300 >"$OUT/correct.gprio.json"
	wait "$opid" # not a bare wait: gpriod is a background child too
	daemon_stop
}
