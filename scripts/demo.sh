#!/usr/bin/env bash
# scripts/demo.sh — `make demo`: bring the stack up, start the worker, run one batch over
# examples/ with the starter and wait for it, stop the worker. The stack stays up.
set -euo pipefail

BL_TAG="demo"
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$BL_ROOT"

T0=$(date +%s)
WORKER_STARTED=0

finish() {
	local rc=$?
	if ((WORKER_STARTED)); then
		bash scripts/stack.sh worker-stop || rc=1
	fi
	if ((rc == 0)); then
		bl_log "demo finished in $(bl_elapsed "$T0") (wall time)"
	else
		bl_log "demo FAILED after $(bl_elapsed "$T0") (logs in .stack/logs/)"
	fi
	bl_log "the stack is still running (Temporal UI http://127.0.0.1:8233); stop it with: make down"
	exit "$rc"
}
trap finish EXIT

bash scripts/stack.sh up
WORKER_STARTED=1
bash scripts/stack.sh worker-start

bl_log "go build ./starter"
go build -o .stack/bin/starter ./starter

set -a
# shellcheck source=/dev/null
source .stack/env
set +a

bl_log "starter run --input examples/rows.csv --wait"
.stack/bin/starter run \
	--input examples/rows.csv \
	--template examples/prompt.tmpl \
	--system-prompt-file examples/system.txt \
	--poll-interval "${DEMO_POLL_INTERVAL:-1s}" \
	--wait
