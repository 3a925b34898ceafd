#!/usr/bin/env bash
# capture.sh — record real squeue/sacct output for the parser tests.
#
# Run as root on the test cluster of scripts/slurm-up.sh (accounting on,
# MinJobAge long enough to keep finished jobs in squeue), from this
# directory: SLURM_ACCOUNTING=1 ../../../scripts/slurm-up.sh && ./capture.sh
# It takes about 80 s (one job runs into its one-minute time limit).
# Each file gets a header of '#' lines naming the version and the command;
# the tests strip it.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d /tmp/capi-capture.XXXXXX)
version=$(sbatch --version)
user=$(id -un)
LONG='ArrayJobID:|,ArrayTaskID:|,State:|,Reason:|,exit_code:|,SubmitTime:|,StartTime:|,EndTime:|,NodeList:|,Name:'
SHORT='%F|%K|%T|%r|%V|%S|%e|%N|%j'
SACCT='JobID,State,ExitCode,Reason,Submit,Start,End,NodeList,MaxRSS,JobName'

sub() { sbatch --parsable -o "$work/%x.%j.out" "$@"; }

# header FILE SCENARIO COMMAND...: write the header, then the command's stdout.
capture() {
	local file=$1 scenario=$2
	shift 2
	{
		echo "# $version, Debian 12, single-node test cluster (scripts/slurm-up.sh, accounting on)"
		echo "# command: $*"
		echo "# scenario: $scenario"
		"$@"
	} >"$file"
	echo "wrote $file"
}

ids=()
ids+=("$(sub -J tmo --time=0:00:05 --wrap 'sleep 300')")
ids+=("$(sub -J block --wrap 'sleep 12')")
ids+=("$(sub -J pend --wrap 'sleep 1')")
ids+=("$(sub -J arr --array=1-6%2 --wrap 'sleep 2; exit $((SLURM_ARRAY_TASK_ID % 3))')")
pc=$(sub -J pendcancel --wrap 'sleep 100')
ids+=("$pc")
ac=$(sub -J arrcancel --array=1-5%1 --wrap 'sleep 1')
ids+=("$ac")
ids+=("$(sub -J 'name with|pipe' --wrap 'true')")
sleep 1
scancel "$pc" "${ac}_3"
sleep 1
capture squeue/long-pending.txt "two CPUs busy (tmo, block); the rest pending: array 1-6%2, array 1-5%1 with element 3 cancelled while pending, a job cancelled while pending" \
	squeue --states=all --user="$user" -O "$LONG"
capture squeue/short-pending.txt "same moment as long-pending.txt, -o layout" \
	squeue --states=all --user="$user" -o "$SHORT"
capture sacct/pending.txt "same moment as squeue/long-pending.txt" \
	sacct --parsable2 --jobs="$(IFS=,; echo "${ids[*]}")" --format="$SACCT"

sleep 12
capture squeue/long-running.txt "block finished; array elements running under their throttle, pending remainder" \
	squeue --states=all --user="$user" -O "$LONG"
capture squeue/short-running.txt "same moment as long-running.txt, -o layout" \
	squeue --states=all --user="$user" -o "$SHORT"

ids+=("$(sub -J ok --wrap 'true')")
ids+=("$(sub -J exit3 --wrap 'exit 3')")
ids+=("$(sub -J kill9 --wrap 'kill -9 $$')")
ids+=("$(sbatch --parsable -J nologdir -o /nonexistent/dir/x.log --wrap 'true')")
ids+=("$(sub -J exit127 --wrap '/nonexistent/program')")
cr=$(sub -J cancelrunning --wrap 'sleep 100')
ids+=("$cr")
for _ in $(seq 1 60); do
	[[ $(squeue -h -j "$cr" -o %T) == RUNNING ]] && break
	sleep 1
done
scancel "$cr"
echo "waiting for the time limit of job ${ids[0]} (about a minute)"
for _ in $(seq 1 120); do
	[[ $(squeue -h -t all -j "${ids[0]}" -o %T) == TIMEOUT ]] && break
	sleep 1
done
while [[ -n $(squeue -h -u "$user" -t PD,R,CG,CF) ]]; do sleep 1; done
capture squeue/long-final.txt "every job finished: done, exit 3, SIGKILL, missing log dir, exit 127, cancelled running and pending, timeout, arrays" \
	squeue --states=all --user="$user" -O "$LONG"
capture squeue/short-final.txt "same moment as long-final.txt, -o layout" \
	squeue --states=all --user="$user" -o "$SHORT"
sleep 1
capture sacct/final.txt "same jobs as squeue/long-final.txt" \
	sacct --parsable2 --jobs="$(IFS=,; echo "${ids[*]}")" --format="$SACCT"
rm -rf "$work"
