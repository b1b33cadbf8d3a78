#!/usr/bin/env bash
# scripts/test.sh — what `make test` and CI run: bring the local stack up (fast simulator),
# then gofmt, go vet, workflowcheck and the full go test suite with BATCHLEDGER_E2E=1.
# Exits non-zero if any step fails. With CI=true the stack is stopped on exit; locally it
# is left running (stop it with `make down`).
set -euo pipefail

BL_TAG="test"
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$BL_ROOT"

# workflowcheck: v0.6.0 is the newest the Go module proxy serves; it builds with Go 1.26 and
# analyses code using go.temporal.io/sdk v1.51.0.
WORKFLOWCHECK=go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0

# Fast simulator phases for tests (a caller's own values win).
export SIM_VALIDATING="${SIM_VALIDATING:-200ms}"
export SIM_IN_PROGRESS="${SIM_IN_PROGRESS:-500ms}"
export SIM_FINALIZING="${SIM_FINALIZING:-200ms}"
# fault_slow answers after this; the fault test's worker gives up on a request after 2s.
export SIM_SLOW_RESPONSE="${SIM_SLOW_RESPONSE:-6s}"

if [[ ${CI:-} == true || ${CI:-} == 1 ]]; then
	stop_stack() {
		local rc=$?
		bl_log "CI: stopping the stack"
		bash scripts/stack.sh down || true
		exit "$rc"
	}
	trap stop_stack EXIT
fi

T0=$(date +%s)
NAMES=()
RESULTS=()
FAILED=()

# record NAME RESULT START
record() {
	NAMES+=("$1")
	RESULTS+=("$2 ($(bl_elapsed "$3"))")
	[[ $2 == FAIL* ]] && FAILED+=("$1")
	return 0
}

banner() { printf '\n========== %s ==========\n' "$*"; }

go_files() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		# tracked plus new not-ignored files, so a local run catches them before commit
		git ls-files -co --exclude-standard -- '*.go'
	else
		find . -name '*.go' -not -path './.stack/*' -not -path '*/node_modules/*' | sed 's|^\./||'
	fi
}

# ---- 1. stack
banner "stack up (simulator: validating $SIM_VALIDATING, in progress $SIM_IN_PROGRESS, finalizing $SIM_FINALIZING)"
t=$(date +%s)
STACK_OK=1
if bash scripts/stack.sh up; then
	record "stack up" PASS "$t"
	# A worker left running by `make demo` would poll the same task queue as the tests.
	bash scripts/stack.sh worker-stop
else
	STACK_OK=0
	record "stack up" FAIL "$t"
fi

# ---- 2. gofmt
banner "gofmt -l"
t=$(date +%s)
mapfile -t files < <(go_files)
if ((${#files[@]} == 0)); then
	record gofmt "SKIP: no Go files" "$t"
else
	unformatted="$(gofmt -l "${files[@]}" 2>&1)" || true
	if [[ -n $unformatted ]]; then
		echo "not gofmt-formatted (run: make fmt):"
		printf '  %s\n' "$unformatted"
		record gofmt FAIL "$t"
	else
		echo "${#files[@]} Go files formatted"
		record gofmt PASS "$t"
	fi
fi

# ---- 3. go vet
banner "go vet ./..."
t=$(date +%s)
if go vet ./...; then record "go vet" PASS "$t"; else record "go vet" FAIL "$t"; fi

# ---- 4. workflowcheck
banner "workflowcheck ./workflows/..."
t=$(date +%s)
if ! compgen -G 'workflows/*.go' >/dev/null; then
	record workflowcheck "SKIP: no Go files in workflows/" "$t"
elif go run "$WORKFLOWCHECK" ./workflows/...; then
	record workflowcheck PASS "$t"
else
	record workflowcheck FAIL "$t"
fi

# ---- 5. go test
banner "BATCHLEDGER_E2E=1 go test -count=1 -timeout 30m ./..."
t=$(date +%s)
if ((STACK_OK == 0)); then
	record "go test" "FAIL: not run, the stack did not come up" "$t"
elif (
	set -a
	# shellcheck source=/dev/null
	source .stack/env
	set +a
	BATCHLEDGER_E2E=1 go test -count=1 -timeout 30m ./... 2>&1 | tee .stack/logs/go-test.log
); then
	record "go test" PASS "$t"
else
	record "go test" FAIL "$t"
fi

# ---- summary
banner "summary"
for i in "${!NAMES[@]}"; do
	printf '  %-14s %s\n' "${NAMES[$i]}" "${RESULTS[$i]}"
done
if ((${#FAILED[@]})); then
	printf 'test.sh: FAILED (%s) after %s; logs in .stack/logs/\n' "${FAILED[*]}" "$(bl_elapsed "$T0")"
	exit 1
fi
printf 'test.sh: all checks OK after %s\n' "$(bl_elapsed "$T0")"
if [[ ${CI:-} != true && ${CI:-} != 1 ]]; then
	echo "the stack is still running: make status / make down"
fi
