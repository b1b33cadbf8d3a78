#!/usr/bin/env bash
# scripts/stack.sh — batchledger's local stack: Temporal dev server, Azurite (blob),
# PostgreSQL and the Azure OpenAI batch simulator, plus the worker on request.
#
#   scripts/stack.sh up            start what is not running; wait for health; write .stack/env
#   scripts/stack.sh down          stop what this script started (never the machine's PostgreSQL)
#   scripts/stack.sh status        one line per part; exit 1 if a part of the stack is down
#   scripts/stack.sh env           print `export VAR=...` lines (use: eval "$(scripts/stack.sh env)")
#   scripts/stack.sh worker-start  build ./worker and run it in the background with the stack env
#   scripts/stack.sh worker-stop   SIGTERM the worker and wait for its graceful exit
#   scripts/stack.sh restart PART  restart azurite or postgres (fault tests; data is kept)
#
# Everything lives under .stack/: logs/<part>.log, run/<part>.pid, data/, bin/, secrets/.
# Environment knobs (all optional):
#   SIM_VALIDATING SIM_IN_PROGRESS SIM_FINALIZING  simulator phase durations (default 1s 2s 1s);
#                                  a running simulator with other durations is restarted
#   SIM_SLOW_RESPONSE              delay of the fault_slow scenario's slow answer (default 3m)
#   STACK_WAIT_SECS                health wait per part (default 60)
#   WORKER_STOP_TIMEOUT            seconds to wait for the worker's graceful exit (default 60)
#   BATCHLEDGER_PG_PRIVATE=1       start a private PostgreSQL cluster even if one runs on :5432
#   AZURITE_DEBUG=1                Azurite debug log to .stack/logs/azurite-debug.log
set -euo pipefail

BL_TAG="stack"
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT="$BL_ROOT"
STACK="$ROOT/.stack"
LOGS="$STACK/logs"
RUN="$STACK/run"
DATA="$STACK/data"
BIN="$STACK/bin"
SECRETS="$STACK/secrets"
KEY_FILE="$SECRETS/sim-api-key"
ENV_FILE="$STACK/env"

TEMPORAL_VERSION=v1.5.1
TEMPORAL_PKG=github.com/temporalio/cli/cmd/temporal
TEMPORAL_PORT=7233
TEMPORAL_UI_PORT=8233
AZURITE_PORT=10000
SIM_PORT=18090
PG_DEFAULT_PORT=5432
PG_ALT_PORT=5433
WAIT_SECS="${STACK_WAIT_SECS:-60}"

# The public, documented Azurite development account key (not a secret).
AZURITE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

# What a live process of each part has in its command line (guards against stale pid files).
declare -A PATTERN=(
	[temporal]="server start-dev"
	[azurite]="azurite-blob"
	[simulator]=".stack/bin/simulator"
	[worker]=".stack/bin/worker"
)

# ---------------------------------------------------------------- helpers

mkdirs() {
	mkdir -p "$STACK" "$LOGS" "$RUN" "$DATA" "$BIN"
	# The postgres OS user must be able to reach .stack/data/pg and .stack/logs.
	chmod 755 "$STACK" "$LOGS" "$RUN" "$DATA" "$BIN"
	mkdir -p "$SECRETS"
	chmod 700 "$SECRETS"
}

lock() {
	mkdirs
	exec 9>"$RUN/stack.lock"
	flock -w 600 9 || bl_die "another scripts/stack.sh holds $RUN/stack.lock"
}

pidfile() { printf '%s/%s.pid' "$RUN" "$1"; }

# running PART: its pid file names a live process whose command line matches.
running() {
	local f pid cmd
	f="$(pidfile "$1")"
	[[ -s $f ]] || return 1
	pid="$(<"$f")"
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
	[[ $cmd == *"${PATTERN[$1]}"* ]]
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_bg PART LOGFILE CMD...: new session (own process group, no controlling tty),
# so it outlives this script and `down` can signal the whole group.
start_bg() {
	local part=$1 logf=$2
	shift 2
	printf '\n=== %s starting %s ===\n' "$(date -u +%FT%TZ)" "$part" >>"$logf"
	setsid "$@" </dev/null >>"$logf" 2>&1 9>&- &
	echo "$!" >"$(pidfile "$part")"
}

log_tail() {
	[[ -f $1 ]] || return 0
	bl_log "last lines of ${1#"$ROOT"/}:"
	tail -n "${2:-30}" "$1" | sed 's/^/    /' >&2
}

# wait_healthy PART LOGFILE CHECK...: poll CHECK until it succeeds, the process dies, or timeout.
wait_healthy() {
	local part=$1 logf=$2 deadline=$((SECONDS + WAIT_SECS))
	shift 2
	until "$@" >/dev/null 2>&1; do
		if ! running "$part"; then
			bl_log "$part exited during startup"
			log_tail "$logf"
			return 1
		fi
		if ((SECONDS >= deadline)); then
			bl_log "$part not healthy after ${WAIT_SECS}s"
			log_tail "$logf"
			return 1
		fi
		sleep 0.5
	done
}

# stop_part PART [TIMEOUT_SECS]: SIGTERM the process group, wait, SIGKILL what is left.
stop_part() {
	local part=$1 timeout=${2:-30} f pid i
	f="$(pidfile "$part")"
	if running "$part"; then
		pid="$(<"$f")"
		bl_log "stopping $part (pid $pid)"
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < timeout * 10; i++)); do
			kill -0 -- "-$pid" 2>/dev/null || kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 -- "-$pid" 2>/dev/null || kill -0 "$pid" 2>/dev/null; then
			bl_log "$part still running after ${timeout}s; sending SIGKILL"
			kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
			sleep 0.5
		fi
	fi
	rm -f "$f"
}

# build_bin NAME PKG: go build into .stack/bin/NAME atomically (safe while the old one runs).
build_bin() {
	local name=$1 pkg=$2
	(cd "$ROOT" && go build -o "$BIN/$name.new" "$pkg") || {
		rm -f "$BIN/$name.new"
		return 1
	}
	mv -f "$BIN/$name.new" "$BIN/$name"
}

sha_of() { sha256sum "$@" | sha256sum | cut -d' ' -f1; }

# ---------------------------------------------------------------- temporal

gobin_dir() {
	local d
	d="$(go env GOBIN)"
	[[ -n $d ]] || d="$(go env GOPATH | cut -d: -f1)/bin"
	printf '%s' "$d"
}

temporal_bin() { printf '%s/temporal' "$(gobin_dir)"; }

temporal_version_ok() {
	local b v
	b="$(temporal_bin)"
	[[ -x $b ]] || return 1
	# `go install` builds report 0.0.0-DEV from --version; the module version is in the binary.
	v="$(go version -m "$b" 2>/dev/null | awk '$1 == "mod" && $2 == "github.com/temporalio/cli" { print $3 }')" || true
	[[ $v == "$TEMPORAL_VERSION" ]] && return 0
	v="$("$b" --version 2>/dev/null)" || true
	[[ $v == *"${TEMPORAL_VERSION#v} "* || $v == *"${TEMPORAL_VERSION#v}" ]]
}

ensure_temporal_cli() {
	temporal_version_ok && return 0
	local waited=0
	# Another `go install` of the same CLI (e.g. a parallel `up`) — wait for it, don't duplicate.
	while pgrep -f "go install $TEMPORAL_PKG@$TEMPORAL_VERSION" >/dev/null 2>&1 && ((waited < 900)); do
		((waited % 60 == 0)) && bl_log "temporal: waiting for a running go install of the CLI to finish"
		sleep 5
		waited=$((waited + 5))
	done
	temporal_version_ok && return 0
	bl_log "temporal: installing the Temporal CLI $TEMPORAL_VERSION with go install into $(gobin_dir)"
	bl_log "temporal: this compiles from source and takes about 4 minutes the first time..."
	local t0
	t0=$(date +%s)
	go install "$TEMPORAL_PKG@$TEMPORAL_VERSION" >>"$LOGS/temporal-install.log" 2>&1 || {
		log_tail "$LOGS/temporal-install.log"
		bl_die "temporal: go install $TEMPORAL_PKG@$TEMPORAL_VERSION failed"
	}
	temporal_version_ok || bl_die "temporal: $(temporal_bin) is not $TEMPORAL_VERSION after go install"
	bl_log "temporal: CLI installed in $(bl_elapsed "$t0")"
}

temporal_healthy() {
	local b out
	b="$(temporal_bin)"
	out="$("$b" operator cluster health --address "127.0.0.1:$TEMPORAL_PORT" --command-timeout 3s 2>&1)" || return 1
	[[ $out == *SERVING* && $out != *NOT_SERVING* ]] || return 1
	"$b" operator namespace describe --address "127.0.0.1:$TEMPORAL_PORT" --command-timeout 3s -n default >/dev/null 2>&1
}

up_temporal() {
	ensure_temporal_cli
	if running temporal; then
		bl_log "temporal: already running (pid $(<"$(pidfile temporal)"))"
	else
		port_open "$TEMPORAL_PORT" && bl_die "temporal: 127.0.0.1:$TEMPORAL_PORT is in use by a process this script did not start (another checkout's stack?)"
		bl_log "temporal: starting dev server on 127.0.0.1:$TEMPORAL_PORT (UI http://127.0.0.1:$TEMPORAL_UI_PORT)"
		start_bg temporal "$LOGS/temporal.log" "$(temporal_bin)" server start-dev \
			--ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" \
			--db-filename "$DATA/temporal.db" --log-level warn
	fi
	wait_healthy temporal "$LOGS/temporal.log" temporal_healthy || bl_die "temporal: not healthy"
	bl_log "temporal: SERVING"
}

# ---------------------------------------------------------------- azurite

AZ_DIR="$ROOT/tools/azurite"

ensure_azurite_pkg() {
	local stamp="$AZ_DIR/node_modules/.batchledger-lock.sha256" want have=""
	command -v npm >/dev/null 2>&1 || bl_die "azurite: npm not found (Node.js 20 + npm are needed)"
	want="$(sha_of "$AZ_DIR/package.json" "$AZ_DIR/package-lock.json")"
	[[ -f $stamp ]] && have="$(<"$stamp")"
	if [[ -x $AZ_DIR/node_modules/.bin/azurite-blob && $have == "$want" ]]; then
		return 0
	fi
	bl_log "azurite: npm ci in tools/azurite (log .stack/logs/npm-ci.log)"
	(cd "$AZ_DIR" && npm ci --no-audit --no-fund) </dev/null >>"$LOGS/npm-ci.log" 2>&1 || {
		log_tail "$LOGS/npm-ci.log"
		bl_die "azurite: npm ci failed"
	}
	printf '%s\n' "$want" >"$stamp"
}

azurite_healthy() {
	local code
	code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$AZURITE_PORT/devstoreaccount1?comp=list")" || true
	[[ -n $code && $code != 000 ]]
}

up_azurite() {
	ensure_azurite_pkg
	if running azurite; then
		bl_log "azurite: already running (pid $(<"$(pidfile azurite)"))"
	else
		port_open "$AZURITE_PORT" && bl_die "azurite: 127.0.0.1:$AZURITE_PORT is in use by a process this script did not start"
		mkdir -p "$DATA/azurite"
		local debug=()
		[[ ${AZURITE_DEBUG:-} == 1 ]] && debug=(--debug "$LOGS/azurite-debug.log")
		bl_log "azurite: starting blob service on 127.0.0.1:$AZURITE_PORT"
		start_bg azurite "$LOGS/azurite.log" "$AZ_DIR/node_modules/.bin/azurite-blob" \
			--blobHost 127.0.0.1 --blobPort "$AZURITE_PORT" --location "$DATA/azurite" \
			--skipApiVersionCheck --loose --silent "${debug[@]}"
	fi
	wait_healthy azurite "$LOGS/azurite.log" azurite_healthy || bl_die "azurite: not healthy"
	bl_log "azurite: answering"
}

# ---------------------------------------------------------------- postgresql

pg_bindir() {
	local d
	for d in /usr/lib/postgresql/15/bin $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -Vr); do
		[[ -x $d/pg_ctl && -x $d/initdb ]] && {
			printf '%s' "$d"
			return 0
		}
	done
	if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
		dirname "$(command -v pg_ctl)"
		return 0
	fi
	return 1
}

# A client tool (psql, createdb, pg_isready): PATH first, else the server's bin dir.
pg_tool() {
	local t=$1 d
	shift
	if command -v "$t" >/dev/null 2>&1; then
		"$t" "$@"
	elif d="$(pg_bindir)" && [[ -x $d/$t ]]; then
		"$d/$t" "$@"
	else
		bl_log "postgres: $t not found"
		return 127
	fi
}

# initdb/pg_ctl refuse to run as root: run them as the postgres OS user then.
as_pg() {
	if ((EUID == 0)); then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# The private cluster's data dir: .stack/data/pg, unless the postgres user cannot reach it
# (a checkout under a mode-700 home), then a per-checkout directory under /tmp.
pg_private_dir() {
	if ((EUID != 0)) || runuser -u postgres -- test -x "$DATA" 2>/dev/null; then
		printf '%s' "$DATA/pg"
	else
		printf '%s/batchledger-pg-%s' "${TMPDIR:-/tmp}" "$(printf '%s' "$STACK" | sha256sum | cut -c1-12)"
	fi
}

pg_logfile() {
	local dir
	dir="$(pg_private_dir)"
	if [[ $dir == "$DATA/pg" ]]; then printf '%s' "$LOGS/postgres.log"; else printf '%s' "$dir.log"; fi
}

pg_private_running() {
	local dir d
	dir="$(pg_private_dir)"
	[[ -f $dir/PG_VERSION ]] || return 1
	d="$(pg_bindir)" || return 1
	as_pg "$d/pg_ctl" -D "$dir" status >/dev/null 2>&1
}

pg_port() {
	if [[ -s $RUN/pg.port ]]; then cat "$RUN/pg.port"; else printf '%s' "$PG_DEFAULT_PORT"; fi
}

start_pg_private() {
	local d dir port logf
	d="$(pg_bindir)" || bl_die "postgres: no server on 127.0.0.1:$PG_DEFAULT_PORT and no initdb/pg_ctl found (install Debian postgresql-15)"
	dir="$(pg_private_dir)"
	if ((EUID == 0)); then
		id postgres >/dev/null 2>&1 || bl_die "postgres: running as root needs the 'postgres' OS user (Debian postgresql package)"
	fi
	if port_open "$PG_DEFAULT_PORT"; then port=$PG_ALT_PORT; else port=$PG_DEFAULT_PORT; fi
	port_open "$port" && bl_die "postgres: ports $PG_DEFAULT_PORT and $PG_ALT_PORT are both in use"
	if [[ ! -f $dir/PG_VERSION ]]; then
		bl_log "postgres: initdb of a private cluster in $dir"
		mkdir -p "$dir"
		chmod 700 "$dir"
		((EUID == 0)) && chown postgres:postgres "$dir"
		as_pg "$d/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --no-locale >>"$LOGS/postgres-initdb.log" 2>&1 || {
			log_tail "$LOGS/postgres-initdb.log"
			bl_die "postgres: initdb failed"
		}
		# TCP on loopback only; no unix socket (its default dir may not exist or be writable).
		printf "\n# batchledger stack\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n" >>"$dir/postgresql.conf"
	fi
	logf="$(pg_logfile)"
	touch "$logf"
	((EUID == 0)) && chown postgres "$logf"
	bl_log "postgres: starting private cluster on 127.0.0.1:$port"
	as_pg "$d/pg_ctl" -D "$dir" -l "$logf" -w -t "$WAIT_SECS" -o "-p $port" start >/dev/null 9>&- || {
		log_tail "$logf"
		bl_die "postgres: pg_ctl start failed"
	}
	printf '%s\n' "$port" >"$RUN/pg.port"
	printf 'private\n' >"$RUN/pg.mode"
}

up_postgres() {
	local port
	if pg_private_running; then
		port="$(pg_port)"
		bl_log "postgres: private cluster already running on 127.0.0.1:$port"
	elif [[ ${BATCHLEDGER_PG_PRIVATE:-} != 1 ]] && pg_tool pg_isready -q -h 127.0.0.1 -p "$PG_DEFAULT_PORT" -t 3; then
		port=$PG_DEFAULT_PORT
		printf '%s\n' "$port" >"$RUN/pg.port"
		printf 'external\n' >"$RUN/pg.mode"
		bl_log "postgres: using the server already running on 127.0.0.1:$port"
	else
		start_pg_private
		port="$(pg_port)"
	fi
	local deadline=$((SECONDS + WAIT_SECS))
	until pg_tool pg_isready -q -h 127.0.0.1 -p "$port" -t 2; do
		((SECONDS < deadline)) || bl_die "postgres: 127.0.0.1:$port not ready after ${WAIT_SECS}s"
		sleep 0.5
	done
	local have
	have="$(pg_tool psql -w -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "select 1 from pg_database where datname='batchledger'")" ||
		bl_die "postgres: cannot connect as user postgres to 127.0.0.1:$port (trust auth on 127.0.0.1 is expected)"
	if [[ $have != 1 ]]; then
		bl_log "postgres: creating database batchledger"
		pg_tool createdb -w -h 127.0.0.1 -p "$port" -U postgres batchledger
	fi
	bl_log "postgres: ready (postgres://postgres@127.0.0.1:$port/batchledger)"
}

down_postgres() {
	local mode="" d dir
	[[ -f $RUN/pg.mode ]] && mode="$(<"$RUN/pg.mode")"
	if pg_private_running; then
		d="$(pg_bindir)"
		dir="$(pg_private_dir)"
		bl_log "stopping private postgres cluster ($dir)"
		as_pg "$d/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null
	elif [[ $mode == external ]]; then
		bl_log "postgres: leaving the machine's server on 127.0.0.1:$(pg_port) running"
	fi
	rm -f "$RUN/pg.mode" "$RUN/pg.port"
}

# ---------------------------------------------------------------- simulator

ensure_key() {
	if [[ ! -s $KEY_FILE ]]; then
		(
			umask 077
			head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$KEY_FILE.tmp"
		)
		mv -f "$KEY_FILE.tmp" "$KEY_FILE"
	fi
	chmod 600 "$KEY_FILE"
}

sim_healthy() {
	local code
	code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$SIM_PORT/healthz")" || true
	[[ $code == 200 ]]
}

up_simulator() {
	[[ -d $ROOT/simulator/cmd/simulator ]] || {
		bl_log "simulator: ./simulator/cmd/simulator does not exist (yet)"
		return 1
	}
	bl_log "simulator: go build ./simulator/cmd/simulator"
	build_bin simulator ./simulator/cmd/simulator >"$LOGS/build-simulator.log" 2>&1 || {
		log_tail "$LOGS/build-simulator.log"
		bl_log "simulator: build failed"
		return 1
	}
	ensure_key
	mkdir -p "$DATA/simulator"
	local v=${SIM_VALIDATING:-1s} p=${SIM_IN_PROGRESS:-2s} f=${SIM_FINALIZING:-1s} sr=${SIM_SLOW_RESPONSE:-3m} conf
	conf="validating=$v in_progress=$p finalizing=$f slow_response=$sr bin=$(sha_of "$BIN/simulator")"
	if running simulator && [[ -f $RUN/simulator.conf && $(<"$RUN/simulator.conf") == "$conf" ]]; then
		bl_log "simulator: already running (pid $(<"$(pidfile simulator)"))"
	else
		running simulator && bl_log "simulator: binary or durations changed; restarting"
		stop_part simulator 15
		port_open "$SIM_PORT" && {
			bl_log "simulator: 127.0.0.1:$SIM_PORT is in use by a process this script did not start"
			return 1
		}
		bl_log "simulator: starting on 127.0.0.1:$SIM_PORT (validating $v, in progress $p, finalizing $f)"
		# The API key goes through the environment, not argv, so `ps` does not show it.
		(
			SIM_API_KEY="$(<"$KEY_FILE")"
			export SIM_API_KEY
			export SIM_ADDR="127.0.0.1:$SIM_PORT" SIM_DATA_DIR="$DATA/simulator"
			export SIM_VALIDATING="$v" SIM_IN_PROGRESS="$p" SIM_FINALIZING="$f" SIM_SLOW_RESPONSE="$sr"
			start_bg simulator "$LOGS/simulator.log" "$BIN/simulator"
		)
		printf '%s\n' "$conf" >"$RUN/simulator.conf"
	fi
	wait_healthy simulator "$LOGS/simulator.log" sim_healthy || {
		bl_log "simulator: not healthy"
		return 1
	}
	bl_log "simulator: healthy"
}

# ---------------------------------------------------------------- env

# Single-quote a value for the shell.
shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

emit_env() {
	local key=""
	[[ -s $KEY_FILE ]] && key="$(<"$KEY_FILE")"
	printf 'export %s=%s\n' \
		AZURE_OPENAI_ENDPOINT "$(shq "http://127.0.0.1:$SIM_PORT")" \
		AZURE_OPENAI_API_KEY "$(shq "$key")" \
		AZURE_OPENAI_API_VERSION "$(shq 2024-10-21)" \
		AZURE_OPENAI_DEPLOYMENT "$(shq gpt-4o-mini)" \
		AZURE_STORAGE_CONNECTION_STRING "$(shq "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$AZURITE_KEY;BlobEndpoint=http://127.0.0.1:$AZURITE_PORT/devstoreaccount1;")" \
		AUDIT_CONTAINER "$(shq audit)" \
		DATABASE_URL "$(shq "postgres://postgres@127.0.0.1:$(pg_port)/batchledger?sslmode=disable")" \
		TEMPORAL_ADDRESS "$(shq "127.0.0.1:$TEMPORAL_PORT")" \
		TEMPORAL_NAMESPACE "$(shq default)" \
		TASK_QUEUE "$(shq batchledger)" \
		BATCHLEDGER_STACK_DIR "$(shq "$STACK")"
	# $PATH is expanded when the line is eval'd/sourced, not now.
	# shellcheck disable=SC2016
	printf 'export PATH=%s:"$PATH"\n' "$(shq "$(gobin_dir)")"
}

write_env_file() {
	ensure_key
	(
		umask 077
		emit_env >"$ENV_FILE.tmp"
	)
	mv -f "$ENV_FILE.tmp" "$ENV_FILE"
	chmod 600 "$ENV_FILE"
}

# ---------------------------------------------------------------- commands

# part NAME FUNC: run FUNC in a subshell with errexit in force (so one part's failure
# does not stop the others); record NAME in $failed when it fails.
part() {
	local rc
	set +e
	(
		set -e
		"$2"
	)
	rc=$?
	set -e
	((rc == 0)) || failed+=("$1")
}

cmd_up() {
	lock
	local t0 failed=()
	t0=$(date +%s)
	command -v go >/dev/null 2>&1 || bl_die "go not found (expected at /usr/local/go)"
	command -v curl >/dev/null 2>&1 || bl_die "curl not found"
	ensure_key
	part temporal up_temporal
	part azurite up_azurite
	part postgres up_postgres
	part simulator up_simulator
	write_env_file
	if ((${#failed[@]})); then
		bl_log "stack up FAILED for: ${failed[*]} (logs in .stack/logs/; fix and re-run: scripts/stack.sh up)"
		return 1
	fi
	bl_log "stack up in $(bl_elapsed "$t0"); env in .stack/env (source it, or eval \"\$(scripts/stack.sh env)\")"
	bl_log "Temporal Web UI: http://127.0.0.1:$TEMPORAL_UI_PORT"
}

cmd_down() {
	lock
	stop_part worker "${WORKER_STOP_TIMEOUT:-60}"
	stop_part simulator 15
	stop_part azurite 15
	stop_part temporal 30
	down_postgres
	rm -f "$RUN/simulator.conf"
	bl_log "stack down"
}

status_line() { printf '%-10s %-5s %s\n' "$1" "$2" "$3"; }

cmd_status() {
	mkdirs
	local bad=0 mode="" port
	if running temporal && temporal_healthy; then
		status_line temporal up "127.0.0.1:$TEMPORAL_PORT, UI http://127.0.0.1:$TEMPORAL_UI_PORT (pid $(<"$(pidfile temporal)"))"
	elif running temporal; then
		status_line temporal down "process $(<"$(pidfile temporal)") alive but not SERVING"
		bad=1
	else
		status_line temporal down ""
		bad=1
	fi
	if running azurite && azurite_healthy; then
		status_line azurite up "http://127.0.0.1:$AZURITE_PORT/devstoreaccount1 (pid $(<"$(pidfile azurite)"))"
	else
		status_line azurite down ""
		bad=1
	fi
	[[ -f $RUN/pg.mode ]] && mode="$(<"$RUN/pg.mode")"
	port="$(pg_port)"
	if pg_tool pg_isready -q -h 127.0.0.1 -p "$port" -t 2 2>/dev/null; then
		if pg_private_running; then
			status_line postgres up "127.0.0.1:$port (private cluster in $(pg_private_dir))"
		else
			status_line postgres up "127.0.0.1:$port (machine's server)"
		fi
	else
		status_line postgres down "${mode:+($mode) }127.0.0.1:$port"
		bad=1
	fi
	if running simulator && sim_healthy; then
		status_line simulator up "http://127.0.0.1:$SIM_PORT (pid $(<"$(pidfile simulator)"); $(sed 's/ bin=.*//' "$RUN/simulator.conf" 2>/dev/null))"
	else
		status_line simulator down ""
		bad=1
	fi
	if running worker; then
		status_line worker up "pid $(<"$(pidfile worker)"), log .stack/logs/worker.log"
	else
		status_line worker down "(started by: scripts/stack.sh worker-start)"
	fi
	return "$bad"
}

cmd_env() {
	emit_env
}

cmd_worker_start() {
	lock
	[[ -f $ENV_FILE ]] || bl_die "no .stack/env: run scripts/stack.sh up first"
	bl_log "worker: go build ./worker"
	build_bin worker ./worker >"$LOGS/build-worker.log" 2>&1 || {
		log_tail "$LOGS/build-worker.log"
		bl_die "worker: build failed"
	}
	local sha
	sha="$(sha_of "$BIN/worker")"
	if running worker; then
		if [[ -f $RUN/worker.sha && $(<"$RUN/worker.sha") == "$sha" ]]; then
			bl_log "worker: already running (pid $(<"$(pidfile worker)"))"
			return 0
		fi
		bl_log "worker: binary changed; restarting"
		stop_part worker "${WORKER_STOP_TIMEOUT:-60}"
	fi
	(
		# shellcheck source=/dev/null
		source "$ENV_FILE"
		cd "$ROOT"
		start_bg worker "$LOGS/worker.log" "$BIN/worker"
	)
	printf '%s\n' "$sha" >"$RUN/worker.sha"
	# No health endpoint: it must still be alive after a moment.
	sleep 2
	running worker || {
		log_tail "$LOGS/worker.log"
		bl_die "worker: exited right after start"
	}
	bl_log "worker: running (pid $(<"$(pidfile worker)"), log .stack/logs/worker.log)"
}

cmd_worker_stop() {
	lock
	if running worker; then
		stop_part worker "${WORKER_STOP_TIMEOUT:-60}"
		bl_log "worker: stopped"
	else
		rm -f "$(pidfile worker)"
		bl_log "worker: not running"
	fi
	rm -f "$RUN/worker.sha"
}

# restart_postgres: restart whichever server the stack uses, keeping its data.
restart_postgres() {
	local mode="" ver
	[[ -f $RUN/pg.mode ]] && mode="$(<"$RUN/pg.mode")"
	if pg_private_running; then
		bl_log "postgres: restarting the private cluster"
		as_pg "$(pg_bindir)/pg_ctl" -D "$(pg_private_dir)" -m fast -w -t 60 restart >/dev/null 9>&-
	elif [[ $mode == external ]]; then
		ver="$(ls /etc/postgresql | sort -V | tail -n 1)"
		bl_log "postgres: restarting the machine's cluster $ver/main"
		pg_ctlcluster --skip-systemctl-redirect "$ver" main restart 9>&-
	else
		bl_die "postgres: not started by this stack (run: scripts/stack.sh up)"
	fi
	up_postgres
}

cmd_restart() {
	lock
	case "${1:-}" in
	azurite)
		stop_part azurite
		up_azurite
		;;
	postgres) restart_postgres ;;
	*) bl_die "restart: name azurite or postgres" ;;
	esac
}

usage() {
	sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

main() {
	cd "$ROOT"
	case "${1:-}" in
	up) cmd_up ;;
	down) cmd_down ;;
	status) cmd_status ;;
	env) cmd_env ;;
	worker-start) cmd_worker_start ;;
	worker-stop) cmd_worker_stop ;;
	restart) cmd_restart "${2:-}" ;;
	*) usage ;;
	esac
}

main "$@"
