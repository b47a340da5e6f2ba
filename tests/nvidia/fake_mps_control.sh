#!/bin/sh
# A stand-in for nvidia-cuda-mps-control, as gpriod --mps uses it, with the real one's visible
# behaviour: with -d it starts a "control daemon" that makes $CUDA_MPS_PIPE_DIRECTORY/control (a
# FIFO) and reads commands from it until "quit", and leaves the control file behind when it
# quits (the real daemon did, driver 580, H200); without -d it sends its standard input to a
# running daemon, and fails when none runs (the real client says it cannot find the daemon).
# What it did goes to $CUDA_MPS_PIPE_DIRECTORY/../standin.log.
d=${CUDA_MPS_PIPE_DIRECTORY:-/tmp/nvidia-mps}
log="$d/../standin.log"
if [ "${1:-}" = -d ]; then
	[ -p "$d/control" ] || mkfifo "$d/control" || exit 1
	echo "started pipes $d logs ${CUDA_MPS_LOG_DIRECTORY:-none}" >>"$log"
	(
		while :; do
			if read -r cmd <"$d/control"; then
				[ "$cmd" = quit ] && rm -f "$d/standin.pid"
				echo "got $cmd" >>"$log"
				[ "$cmd" = quit ] && break
			fi
		done
		echo "stopped" >>"$log"
	) </dev/null >/dev/null 2>&1 &
	echo $! >"$d/standin.pid"
	exit 0
fi
pid=$(cat "$d/standin.pid" 2>/dev/null)
if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null || ! [ -p "$d/control" ]; then
	echo "Cannot find MPS control daemon process" >&2
	exit 1
fi
cat >"$d/control"
