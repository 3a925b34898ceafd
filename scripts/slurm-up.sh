#!/usr/bin/env bash
# slurm-up.sh — start a single-node SLURM cluster on this machine, for tests.
#
# Runs as root, needs no systemd (daemons are started directly), and is
# idempotent: when everything is already up with the same configuration it
# returns in a fraction of a second. When the generated configuration differs
# from the installed one, the daemons are restarted.
#
# Environment (all optional):
#   SLURM_CI_DIR        state, spool, logs and pid files   (default /var/lib/slurm-test)
#   SLURM_MIN_JOB_AGE   seconds finished jobs stay in squeue (default 300)
#   SLURM_ACCOUNTING=1  also run MariaDB + slurmdbd so that sacct works
#   SLURM_SELECT_PARAMS SelectTypeParameters               (default CR_Core)
#   SLURM_OVERMEMKILL=1 JobAcctGatherParams=OverMemoryKill (needs CR_Core_Memory)
#   SLURM_EXTRA_CONF    extra slurm.conf lines, separated by ';' (e.g. DefMemPerCPU=512)
#   SLURM_NO_INSTALL=1  fail instead of running apt-get when packages are missing
#
# See scripts/README-slurm.md for what was learned setting this up.
#
# Jobs never read root's dotfiles here: slurmstepd execs the batch script
# itself (its #! line: a non-login, non-interactive bash), and this config has
# no Prolog/TaskProlog that would source a profile. sbatch passes the
# submitter's environment on (--export=ALL), so a BASH_ENV in it would run in
# every job: .ci/run and the tests clear BASH_ENV and ENV (Grid Engine needed
# login_shells NONE as well; see sge-up.sh).
set -euo pipefail

CI_DIR=${SLURM_CI_DIR:-/var/lib/slurm-test}
MIN_JOB_AGE=${SLURM_MIN_JOB_AGE:-300}
ACCOUNTING=${SLURM_ACCOUNTING:-0}
SELECT_PARAMS=${SLURM_SELECT_PARAMS:-CR_Core}
OVERMEMKILL=${SLURM_OVERMEMKILL:-0}
EXTRA_CONF=${SLURM_EXTRA_CONF:-}
CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
DBD_CONF=$CONF_DIR/slurmdbd.conf
DB_NAME=slurm_acct_db
DB_USER=slurm
HOST=$(hostname -s)

say() { printf 'slurm-up: %s\n' "$*"; }
die() {
	printf 'slurm-up: ERROR: %s\n' "$*" >&2
	exit 1
}

[[ $(id -u) == 0 ]] || die "must run as root (it installs packages and starts daemons)"
[[ $MIN_JOB_AGE =~ ^[0-9]+$ ]] || die "SLURM_MIN_JOB_AGE must be a number of seconds, got '$MIN_JOB_AGE'"
case $ACCOUNTING in 0 | 1 | "") ;; *) die "SLURM_ACCOUNTING must be 0 or 1, got '$ACCOUNTING'" ;; esac

# pid_alive FILE: the daemon whose pid is in FILE is running.
pid_alive() {
	local pid
	[[ -s $1 ]] || return 1
	pid=$(<"$1")
	[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# stop_daemon NAME PIDFILE: TERM, wait, then KILL.
stop_daemon() {
	local name=$1 file=$2 pid i
	pid_alive "$file" || return 0
	pid=$(<"$file")
	say "stopping $name (pid $pid)"
	kill "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	say "$name did not stop within 10 s, killing it"
	kill -9 "$pid" 2>/dev/null || true
}

# wait_for DESCRIPTION SECONDS COMMAND...: poll COMMAND every 0.2 s.
wait_for() {
	local what=$1 secs=$2 i
	shift 2
	for ((i = 0; i < secs * 5; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure_packages() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
	done
	((${#missing[@]} == 0)) && return 0
	[[ ${SLURM_NO_INSTALL:-0} == 1 ]] && die "packages missing: ${missing[*]} (SLURM_NO_INSTALL=1 forbids installing)"
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# Another apt user may hold the lock; wait for it rather than failing.
	if ! apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >/tmp/slurm-up-apt.log 2>&1; then
		say "apt-get install failed, updating the package lists and trying again"
		apt-get -o DPkg::Lock::Timeout=600 update -q >>/tmp/slurm-up-apt.log 2>&1 || true
		apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >>/tmp/slurm-up-apt.log 2>&1 ||
			die "apt-get install ${missing[*]} failed; see /tmp/slurm-up-apt.log"
	fi
}

ensure_munge() {
	if [[ ! -s /etc/munge/munge.key ]]; then
		say "creating /etc/munge/munge.key"
		install -d -o munge -g munge -m 700 /etc/munge
		dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
		chown munge:munge /etc/munge/munge.key
		chmod 400 /etc/munge/munge.key
	fi
	if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
		return 0
	fi
	say "starting munged"
	install -d -o munge -g munge -m 755 /run/munge
	install -d -o munge -g munge -m 700 /var/log/munge /var/lib/munge
	runuser -u munge -- /usr/sbin/munged || die "munged did not start; see /var/log/munge/munged.log"
	wait_for munge 10 bash -c 'munge -n | unmunge' || die "munge does not work after starting munged; see /var/log/munge/munged.log"
}

ensure_mariadb() {
	if ! mysqladmin ping >/dev/null 2>&1; then
		say "starting MariaDB"
		/etc/init.d/mariadb start >/dev/null || die "/etc/init.d/mariadb start failed; see /var/log/mysql/ or run it by hand"
		wait_for mariadb 30 mysqladmin ping || die "MariaDB does not answer mysqladmin ping after start"
	fi
}

# db_password prints the slurmdbd database password, created once.
db_password() {
	local f=$CI_DIR/dbpass
	if [[ ! -s $f ]]; then
		(umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$f")
	fi
	cat "$f"
}

render_slurmdbd_conf() {
	cat <<EOF
# generated by slurm-up.sh
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=root
PidFile=$CI_DIR/slurmdbd.pid
LogFile=$CI_DIR/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=$DB_USER
StoragePass=$1
StorageLoc=$DB_NAME
EOF
}

render_slurm_conf() {
	local node
	node=$(slurmd -C | head -1)
	[[ $node == NodeName=* ]] || die "slurmd -C printed '$node', expected a NodeName= line"
	cat <<EOF
# generated by slurm-up.sh
ClusterName=ci
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$CI_DIR/state
SlurmdSpoolDir=$CI_DIR/spool
SlurmctldPidFile=$CI_DIR/slurmctld.pid
SlurmdPidFile=$CI_DIR/slurmd.pid
SlurmctldLogFile=$CI_DIR/log/slurmctld.log
SlurmdLogFile=$CI_DIR/log/slurmd.log
# no cgroups here: track processes by parentage, no task binding
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=$SELECT_PARAMS
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
MinJobAge=$MIN_JOB_AGE
KillWait=5
# reject impossible requests (-c 99, -N 2) at submit time instead of pending forever (PartitionConfig)
EnforcePartLimits=ALL
MailProg=/bin/true
EOF
	if [[ $ACCOUNTING == 1 ]]; then
		cat <<EOF
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=5
EOF
	fi
	[[ $OVERMEMKILL == 1 ]] && echo "JobAcctGatherParams=OverMemoryKill"
	if [[ -n $EXTRA_CONF ]]; then
		tr ';' '\n' <<<"$EXTRA_CONF"
	fi
	echo "$node State=UNKNOWN"
	echo "PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP"
}

# install_if_changed DEST MODE: replace DEST with stdin when it differs;
# returns 0 when it changed.
install_if_changed() {
	local dest=$1 mode=$2 tmp
	tmp=$(mktemp)
	cat >"$tmp"
	if [[ -f $dest ]] && cmp -s "$tmp" "$dest"; then
		rm -f "$tmp"
		return 1
	fi
	install -m "$mode" "$tmp" "$dest"
	rm -f "$tmp"
	return 0
}

node_state() { sinfo -h -n "$HOST" -o %t 2>/dev/null | head -1; }

start=$EPOCHREALTIME
pkgs=(slurmctld slurmd slurm-client munge)
[[ $ACCOUNTING == 1 ]] && pkgs+=(slurmdbd mariadb-server)
ensure_packages "${pkgs[@]}"

mkdir -p "$CI_DIR"/{state,spool,log} "$CONF_DIR"
chmod 755 "$CI_DIR"
ensure_munge

restart_dbd=0
if [[ $ACCOUNTING == 1 ]]; then
	ensure_mariadb
	pass=$(db_password)
	# CREATE USER IF NOT EXISTS + ALTER keeps the password in sync with the
	# file even when the state dir was purged but the database was not.
	mysql -uroot <<EOF || die "creating database $DB_NAME / user $DB_USER failed"
CREATE DATABASE IF NOT EXISTS $DB_NAME;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$pass';
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$pass';
GRANT ALL ON $DB_NAME.* TO '$DB_USER'@'localhost';
EOF
	if render_slurmdbd_conf "$pass" | install_if_changed "$DBD_CONF" 600; then
		say "wrote $DBD_CONF"
		restart_dbd=1
	fi
	if ((restart_dbd)) || ! pid_alive "$CI_DIR/slurmdbd.pid"; then
		stop_daemon slurmdbd "$CI_DIR/slurmdbd.pid"
		say "starting slurmdbd"
		/usr/sbin/slurmdbd || die "slurmdbd did not start; see $CI_DIR/log/slurmdbd.log"
	fi
	wait_for slurmdbd 30 port_open 6819 ||
		die "slurmdbd does not listen on port 6819 after 30 s; see $CI_DIR/log/slurmdbd.log"
else
	# Leaving slurmdbd up is harmless, but a stale one would confuse the reader.
	stop_daemon slurmdbd "$CI_DIR/slurmdbd.pid"
fi

restart=0
if render_slurm_conf | install_if_changed "$CONF" 644; then
	say "wrote $CONF"
	restart=1
fi

if ((restart)); then
	stop_daemon slurmd "$CI_DIR/slurmd.pid"
	stop_daemon slurmctld "$CI_DIR/slurmctld.pid"
fi
if ! pid_alive "$CI_DIR/slurmctld.pid"; then
	say "starting slurmctld"
	/usr/sbin/slurmctld || die "slurmctld did not start; see $CI_DIR/log/slurmctld.log"
fi
if ! pid_alive "$CI_DIR/slurmd.pid"; then
	say "starting slurmd"
	/usr/sbin/slurmd || die "slurmd did not start; see $CI_DIR/log/slurmd.log"
fi

state=""
for ((i = 0; i < 150; i++)); do
	state=$(node_state)
	case $state in
	idle | mix | alloc) break ;;
	drain* | drng | down* | fail*)
		say "node $HOST is '$state', resuming it"
		scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true
		;;
	esac
	sleep 0.2
done
case $state in
idle | mix | alloc) ;;
*) die "node $HOST is '${state:-not reported}' after 30 s; see $CI_DIR/log/slurmctld.log and slurmd.log" ;;
esac

if [[ $ACCOUNTING == 1 ]]; then
	# slurmctld registers the cluster with slurmdbd by itself; make sure sacct answers.
	wait_for sacct 30 sacct -n -X -S now ||
		die "sacct does not work although accounting is on; see $CI_DIR/log/slurmdbd.log"
fi

say "up: node $HOST $state, accounting=$([[ $ACCOUNTING == 1 ]] && echo on || echo off), MinJobAge=$MIN_JOB_AGE ($(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.2f", b-a}') s)"
