#!/bin/sh
# Write the manual pages gprio.1 and gpriod.8 from the programs' own help texts, so the pages
# never drift from the binaries. usage: gen-man.sh GPRIO GPRIOD OUTDIR
set -eu
gprio=$1 gpriod=$2 out=$3
mkdir -p "$out"
ver=$("$gprio" --version | sed 's/^gprio //')
# roff-safe preformatted text: backslashes doubled, a leading . or ' escaped
esc() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"; }

{
	printf '.TH GPRIO 1 "" "gprio %s" "User Commands"\n' "$ver"
	printf '.SH NAME\ngprio \\- run GPU programs as online or offline work, inspect and simulate the scheduler\n'
	printf '.SH SYNOPSIS\n.B gprio\n.I COMMAND\n[\\fIARGS\\fR]\n'
	printf '.SH COMMANDS\n'
	for c in $("$gprio" help --commands); do
		[ "$c" = help ] && continue
		printf '.SS %s\n.nf\n' "$c"
		"$gprio" help "$c" | sed 's/^usage: //' | esc
		printf '.fi\n'
	done
	printf '.SH EXIT STATUS\n0 on success, 2 for a usage error; \\fBgprio status\\fR exits 3 when gpriod is not running; \\fBgprio run\\fR exits with the program'"'"'s status.\n'
	printf '.SH FILES\n/run/gprio/ctl (gpriod'"'"'s control socket and segments), /usr/lib/gprio (the shims)\n'
	printf '.SH SEE ALSO\n.BR gpriod (8)\n'
} >"$out/gprio.1"

{
	printf '.TH GPRIOD 8 "" "gprio %s" "System Administration"\n' "$ver"
	printf '.SH NAME\ngpriod \\- the gprio node daemon: preempts offline GPU work while online work is pending\n'
	printf '.SH SYNOPSIS\n.B gpriod\n[\\fIOPTIONS\\fR]\n'
	printf '.SH OPTIONS\n.nf\n'
	"$gpriod" --help 2>&1 | esc
	printf '.fi\n'
	printf '.SH FILES\n/etc/gprio/gpriod.conf (its flags as name = value lines; flags on the command line win; SIGHUP re-reads it), /run/gprio\n'
	printf '.SH SIGNALS\nSIGHUP re-reads the configuration file; SIGTERM and SIGINT stop gpriod, which resumes everything it held first.\n'
	printf '.SH SEE ALSO\n.BR gprio (1),\n.BR systemctl (1)\n'
} >"$out/gpriod.8"
