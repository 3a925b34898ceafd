#!/usr/bin/env bash
# sge-up.sh: start a single-node Son of Grid Engine (Debian's gridengine-*)
# on this machine, as root and without systemd, for capi's integration tests.
#
# Idempotent: each step checks first and only changes what differs, so a
# rerun on a running cluster takes a fraction of a second plus a few qconf
# calls. The facts behind each step are in the project's reference notes
# (test-clusters.md §3); the comments below say why a step exists.
#
# Environment:
#   SGE_UP_TIMEOUT   seconds to wait for the queue to accept jobs (default 60)
#   SGE_SKIP_INSTALL 1 = never run apt-get (fail if the packages are missing)
set -euo pipefail

HOST=$(hostname)
SGE_ROOT=/var/lib/gridengine
SGE_CELL=default
SPOOL=/var/spool/gridengine
QMASTER_PID=$SPOOL/qmaster/qmaster.pid
# The Debian init script tells execd to write its pid here.
EXECD_PID=/var/run/gridengine/execd.pid
QUEUE=all.q
PE=smp
TIMEOUT=${SGE_UP_TIMEOUT:-60}
PACKAGES=(gridengine-master gridengine-exec gridengine-client)

log() { printf 'sge-up: %s\n' "$*" >&2; }
die() {
	printf 'sge-up: error: %s\n' "$*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "run me as root: I install packages and start the Grid Engine daemons"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# alive PIDFILE NAME: the pid file names a live process called NAME (a stale
# pid file may name a recycled pid).
alive() {
	[ -s "$1" ] || return 1
	local pid
	pid=$(cat "$1")
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}

# ---- 1. packages --------------------------------------------------------
installed() {
	local p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || return 1
	done
}

if ! installed; then
	[ "${SGE_SKIP_INSTALL:-0}" = 1 ] && die "packages ${PACKAGES[*]} are not installed and SGE_SKIP_INSTALL=1"
	# slurm-wlm-torque ships PBS-style qsub/qstat wrappers that conflict with
	# gridengine-client; never replace someone's SLURM tooling silently.
	if dpkg-query -W -f='${Status}\n' slurm-wlm-torque 2>/dev/null | grep -q 'ok installed'; then
		die "slurm-wlm-torque is installed and conflicts with gridengine-client; remove it first (apt-get remove slurm-wlm-torque)"
	fi
	log "installing ${PACKAGES[*]}"
	# Without preseeding, the postinst asks questions (or skips init_cluster
	# under a noninteractive frontend) and no cell is created.
	for p in gridengine-common "${PACKAGES[@]}"; do
		printf '%s shared/gridengineconfig boolean true\n' "$p"
		printf '%s shared/gridenginecell string %s\n' "$p" "$SGE_CELL"
		printf '%s shared/gridenginemaster string %s\n' "$p" "$HOST"
	done | debconf-set-selections
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
		--no-install-recommends "${PACKAGES[@]}" >"$TMP/apt.log" 2>&1 ||
		{
			tail -n 30 "$TMP/apt.log" >&2
			die "apt-get install ${PACKAGES[*]} failed (output above)"
		}
fi
[ -d "$SGE_ROOT/$SGE_CELL/common" ] ||
	die "$SGE_ROOT/$SGE_CELL/common is missing: the package postinst did not create the cell; try: dpkg-reconfigure gridengine-common"

# Debian's /usr/bin/q* wrappers spend ~65 ms per call finding these; the
# real binaries need only SGE_ROOT and SGE_CELL.
export SGE_ROOT SGE_CELL
[ -x /usr/lib/gridengine/qconf ] && PATH=/usr/lib/gridengine:$PATH

# ---- 2. hostname resolution ------------------------------------------------
# qmaster resolves a client's source address back to a name and refuses the
# client when that name differs from the client's own hostname ("client IP
# resolved to host name localhost"). On machines where the hostname maps to
# a loopback address, declare the reverse name an alias of the hostname.
ALIASES=$SGE_ROOT/$SGE_CELL/common/host_aliases
addr=$(getent ahostsv4 "$HOST" | awk 'NR==1{print $1}')
[ -n "$addr" ] || die "hostname $HOST does not resolve (getent ahostsv4 $HOST); add it to /etc/hosts"
back=$(getent hosts "$addr" | awk 'NR==1{print $2}')
need_restart=0
if [ -n "$back" ] && [ "$back" != "$HOST" ]; then
	want="$HOST $back"
	if ! grep -qxF "$want" "$ALIASES" 2>/dev/null; then
		log "$HOST resolves to $addr, which resolves back to $back: writing host_aliases"
		printf '%s\n' "$want" >"$ALIASES"
		need_restart=1
	fi
fi

# ---- 3. qmaster ------------------------------------------------------------
if alive "$QMASTER_PID" sge_qmaster && [ "$need_restart" = 1 ]; then
	log "restarting qmaster to read host_aliases"
	pid=$(cat "$QMASTER_PID")
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
fi
if ! alive "$QMASTER_PID" sge_qmaster; then
	log "starting qmaster"
	# policy-rc.d may forbid invoke-rc.d; the init script itself is fine.
	/etc/init.d/gridengine-master start >"$TMP/qmaster.log" 2>&1 ||
		{
			cat "$TMP/qmaster.log" >&2
			die "/etc/init.d/gridengine-master start failed; see $SPOOL/qmaster/messages"
		}
fi

ok=0
for _ in $(seq $((TIMEOUT * 10))); do
	if qconf -sh >"$TMP/admin" 2>"$TMP/qconf.err"; then
		ok=1
		break
	fi
	sleep 0.1
done
[ "$ok" = 1 ] || die "qmaster does not answer after ${TIMEOUT}s: $(cat "$TMP/qconf.err"); see $SPOOL/qmaster/messages"

# ---- 4. submit host ----------------------------------------------------------
if ! qconf -ss 2>/dev/null | grep -qxF "$HOST"; then
	log "adding submit host $HOST"
	qconf -as "$HOST" >"$TMP/as.out" 2>&1 || die "qconf -as $HOST failed: $(cat "$TMP/as.out")"
fi

# apply_conf KIND SHOW_CMD MODIFY_FLAG FILE_NAME SED_SCRIPT: edit a qconf
# object only when the edit changes it, so reruns stay quiet and fast. It
# sets CHANGED=1 when it modified the object (a return code would disable
# set -e inside the function when the caller tests it).
apply_conf() {
	local kind=$1 show=$2 flag=$3 name=$4 edit=$5
	mkdir -p "$TMP/$kind"
	local cur=$TMP/$kind/cur new=$TMP/$kind/$name
	CHANGED=0
	# shellcheck disable=SC2086
	qconf $show >"$cur.raw" || die "qconf $show failed"
	# Long values are folded with a trailing backslash; unfold them so that
	# one sed line edit sees the whole value.
	sed -e ':a' -e '/\\$/N; s/\\\n[[:space:]]*/ /; ta' "$cur.raw" >"$cur"
	sed -E "$edit" "$cur" >"$new"
	# qconf re-pads values as it likes; compare words, not spacing.
	if ! cmp -s <(tr -s ' \t' ' ' <"$cur") <(tr -s ' \t' ' ' <"$new"); then
		log "updating $kind"
		qconf "$flag" "$new" >"$TMP/$kind/out" 2>&1 ||
			die "qconf $flag failed: $(cat "$TMP/$kind/out")"
		CHANGED=1
	fi
}

# ---- 5. global configuration ---------------------------------------------
# min_uid/min_gid 0: root's jobs otherwise go to Eqw ("gid of user root (0)
# less than minimum allowed"). The flush times make qacct see a job ~0.1 s
# after it ends instead of 8-15 s.
# login_shells NONE: Debian's default starts bash as a login shell ("-bash"),
# which reads /etc/profile and root's dotfiles in every job. A test cluster
# must not depend on the host: a ~/.bashrc running `pyenv init` once made
# every job wait 60 s for a stale pyenv lock left by a cancelled job. Jobs
# start as plain non-interactive shells, which read no dotfiles (the tests
# clear BASH_ENV, which -V would pass on).
apply_conf global "-sconf global" -Mconf global '
s/^(min_uid[[:space:]]+).*/\10/
s/^(min_gid[[:space:]]+).*/\10/
s/^(login_shells[[:space:]]+).*/\1NONE/
/^reporting_params/{
  s/[[:space:]]accounting_flush_time=[^[:space:]]*//
  s/([[:space:]])flush_time=[^[:space:]]*/\1flush_time=00:00:01 accounting_flush_time=00:00:00/
}'
conf_changed=$CHANGED

# ---- 6. scheduler configuration -------------------------------------------
# Default schedule_interval is 15 s; tests want jobs to start within ~1 s.
apply_conf scheduler "-ssconf" -Msconf sched '
s/^(schedule_interval[[:space:]]+).*/\10:0:1/
s/^(flush_submit_sec[[:space:]]+).*/\11/
s/^(flush_finish_sec[[:space:]]+).*/\11/'

# ---- 7. parallel environment -----------------------------------------------
# capi asks for N cpus with "-pe smp N"; $pe_slots keeps them on one host.
if ! qconf -sp "$PE" >/dev/null 2>&1; then
	log "adding parallel environment $PE"
	cat >"$TMP/$PE" <<EOF
pe_name            $PE
slots              99999
user_lists         NONE
xuser_lists        NONE
start_proc_args    NONE
stop_proc_args     NONE
allocation_rule    \$pe_slots
control_slaves     FALSE
job_is_first_task  TRUE
urgency_slots      min
accounting_summary FALSE
qsort_args         NONE
EOF
	qconf -Ap "$TMP/$PE" >"$TMP/pe.out" 2>&1 || die "qconf -Ap failed: $(cat "$TMP/pe.out")"
fi

# ---- 8. execd ----------------------------------------------------------------
# execd reads min_uid at start: start it only after step 5, and restart it
# when step 5 changed the configuration of a running execd.
if alive "$EXECD_PID" sge_execd && [ "$conf_changed" = 1 ]; then
	log "restarting execd to pick up the new global configuration"
	pid=$(cat "$EXECD_PID")
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
fi
if ! alive "$EXECD_PID" sge_execd; then
	log "starting execd"
	/etc/init.d/gridengine-exec start >"$TMP/execd.log" 2>&1 ||
		{
			cat "$TMP/execd.log" >&2
			die "/etc/init.d/gridengine-exec start failed; see $SPOOL/execd/*/messages"
		}
fi

# ---- 9. queue ----------------------------------------------------------------
SLOTS=$(nproc)
queue_edit="
s/^(hostlist[[:space:]]+).*/\\1$HOST/
s/^(slots[[:space:]]+).*/\\1$SLOTS/
s/^(pe_list[[:space:]]+).*/\\1$PE/
s/^(load_thresholds[[:space:]]+).*/\\1NONE/
s|^(shell[[:space:]]+).*|\\1/bin/bash|"
if qconf -sq "$QUEUE" >/dev/null 2>&1; then
	apply_conf queue "-sq $QUEUE" -Mq "$QUEUE" "$queue_edit"
else
	log "adding queue $QUEUE"
	mkdir -p "$TMP/queue"
	qconf -sq >"$TMP/queue/template" || die "qconf -sq (queue template) failed"
	sed -E "s/^(qname[[:space:]]+).*/\\1$QUEUE/
$queue_edit" "$TMP/queue/template" >"$TMP/queue/$QUEUE"
	qconf -Aq "$TMP/queue/$QUEUE" >"$TMP/queue/out" 2>&1 || die "qconf -Aq failed: $(cat "$TMP/queue/out")"
fi

# ---- 10. wait until the queue instance accepts jobs -----------------------
# qstat -f prints a state column only when the instance has one ("u": execd
# not reporting yet, "E", "d", "a"...); no column means it takes jobs.
state=unknown
for _ in $(seq $((TIMEOUT * 10))); do
	line=$(qstat -f -q "$QUEUE@$HOST" 2>/dev/null | awk -v q="$QUEUE@$HOST" '$1==q')
	if [ -n "$line" ]; then
		state=$(awk '{print $6}' <<<"$line")
		[ -z "$state" ] && break
	fi
	sleep 0.1
done
if [ -n "$state" ]; then
	qstat -f >&2 || true
	die "queue $QUEUE@$HOST is not ready after ${TIMEOUT}s (state '$state'); see $SPOOL/execd/*/messages and $SPOOL/qmaster/messages"
fi
log "Grid Engine is up: queue $QUEUE@$HOST, $SLOTS slots, pe $PE"
