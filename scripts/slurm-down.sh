#!/usr/bin/env bash
# slurm-down.sh — stop the single-node SLURM started by slurm-up.sh.
#
#   slurm-down.sh           stop slurmd, slurmctld and slurmdbd (by their pid files)
#   slurm-down.sh --purge   also remove the state dir ($SLURM_CI_DIR) and drop the
#                           accounting database, so the next start begins at job id 1
#                           without old sacct records under the same ids
#   slurm-down.sh --all     also stop munged and MariaDB
#
# Environment: SLURM_CI_DIR (default /var/lib/slurm-test), as for slurm-up.sh.
set -euo pipefail

CI_DIR=${SLURM_CI_DIR:-/var/lib/slurm-test}
DB_NAME=slurm_acct_db
purge=0
all=0
for arg in "$@"; do
	case $arg in
	--purge) purge=1 ;;
	--all) all=1 ;;
	-h | --help)
		sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		printf 'slurm-down: ERROR: unknown argument %q (use --purge and/or --all)\n' "$arg" >&2
		exit 2
		;;
	esac
done

say() { printf 'slurm-down: %s\n' "$*"; }
die() {
	printf 'slurm-down: ERROR: %s\n' "$*" >&2
	exit 1
}
[[ $(id -u) == 0 ]] || die "must run as root"

pid_alive() {
	local pid
	[[ -s $1 ]] || return 1
	pid=$(<"$1")
	[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

stop_daemon() {
	local name=$1 file=$2 pid i
	if ! pid_alive "$file"; then
		say "$name is not running"
		return 0
	fi
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

stop_daemon slurmd "$CI_DIR/slurmd.pid"
stop_daemon slurmctld "$CI_DIR/slurmctld.pid"
stop_daemon slurmdbd "$CI_DIR/slurmdbd.pid"

mariadb_up() { command -v mysqladmin >/dev/null && mysqladmin ping >/dev/null 2>&1; }

if ((purge)); then
	if command -v mysql >/dev/null; then
		started_db=0
		if ! mariadb_up && [[ -x /etc/init.d/mariadb ]]; then
			say "starting MariaDB to drop $DB_NAME"
			/etc/init.d/mariadb start >/dev/null || die "/etc/init.d/mariadb start failed; cannot drop $DB_NAME"
			started_db=1
		fi
		if mariadb_up; then
			say "dropping database $DB_NAME"
			mysql -uroot -e "DROP DATABASE IF EXISTS $DB_NAME" || die "dropping $DB_NAME failed"
		fi
		if ((started_db && !all)); then
			/etc/init.d/mariadb stop >/dev/null || true
		fi
	fi
	# Guard against SLURM_CI_DIR pointing somewhere it must not.
	case $CI_DIR in
	/ | /var | /var/lib | /etc | /usr | /home | "") die "refusing to remove SLURM_CI_DIR=$CI_DIR" ;;
	esac
	if [[ -d $CI_DIR ]]; then
		say "removing $CI_DIR"
		rm -rf -- "$CI_DIR"
	fi
fi

if ((all)); then
	stop_daemon munged /run/munge/munged.pid
	if mariadb_up; then
		say "stopping MariaDB"
		/etc/init.d/mariadb stop >/dev/null || die "/etc/init.d/mariadb stop failed"
	fi
fi
say "down"
