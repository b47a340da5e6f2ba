#!/bin/bash
# The bash completion (packaging/gprio.bash-completion) against the built binaries: command
# names, each command's flags and gpriod's flags come from the programs' own help.
# usage: test_completion.sh GPRIO GPRIOD SRCDIR
set -u
gprio=$1 gpriod=$2 src=$3
fails=0
# shellcheck source=/dev/null
source "$src/packaging/gprio.bash-completion"

# complete WORDS... : COMPREPLY for the last word, one per line
complete_words() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_gprio
	printf '%s\n' "${COMPREPLY[@]}"
}
expect() { # DESCRIPTION WANT GOT
	if grep -qx -- "$2" <<<"$3"; then
		echo "ok   $1"
	else
		echo "FAIL $1: wanted '$2' in: $(tr '\n' ' ' <<<"$3")"
		fails=$((fails + 1))
	fi
}
refuse() { # DESCRIPTION UNWANTED GOT
	if grep -qx -- "$2" <<<"$3"; then
		echo "FAIL $1: '$2' offered"
		fails=$((fails + 1))
	else
		echo "ok   $1"
	fi
}

got=$(complete_words "$gprio" "")
for c in sim profiles run status top set doctor help --version; do
	expect "gprio <TAB> offers $c" "$c" "$got"
done
got=$(complete_words "$gprio" "st")
expect "gprio st<TAB> -> status" status "$got"
refuse "gprio st<TAB> offers only st*" sim "$got"
got=$(complete_words "$gprio" sim --comp)
expect "gprio sim --comp<TAB> -> --compare" --compare "$got"
got=$(complete_words "$gprio" run --)
expect "gprio run --<TAB> offers --offline" --offline "$got"
expect "gprio run --<TAB> offers --weight" --weight "$got"
got=$(complete_words "$gprio" run --offline -- python --)
refuse "after -- the program's own arguments are left alone" --offline "$got"
got=$(complete_words "$gprio" help d)
expect "gprio help d<TAB> -> doctor" doctor "$got"
got=$(complete_words "$gpriod" --me)
expect "gpriod --me<TAB> -> --metrics" --metrics "$got"
got=$(complete_words "$gpriod" --)
expect "gpriod --<TAB> offers --config" --config "$got"
expect "gpriod --<TAB> offers --policy" --policy "$got"
dir=$(mktemp -d)
touch "$dir/a.scn" "$dir/b.txt"
got=$(complete_words "$gprio" sim "$dir/")
expect "gprio sim <TAB> offers scenario files" "$dir/a.scn" "$got"
refuse "gprio sim <TAB> hides other files" "$dir/b.txt" "$got"
rm -rf "$dir"

[ "$fails" -eq 0 ] && echo "test_completion: all passed" || echo "test_completion: $fails failed"
[ "$fails" -eq 0 ]
