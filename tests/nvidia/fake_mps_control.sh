#!/bin/sh
# A stand-in for nvidia-cuda-mps-control, as gpriod --mps uses it: with -d it starts a
# "control daemon" that makes $CUDA_MPS_PIPE_DIRECTORY/control (a FIFO) and reads commands from
# it until "quit"; without -d it sends its standard input there. What it did goes to
# $CUDA_MPS_PIPE_DIRECTORY/../standin.log.
d=${CUDA_MPS_PIPE_DIRECTORY:-/tmp/nvidia-mps}
log="$d/../standin.log"
if [ "${1:-}" = -d ]; then
	mkfifo "$d/control" || exit 1
	echo "started pipes $d logs ${CUDA_MPS_LOG_DIRECTORY:-none}" >>"$log"
	(
		while :; do
			if read -r cmd <"$d/control"; then
				echo "got $cmd" >>"$log"
				[ "$cmd" = quit ] && break
			fi
		done
		rm -f "$d/control"
		echo "stopped" >>"$log"
	) </dev/null >/dev/null 2>&1 &
	exit 0
fi
[ -p "$d/control" ] || { echo "no control daemon at $d" >&2; exit 1; }
cat >"$d/control"
