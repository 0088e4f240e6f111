#!/usr/bin/env bash
# The pipeline's executables as background processes on the native stack (no Docker): what
# `make demo`, `make start`, `make stop`, `make logs`, `make status` and `make restart-agents`
# run where no Docker engine answers. Logs go to DIR/logs/<name>.log, pids to DIR/pids.
#
#   infra/local/pipeline.sh start   [--dir DIR] [--bin DIR] [--no-prometheus]
#                                     stack up, seed, every executable
#   infra/local/pipeline.sh stop    [--dir DIR]               every executable, then the stack
#   infra/local/pipeline.sh restart-agents [--dir DIR] [--bin DIR]
#   infra/local/pipeline.sh status  [--dir DIR]
#   infra/local/pipeline.sh logs    [--dir DIR] [agents|sim|api|ingest]   follow logs, prefixed by name
#   infra/local/pipeline.sh seed    [--dir DIR] [--bin DIR]
#   infra/local/pipeline.sh eval    [--dir DIR] [--bin DIR]   the scorecard (make eval), below
#
#   --fresh (with start) wipes the stack's data first (a clean database and broker).
#
# `start` also runs sre-ingest (port 8200) and, when the Debian packages are installed,
# Prometheus and the Alertmanager as part of the stack (stack.sh up --prometheus: Prometheus
# scrapes every executable, evaluates infra/prometheus/alerts.yml and remote-writes to
# sre-ingest; the Alertmanager posts the alerts to sre-ingest's webhook); --no-prometheus leaves
# them out. An executable that is not built (sre-api, sre-ingest) is skipped with a message, so
# the rest of the pipeline still runs; `status` lists it as stopped.
#
# `eval` runs a separate pipeline in DIR/eval/run on a fresh stack (without Prometheus and the
# Alertmanager, whose alerts would add incidents the scorecard does not expect), with the
# simulator at SIM_SPEED=30 (or $SIM_SPEED) and SIM_SCHEDULE=off, runs sre-eval against it and stops
# it again, also when interrupted — twice, REMEDIATION_MODE=off then auto, into DIR/eval/{off,auto}/;
# compares them in DIR/eval/remediation.{md,json} (DIR/eval/scorecard.md is the auto pass's plus the
# comparison); then appends the detection scorecard of sre-eval-detection (DIR/eval/detection.{md,json}). It needs the
# executables' HTTP ports, so a running `make demo` must be stopped first.
#
# Environment for the executables: DIR/stack.env (from stack.sh), then ./.env if present (the
# executables read it themselves), then the caller's environment.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
cmd=""
dir="$repo/.local"
bin="$repo/build/bin"
what="agents"
fresh=0
prometheus=1
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    agents|sim|api|ingest) what="$1"; shift ;;
    # The command may come before or after the options (the Makefile puts --bin first).
    start|stop|restart-agents|seed|status|logs|eval) cmd="$1"; shift ;;
    --fresh) fresh=1; shift ;;
    --no-prometheus) prometheus=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -n '/^#/s/^# \{0,1\}//p'; exit 0 ;;
    *) echo "pipeline.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$dir/pids" "$dir/logs"
dir="$(cd "$dir" && pwd)"

AGENTS=(detection correlation investigation remediation communication postmortem)
OTHERS=(simulator api ingest)
# Each executable's HTTP port (ARCHITECTURE §7), set explicitly so that an HTTP_PORT in the
# caller's environment or .env cannot make them collide. stack.sh's Prometheus configuration
# (infra/prometheus/prometheus.yml turned to 127.0.0.1) scrapes and remote-writes to these.
declare -A PORTS=([detection]=9101 [correlation]=9102 [investigation]=9103 [remediation]=9104
                  [communication]=9105 [postmortem]=9106 [simulator]=8100 [api]=8000 [ingest]=8200)

say() { echo "pipeline: $*"; }

alive() { [ -f "$dir/pids/$1.pid" ] && kill -0 "$(cat "$dir/pids/$1.pid")" 2>/dev/null; }

load_env() {
  [ -f "$dir/stack.env" ] || { echo "pipeline: $dir/stack.env missing; is the stack up?" >&2; exit 1; }
  # shellcheck disable=SC1091
  source "$dir/stack.env"
  export SMTP_URL KAFKA_BOOTSTRAP_SERVERS REDIS_URL DATABASE_URL MAILDEV_URL
  export KNOWLEDGE_DIR="${KNOWLEDGE_DIR:-$repo/knowledge}"
  export TEMPLATES_DIR="${TEMPLATES_DIR:-$repo/agents/communication/templates}"
  export DETECTION_CONFIG="${DETECTION_CONFIG:-$repo/infra/detection/detection.json}"
  # The native pipeline closes the loop: remediation acts on the simulator (README "Automated
  # remediation"); REMEDIATION_MODE=approve (or off) in the environment or .env changes that.
  export REMEDIATION_MODE="${REMEDIATION_MODE:-auto}"
  export REMEDIATION_POLICY="${REMEDIATION_POLICY:-$repo/infra/remediation/policy.json}"
  export SIMULATOR_URL="${SIMULATOR_URL:-http://127.0.0.1:${PORTS[simulator]}}"
  # Chat, paging and webhook channels send when their variables are set (README "Notifications").
  export NOTIFY_ROUTING="${NOTIFY_ROUTING:-$repo/infra/communication/routing.json}"
}

start_one() {
  local name="$1" exe="$bin/sre-$1"
  if alive "$name"; then return; fi
  if [ ! -x "$exe" ]; then
    say "skipping $name: $exe not built"
    return
  fi
  # exec: the recorded pid is the executable's own, so `stop` signals it and not a wrapper.
  (cd "$repo" && HTTP_PORT="${PORTS[$name]}" exec nohup "$exe" >>"$dir/logs/$name.log" 2>&1) &
  echo $! >"$dir/pids/$name.pid"
}

stop_one() {
  local name="$1"
  [ -f "$dir/pids/$name.pid" ] || return 0
  local pid
  pid="$(cat "$dir/pids/$name.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { say "$name did not stop in 15 s; killing it"; kill -KILL "$pid" 2>/dev/null || true; }
  fi
  rm -f "$dir/pids/$name.pid"
}

seed() {
  load_env
  (cd "$repo" && "$bin/sre-knowledge" seed)
}

case "$cmd" in
  start)
    up_args=(--dir "$dir" --devbroker "$bin/sre-devbroker")
    [ "$fresh" = 1 ] && up_args+=(--fresh)
    [ "$prometheus" = 1 ] && up_args+=(--prometheus)
    "$repo/infra/local/stack.sh" up "${up_args[@]}"
    seed
    load_env
    for a in "${AGENTS[@]}"; do start_one "$a"; done
    # Before the simulator: Prometheus's remote write and the Alertmanager's webhook need it.
    start_one ingest
    start_one simulator
    start_one api
    sleep 1
    for n in "${AGENTS[@]}" "${OTHERS[@]}"; do
      if [ -f "$dir/pids/$n.pid" ] && ! alive "$n"; then
        echo "pipeline: sre-$n exited at start; last lines of $dir/logs/$n.log:" >&2
        tail -n 5 "$dir/logs/$n.log" >&2
      fi
    done
    say "started; logs in $dir/logs"
    ;;
  stop)
    for n in simulator api ingest "${AGENTS[@]}"; do stop_one "$n"; done
    "$repo/infra/local/stack.sh" down --dir "$dir"
    ;;
  restart-agents)
    load_env
    for a in "${AGENTS[@]}"; do stop_one "$a"; done
    for a in "${AGENTS[@]}"; do start_one "$a"; done
    say "agents restarted"
    ;;
  seed) seed ;;
  eval)
    [ -x "$bin/sre-eval" ] || { echo "pipeline: $bin/sre-eval not built; run 'make build'" >&2; exit 1; }
    for n in "${AGENTS[@]}" "${OTHERS[@]}"; do
      if alive "$n"; then
        echo "pipeline: sre-$n is running (make demo?); 'make stop' first: the evaluation needs its ports" >&2
        exit 1
      fi
    done
    # Two passes over the same scenarios (same seed), each on a fresh stack in DIR/eval/run:
    # REMEDIATION_MODE=off, then auto (the simulator executor). Each pass's scorecard goes to
    # DIR/eval/<mode>/scorecard.{md,json} and its logs to DIR/eval/<mode>/logs; the auto pass's
    # scorecard is also DIR/eval/scorecard.{md,json}, followed by the comparison (sre-eval
    # --compare: DIR/eval/remediation.{md,json}) and the detection section.
    run="$dir/eval/run"
    mkdir -p "$run"
    # Whichever pass's pipeline is up is stopped on exit; a Ctrl-C or TERM also ends the
    # evaluation there (without the exit, bash would carry on with the next pass).
    trap '"$0" stop --dir "$run" >/dev/null 2>&1 || true' EXIT
    trap 'trap - EXIT INT TERM; "$0" stop --dir "$run" >/dev/null 2>&1 || true; echo "pipeline: eval interrupted; stopped" >&2; exit 130' INT TERM
    rc=0
    for mode in off auto; do
      out="$dir/eval/$mode"
      rm -rf "$out"
      mkdir -p "$out"
      say "pass $mode: REMEDIATION_MODE=$mode"
      REMEDIATION_MODE="$mode" SIM_SCHEDULE=off SIM_SPEED="${SIM_SPEED:-30}" SIM_SEED="${SIM_SEED:-20261202}" \
        SIM_PROFILE="${SIM_PROFILE:-clean}" "$0" start --fresh --no-prometheus --dir "$run" --bin "$bin"
      # shellcheck disable=SC1091
      source "$run/stack.env"
      (cd "$repo" && "$bin/sre-eval" --sim-url "http://127.0.0.1:${PORTS[simulator]}" --out "$out" \
        --remediation-mode "$mode") || rc=$?
      "$0" stop --dir "$run"
      cp -r "$run/logs" "$out/logs"
      say "pass $mode: scorecard in $out/scorecard.md (logs of the run in $out/logs)"
    done
    trap - EXIT INT TERM
    cp "$dir/eval/auto/scorecard.md" "$dir/eval/scorecard.md"
    cp "$dir/eval/auto/scorecard.json" "$dir/eval/scorecard.json"
    # MTTR without and with remediation, side by side; exit status 3 when a target is missed.
    (cd "$repo" && "$bin/sre-eval" --compare "$dir/eval/off/scorecard.json" \
      "$dir/eval/auto/scorecard.json" --out "$dir/eval") || rc=$?
    # The detection section: the core alone over 30 simulated days, realistic and clean profiles.
    (cd "$repo" && "$bin/sre-eval-detection" --days 30 --md "$dir/eval/detection.md" \
      --json "$dir/eval/detection.json" >/dev/null) || rc=$?
    { echo; cat "$dir/eval/remediation.md"; echo; cat "$dir/eval/detection.md"; } >> "$dir/eval/scorecard.md"
    say "scorecard in $dir/eval/scorecard.md: the auto pass, then the comparison with the off pass"
    say "(from $dir/eval/remediation.md) and the detection section (from $dir/eval/detection.md)"
    exit "$rc"
    ;;
  status)
    "$repo/infra/local/stack.sh" status --dir "$dir"
    for n in "${AGENTS[@]}" "${OTHERS[@]}"; do
      if alive "$n"; then printf '  %-18s running  pid %-8s port %s\n' "sre-$n" "$(cat "$dir/pids/$n.pid")" "${PORTS[$n]}"
      else printf '  %-18s stopped\n' "sre-$n"; fi
    done
    ;;
  logs)
    case "$what" in
      agents) names=("${AGENTS[@]}") ;;
      sim) names=(simulator) ;;
      api) names=(api) ;;
      ingest) names=(ingest) ;;
    esac
    files=()
    for n in "${names[@]}"; do touch "$dir/logs/$n.log"; files+=("$dir/logs/$n.log"); done
    # tail -F prints "==> file <==" headers; turn them into a name prefix on every line. A shell
    # loop, not awk: Debian's default awk (mawk) reads a pipe in blocks, so nothing would show
    # until kilobytes of log had piled up.
    name=""
    tail -v -n 20 -F "${files[@]}" 2>/dev/null | while IFS= read -r line; do
      if [[ $line =~ ^==\>\ (.*)\ \<==$ ]]; then
        name=${BASH_REMATCH[1]##*/}; name=${name%.log}
      elif [ -n "$line" ]; then
        printf '%-13s | %s\n' "$name" "$line"
      fi
    done
    ;;
  *)
    echo "usage: pipeline.sh start|stop|restart-agents|seed|status|logs|eval [--dir DIR] [--bin DIR] [--fresh] [--no-prometheus]" >&2
    exit 2
    ;;
esac
