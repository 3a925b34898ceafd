#!/usr/bin/env bash
# sge-down.sh: stop the single-node Grid Engine that sge-up.sh started
# (execd first, then qmaster). Configuration, spool and accounting stay, so
# the next sge-up.sh is fast. Idempotent: stopping a stopped cluster is fine.
#
# Environment:
#   SGE_DOWN_TIMEOUT  seconds to wait for each daemon before SIGKILL (default 40;
#                     a controlled qmaster shutdown can take ~20 s)
set -euo pipefail

QMASTER_PID=/var/spool/gridengine/qmaster/qmaster.pid
EXECD_PID=/var/run/gridengine/execd.pid
TIMEOUT=${SGE_DOWN_TIMEOUT:-40}

log() { printf 'sge-down: %s\n' "$*" >&2; }

[ "$(id -u)" = 0 ] || {
	printf 'sge-down: error: run me as root: I stop the Grid Engine daemons\n' >&2
	exit 1
}

# stop PIDFILE NAME: TERM the daemon named in PIDFILE if it really is NAME
# (a stale pid file may name a recycled pid), wait, then KILL.
stop() {
	local file=$1 name=$2 pid
	[ -s "$file" ] || {
		log "$name is not running (no $file)"
		return 0
	}
	pid=$(cat "$file")
	if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "$name" ]; then
		log "$name is not running (stale $file)"
		rm -f "$file"
		return 0
	fi
	log "stopping $name (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	local i
	for i in $(seq $((TIMEOUT * 10))); do
		[ -d "/proc/$pid" ] || break
		sleep 0.1
	done
	if [ -d "/proc/$pid" ]; then
		log "$name did not stop within ${TIMEOUT}s, killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$file"
}

# The init scripts' stop actions look for pid files the daemons do not
# write (qmaster), so stop the daemons by their own pid files.
stop "$EXECD_PID" sge_execd
stop "$QMASTER_PID" sge_qmaster
log "Grid Engine is down"
