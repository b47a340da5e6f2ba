# Shared by bench/gpu/run.sh (NVIDIA) and bench/amd/run.sh (AMD kit); sourced by bash. The caller
# defines OUT, DUR, GB (the gpubench binary), B (the build dir), setup_begin/setup_end (which set
# the ON/OFF command prefixes for a setup) and daemon_start/daemon_stop.

# pair CASE SETUP ONLINE_CMD OFFLINE_CMD (commands as words; the window/duration options are
# appended). START: seconds the offline job gets before the online one starts (model loading).
pair() {
	local c=$1 s=$2 on=$3 off=$4 opid= start=${START:-1}
	setup_begin "$s"
	echo "== $(date +%T) $c / $s" >&2
	if [ "$s" != online_alone ]; then
		"${OFF[@]}" $off --seconds $((DUR + start + 3)) --window-start $((start)).5 \
			--window-end $((DUR + start)).5 >"$OUT/$c.$s.offline.json" &
		opid=$!
	fi
	if [ "$s" != offline_alone ]; then
		sleep "$start"
		"${ON[@]}" $on --warmup 0.5 --seconds "$DUR" --dump "$OUT/$c.$s.lat" >"$OUT/$c.$s.online.json"
	fi
	[ -n "$opid" ] && wait "$opid"
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
