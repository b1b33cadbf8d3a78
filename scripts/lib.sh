# shellcheck shell=bash
# Shared helpers for scripts/*.sh. Source it; do not run it.

# Repository root (this file lives in <root>/scripts).
BL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export BL_ROOT

# Go lives at /usr/local/go on our machines; a non-login shell may lack it in PATH.
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
	PATH="/usr/local/go/bin:$PATH"
	export PATH
fi

bl_log() { printf '[%s] %s\n' "${BL_TAG:-batchledger}" "$*" >&2; }
bl_die() {
	bl_log "ERROR: $*"
	exit 1
}

# bl_elapsed START_EPOCH -> "1m23s"
bl_elapsed() {
	local s=$(($(date +%s) - $1))
	printf '%dm%02ds' $((s / 60)) $((s % 60))
}
