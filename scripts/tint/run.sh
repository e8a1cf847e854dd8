#!/usr/bin/env bash
# scripts/tint/run.sh DIR: compile every shader, entry point and override set in DIR
# (DIR/*.wgsl, optional DIR/pipelines.jsonl) with Dawn/Tint in headless Chromium (see
# check.mjs). Installs what is missing first: Debian's chromium (and nodejs/npm) with
# apt, playwright-core with `npm ci` from package-lock.json into scripts/tint/node_modules
# (never a browser download of its own). Quiet when everything is installed. Run as root
# (apt), e.g. from .ci/run. Exit status: check.mjs's (0 all passed, 1 a failure, 2 setup).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
dir="$1"

# Runs a noisy install step, showing its output only when it fails.
quietly() {
    local log
    log="$(mktemp)"
    if ! "$@" >"$log" 2>&1; then
        echo "tint: failed: $*" >&2
        tail -n 40 "$log" >&2
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
}

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
    echo "tint: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    quietly apt-get update -qq
    quietly apt-get install -y -qq "${need[@]}"
fi

# npm ci when node_modules is missing or was installed from another package-lock.json.
stamp="$here/node_modules/.wgcnn-package-lock.sha256"
want="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
if [ ! -f "$here/node_modules/playwright-core/package.json" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "tint: npm ci (playwright-core)"
    (
        cd "$here"
        export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
        quietly npm ci --no-audit --no-fund --loglevel=error
    )
    echo "$want" >"$stamp"
fi

export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
exec node "$here/check.mjs" "$dir" </dev/null
