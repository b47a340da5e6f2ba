#!/bin/sh
# Behaviour check for refactors: the simulator's reports (JSON and text) of every shipped
# example under every policy and variant, for two seeds, from revision REV (default HEAD) and from
# the working tree, compared line by line (wall-clock fields removed). Exit 0 when identical, 1
# with a diff.
#   scripts/compare-reports.sh [REV] [--allow-diff]
# --allow-diff prints the diff and exits 0 (for a change whose effect is intended: say so in
# the commit).
set -eu
cd "$(dirname "$0")/.."
rev=${1:-HEAD}
allow=${2:-}
work=$(mktemp -d)
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT INT TERM

git worktree add --detach "$work/base" "$rev" >/dev/null 2>&1
build() { # $1 source dir, $2 build dir
	cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=Release -DGPRIO_TESTS=OFF >/dev/null
	cmake --build "$2" -j"$(nproc)" --target gprio >/dev/null
}
build "$work/base" "$work/build-base"
build . "$work/build-new"

# Each --compare takes at most 4 variants.
nv_sets="none,priority,share priority:poll,share:poll,priority:events"
amd_sets="none,priority,share priority:poll,share:poll,priority:events priority:stage1,priority:stage2,share:stage1,share:stage2"
run_all() { # $1 gprio binary, $2 output file
	: >"$2"
	for scn in examples/*.scn; do
		case "$scn" in *mi308x*) sets=$amd_sets ;; *) sets=$nv_sets ;; esac
		for set in $sets; do
			for seed in 1 7; do
				echo "== $scn $set seed $seed" >>"$2"
				"$1" sim "$scn" --compare "$set" --seed "$seed" --json |
					sed -e 's/, "wall_s": [0-9.e+-]*//g' -e 's/, /,\n/g' >>"$2"
				"$1" sim "$scn" --compare "$set" --seed "$seed" | grep -v '^wall time' >>"$2"
			done
		done
	done
}
run_all "$work/build-base/gprio" "$work/base.txt"
run_all "$work/build-new/gprio" "$work/new.txt"
if cmp -s "$work/base.txt" "$work/new.txt"; then
	echo "compare-reports: identical to $rev ($(grep -c '^==' "$work/new.txt") runs)"
	exit 0
fi
diff -u "$work/base.txt" "$work/new.txt" | head -200
echo "compare-reports: reports differ from $rev" >&2
[ "$allow" = "--allow-diff" ] && exit 0
exit 1
