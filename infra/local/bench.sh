#!/usr/bin/env bash
# make bench: an isolated native stack (free ports, state in .local/bench), the detection
# benchmark against it, then the stack down again. Figures are printed; nothing is asserted.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${1:-$repo/build/bin}"
dir="$repo/.local/bench"
trap '"$repo/infra/local/stack.sh" down --dir "$dir" >/dev/null' EXIT
"$repo/infra/local/stack.sh" up --dir "$dir" --any-ports --fresh --devbroker "$bin/sre-devbroker" >/dev/null
# shellcheck disable=SC1091
source "$dir/stack.env"
export KAFKA_BOOTSTRAP_SERVERS REDIS_URL DATABASE_URL
cd "$repo" && "$bin/sre-bench-detection"
if [ -n "${BENCH_REDIS_STATS:-}" ]; then redis-cli -u "$REDIS_URL" info commandstats | grep -E "evalsha|cmdstat_eval"; fi
