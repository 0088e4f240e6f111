#!/usr/bin/env bash
# The native dev stack: Redis, PostgreSQL, sre-devbroker (in-memory Kafka) and MailDev, started
# as plain processes with their state in one directory. What CI, the tests and the no-Docker demo
# run on. With --prometheus (the demo), also Prometheus and the Alertmanager.
#
#   infra/local/stack.sh up     [--dir DIR] [--any-ports] [--fresh] [--devbroker PATH] [--prometheus]
#   infra/local/stack.sh down   [--dir DIR] [--purge]
#   infra/local/stack.sh status [--dir DIR]
#   infra/local/stack.sh stop-service   redis|postgres|maildev [--dir DIR]
#   infra/local/stack.sh start-service  redis|postgres|maildev [--dir DIR]
#   infra/local/stack.sh pause-service  devbroker [--dir DIR]
#   infra/local/stack.sh resume-service devbroker [--dir DIR]
#
#   --dir DIR        state directory (default: .local in the repository)
#   --any-ports      skip the standard ports (6379, 5432, 1025, 8025); use free ones, and trade
#                    durability for speed (tests, benchmark): PostgreSQL without fsync, Redis
#                    saved only when it is stopped
#   --fresh          delete DIR's data first (a clean database, Redis, broker and mailbox)
#   --devbroker PATH the sre-devbroker binary (default: build/bin/sre-devbroker)
#   --prometheus     also Prometheus (9090) and the Alertmanager (9093) when /usr/bin/prometheus
#                    and /usr/bin/prometheus-alertmanager exist (Debian packages; skipped with a
#                    message otherwise), configured from infra/prometheus/ and infra/alertmanager/
#                    with every compose host:port turned into 127.0.0.1:port (the pipeline's
#                    fixed ports, infra/local/pipeline.sh): Prometheus scrapes the simulator, the
#                    agents, sre-api and sre-ingest, evaluates infra/prometheus/alerts.yml and
#                    remote-writes to sre-ingest; the Alertmanager posts alerts to sre-ingest's
#                    webhook. An INGEST_TOKEN in the environment (or ./.env) is sent by both.
#                    Generated configs in DIR/prometheus and DIR/alertmanager.
#   --purge          with down: also delete DIR
#
# `up` waits until every service answers, then writes DIR/stack.env with export lines for
# KAFKA_BOOTSTRAP_SERVERS, REDIS_URL, DATABASE_URL, SMTP_URL and MAILDEV_URL, and
# KAFKA_FETCH_WAIT_MAX_MS=10 (sre-devbroker answers an empty fetch only after the full wait), and
# PROMETHEUS_URL and ALERTMANAGER_URL when they run. `down`
# stops exactly the processes `up` started (by the pids in DIR/pids). Logs go to DIR/logs.
#
# Outages, for drills (tests/reliability/outage_drill_test.cpp), on a stack that is up:
# `stop-service` stops one service (PostgreSQL with a fast shutdown, which disconnects its
# clients); `start-service` starts it again on the port(s) it had, with the data it had, and waits
# until it answers (stack.env stays valid). Redis keeps its data in DIR/redis (an append-only file
# fsynced every second; with --any-ports a snapshot written when it stops), so the open-incident
# locks and the baselines survive a restart; PostgreSQL keeps its cluster in DIR/pg; MailDev keeps
# every message in DIR/maildev and reloads them at start. sre-devbroker cannot be restarted:
# librdkafka's mock cluster keeps every topic, offset and group in memory, loses them when it
# exits, and cannot bind the same port again. Its outage is a freeze instead: `pause-service`
# sends it SIGSTOP (connections stay open and nothing answers, as in a network partition) and
# `resume-service` SIGCONT; nothing is lost. `down` stops a paused broker too.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
usage() { sed -n '2,/^set -euo/p' "$0" | sed -n '/^#/s/^# \{0,1\}//p'; }
cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in -h|--help) usage; exit 0 ;; esac
dir="$repo/.local"
any_ports=0
fresh=0
purge=0
prometheus=0
devbroker="$repo/build/bin/sre-devbroker"
service=""
case "$cmd" in
  stop-service|start-service|pause-service|resume-service)
    if [ $# -gt 0 ] && [[ "$1" != -* ]]; then service="$1"; shift; fi ;;
esac
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --any-ports) any_ports=1; shift ;;
    --fresh) fresh=1; shift ;;
    --purge) purge=1; shift ;;
    --devbroker) devbroker="$2"; shift 2 ;;
    --prometheus) prometheus=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "stack.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
pids="$dir/pids"
logs="$dir/logs"

say() { echo "stack: $*"; }
die() { echo "stack: $*" >&2; exit 1; }

pg_bin() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$d" ] || die "PostgreSQL server binaries not found; run infra/local/install-deps"
  echo "$d"
}

# PostgreSQL refuses to run as root: run its binaries as the postgres user then.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pick_port STANDARD: the standard port when free (unless --any-ports), else a free one.
taken_ports=" "
pick_port() {
  local p="$1"
  if [ "$any_ports" = 0 ] && ! port_in_use "$p"; then
    taken_ports+="$p "
    echo "$p"
    return
  fi
  # Below the kernel's ephemeral range: outgoing connections and bind(0) (the tests' FreePort,
  # Prometheus, the devbroker) take their ports from it, and one of them can take a port between
  # the check here and the server's own bind (a PostgreSQL of a parallel test failed that way).
  local lo=20000 hi
  hi="$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
  [ "$hi" -gt $((lo + 2000)) ] 2>/dev/null || hi=32768
  for _ in $(seq 1 200); do
    p=$(( (RANDOM * 32768 + RANDOM) % (hi - lo) + lo ))
    if [[ "$taken_ports" != *" $p "* ]] && ! port_in_use "$p"; then
      taken_ports+="$p "
      echo "$p"
      return
    fi
  done
  die "no free port found"
}

alive() { [ -f "$pids/$1.pid" ] && kill -0 "$(cat "$pids/$1.pid")" 2>/dev/null; }

wait_for() {  # wait_for NAME SECONDS COMMAND...
  local name="$1" secs="$2"
  shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      echo "stack: $name did not answer within ${secs}s; last log lines:" >&2
      tail -n 20 "$logs/$name.log" >&2 2>/dev/null || true
      exit 1
    fi
    alive "$name" || { echo "stack: $name exited; log:" >&2; tail -n 20 "$logs/$name.log" >&2 || true; exit 1; }
    sleep 0.2
  done
}

# start_redis [PORT]: on PORT (a restart), else on a port picked now.
start_redis() {
  local port="${1:-}"
  [ -n "$port" ] || port="$(pick_port 6379)"
  mkdir -p "$dir/redis"
  command -v redis-server >/dev/null || die "redis-server not found; run infra/local/install-deps"
  # Redis keeps its data across a restart, as an operator's would: a Redis that came back empty
  # would have lost the open-incident locks (no TTL) and could let a second incident open for one
  # service. The append-only file (fsync every second) also survives a crash; with --any-ports
  # (tests, the benchmark) it would cost the detection benchmark a large part of Redis's
  # throughput, so those stacks only save a snapshot when Redis is stopped (SIGTERM).
  local persist=(--appendonly yes --appendfsync everysec)
  [ "$any_ports" = 1 ] && persist=(--appendonly no --shutdown-on-sigterm save)
  nohup redis-server --port "$port" --bind 127.0.0.1 --save '' "${persist[@]}" \
    --dir "$dir/redis" --daemonize no --maxmemory 512mb --maxmemory-policy volatile-lru \
    >>"$logs/redis.log" 2>&1 &
  echo $! >"$pids/redis.pid"
  wait_for redis 20 redis-cli -h 127.0.0.1 -p "$port" ping
  echo "$port" >"$dir/redis.port"
}

# start_postgres [PORT]: on PORT (a restart), else on a port picked now.
start_postgres() {
  local port="${1:-}" bin data sock
  [ -n "$port" ] || port="$(pick_port 5432)"
  bin="$(pg_bin)"
  data="$dir/pg"
  # The postgres user must reach the data directory; when DIR is not traversable for it
  # (e.g. under a private home), keep the cluster in /tmp and link it from DIR.
  if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$dir"; then
    if [ ! -L "$data" ]; then
      local tmp
      tmp="$(mktemp -d /tmp/sre-pg.XXXXXX)"
      chown postgres: "$tmp"
      ln -s "$tmp" "$data"
    fi
    data="$(readlink "$data")"
  fi
  sock="$data/sock"
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$data"
    as_pg "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 --no-sync >"$logs/postgres-initdb.log" 2>&1 ||
      { tail -n 20 "$logs/postgres-initdb.log" >&2; die "initdb failed"; }
  fi
  as_pg mkdir -p "$sock"
  touch "$logs/postgres.log"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$logs/postgres.log"
  local extra=()
  [ "$any_ports" = 1 ] && extra=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)
  if [ "$(id -u)" -eq 0 ]; then
    nohup runuser -u postgres -- "$bin/postgres" -D "$data" -p "$port" -k "$sock" \
      -c listen_addresses=127.0.0.1 -c max_connections=200 "${extra[@]}" >>"$logs/postgres.log" 2>&1 &
  else
    nohup "$bin/postgres" -D "$data" -p "$port" -k "$sock" \
      -c listen_addresses=127.0.0.1 -c max_connections=200 "${extra[@]}" >>"$logs/postgres.log" 2>&1 &
  fi
  echo $! >"$pids/postgres.pid"
  wait_for postgres 60 "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"
  # $! may be runuser; record the postmaster itself so `down` signals the right process.
  head -n 1 "$data/postmaster.pid" >"$pids/postgres.pid"
  # The role and database of DATABASE_URL's default (sre/sre/sre).
  as_pg "$bin/../bin/psql" -q -h "$sock" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
SELECT 'CREATE ROLE sre LOGIN PASSWORD ''sre'''
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sre') \gexec
SELECT 'CREATE DATABASE sre OWNER sre'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'sre') \gexec
SQL
  echo "$port" >"$dir/postgres.port"
}

start_devbroker() {
  [ -x "$devbroker" ] || die "sre-devbroker not found at $devbroker; run 'make build' first"
  rm -f "$dir/kafka.bootstrap"
  # A session of its own: pause-service stops it with SIGSTOP, and a stopped process in a process
  # group that becomes orphaned (e.g. the shell that ran `up` exits) gets SIGHUP and SIGCONT from
  # the kernel, which would end the pause early.
  nohup setsid "$devbroker" --bootstrap-file "$dir/kafka.bootstrap" >"$logs/devbroker.log" 2>&1 &
  echo $! >"$pids/devbroker.pid"
  wait_for devbroker 20 test -s "$dir/kafka.bootstrap"
}

# maildev_reloaded WEB_PORT: MailDev lists at least as many messages as DIR/maildev holds (it
# reloads them asynchronously after it starts answering).
maildev_reloaded() {
  local want
  want="$(find "$dir/maildev" -maxdepth 1 -name '*.eml' | wc -l)"
  curl -sf "http://127.0.0.1:$1/email" | node -e '
    let s = "";
    process.stdin.on("data", (d) => (s += d)).on("end", () =>
      process.exit(JSON.parse(s).length >= Number(process.argv[1]) ? 0 : 1));' "$want"
}

# start_maildev [SMTP_PORT WEB_PORT]: on those ports (a restart), else on ports picked now.
start_maildev() {
  local smtp="${1:-}" web="${2:-}" bin
  bin="$repo/.tools/maildev/node_modules/.bin/maildev"
  [ -x "$bin" ] || die "maildev not found at $bin; run infra/local/install-deps"
  [ -n "$smtp" ] || smtp="$(pick_port 1025)"
  [ -n "$web" ] || web="$(pick_port 8025)"
  # --mail-directory: every message is kept as DIR/maildev/<id>.eml and reloaded at start.
  mkdir -p "$dir/maildev"
  nohup "$bin" --smtp "$smtp" --web "$web" --ip 127.0.0.1 --web-ip 127.0.0.1 \
    --mail-directory "$dir/maildev" >>"$logs/maildev.log" 2>&1 &
  echo $! >"$pids/maildev.pid"
  wait_for maildev 30 curl -sf "http://127.0.0.1:$web/email"
  wait_for maildev 30 maildev_reloaded "$web"
  echo "$smtp" >"$dir/smtp.port"
  echo "$web" >"$dir/maildev.port"
}

# The bearer token sre-ingest wants, if any: INGEST_TOKEN of the environment, else of ./.env.
ingest_token() {
  if [ -n "${INGEST_TOKEN:-}" ]; then echo "$INGEST_TOKEN"; return; fi
  if [ -f "$repo/.env" ]; then sed -n 's/^INGEST_TOKEN=//p' "$repo/.env" | tail -n 1 | tr -d "\"'"; fi
}

# to_localhost AM_PORT: the compose configuration on stdin with every compose service's host:port
# turned into 127.0.0.1:port, and the Alertmanager's into 127.0.0.1:AM_PORT.
to_localhost() {
  sed -E -e "s#alertmanager:9093#127.0.0.1:$1#g" \
    -e "s#([ '/])(simulator|detection|correlation|investigation|remediation|communication|postmortem|api|sre-ingest):([0-9]+)#\1127.0.0.1:\3#g"
}

start_alertmanager() {
  local port token
  port="$(pick_port 9093)"
  mkdir -p "$dir/alertmanager/data"
  to_localhost "$port" <"$repo/infra/alertmanager/alertmanager.yml" >"$dir/alertmanager/alertmanager.yml"
  token="$(ingest_token)"
  if [ -n "$token" ]; then
    (umask 077 && printf '%s' "$token" >"$dir/alertmanager/ingest_token")
    # The file's commented http_config block, uncommented and pointed at the token file.
    sed -i -E -e 's@^( *)# (http_config:|  authorization:|    type: Bearer)$@\1\2@' \
      -e "s@^( *)#     credentials_file: .*@\1    credentials_file: $dir/alertmanager/ingest_token@" \
      "$dir/alertmanager/alertmanager.yml"
  fi
  if command -v amtool >/dev/null; then
    amtool check-config "$dir/alertmanager/alertmanager.yml" >"$logs/alertmanager-check.log" 2>&1 ||
      { cat "$logs/alertmanager-check.log" >&2; die "generated $dir/alertmanager/alertmanager.yml is invalid"; }
  fi
  # An empty --cluster.listen-address: a single instance, no HA gossip on 9094.
  nohup /usr/bin/prometheus-alertmanager --config.file="$dir/alertmanager/alertmanager.yml" \
    --storage.path="$dir/alertmanager/data" --web.listen-address="127.0.0.1:$port" \
    --web.external-url="http://127.0.0.1:$port/" --cluster.listen-address= \
    >>"$logs/alertmanager.log" 2>&1 &
  echo $! >"$pids/alertmanager.pid"
  wait_for alertmanager 30 curl -sf "http://127.0.0.1:$port/-/ready"
  echo "$port" >"$dir/alertmanager.port"
}

start_prometheus() {
  local port token
  port="$(pick_port 9090)"
  mkdir -p "$dir/prometheus/data"
  to_localhost "$(cat "$dir/alertmanager.port")" <"$repo/infra/prometheus/prometheus.yml" \
    >"$dir/prometheus/prometheus.yml"
  cp "$repo/infra/prometheus/alerts.yml" "$dir/prometheus/alerts.yml"
  token="$(ingest_token)"
  if [ -n "$token" ]; then
    (umask 077 && printf '%s' "$token" >"$dir/prometheus/ingest_token")
    sed -i -E "s@^(  - url: http://127.0.0.1:[0-9]+/api/v1/write)\$@\1\n    authorization: {type: Bearer, credentials_file: $dir/prometheus/ingest_token}@" \
      "$dir/prometheus/prometheus.yml"
  fi
  if command -v promtool >/dev/null; then
    promtool check config "$dir/prometheus/prometheus.yml" >"$logs/prometheus-check.log" 2>&1 ||
      { cat "$logs/prometheus-check.log" >&2; die "generated $dir/prometheus/prometheus.yml is invalid"; }
  fi
  # flush-deadline: at shutdown, give up on a remote write sre-ingest does not take within 3 s
  # (the default waits a minute, longer than `down` does).
  nohup /usr/bin/prometheus --config.file="$dir/prometheus/prometheus.yml" \
    --storage.tsdb.path="$dir/prometheus/data" --web.listen-address="127.0.0.1:$port" \
    --web.external-url="http://127.0.0.1:$port/" --storage.remote.flush-deadline=3s \
    >>"$logs/prometheus.log" 2>&1 &
  echo $! >"$pids/prometheus.pid"
  wait_for prometheus 60 curl -sf "http://127.0.0.1:$port/-/ready"
  echo "$port" >"$dir/prometheus.port"
}

write_env() {
  cat >"$dir/stack.env.tmp" <<EOF
export KAFKA_BOOTSTRAP_SERVERS=$(tr -d '\n' <"$dir/kafka.bootstrap")
export REDIS_URL=redis://127.0.0.1:$(cat "$dir/redis.port")/0
export DATABASE_URL=postgresql://sre:sre@127.0.0.1:$(cat "$dir/postgres.port")/sre
export SMTP_URL=smtp://127.0.0.1:$(cat "$dir/smtp.port")
export MAILDEV_URL=http://127.0.0.1:$(cat "$dir/maildev.port")
export KAFKA_FETCH_WAIT_MAX_MS=10
EOF
  if alive prometheus; then
    echo "export PROMETHEUS_URL=http://127.0.0.1:$(cat "$dir/prometheus.port")" >>"$dir/stack.env.tmp"
  fi
  if alive alertmanager; then
    echo "export ALERTMANAGER_URL=http://127.0.0.1:$(cat "$dir/alertmanager.port")" >>"$dir/stack.env.tmp"
  fi
  mv "$dir/stack.env.tmp" "$dir/stack.env"
}

stop_one() {
  local name="$1" sig="${2:-TERM}"
  [ -f "$pids/$name.pid" ] || return 0
  local pid
  pid="$(cat "$pids/$name.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -"$sig" "$pid" 2>/dev/null || true
    kill -CONT "$pid" 2>/dev/null || true  # a paused process acts on the signal only once resumed
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      say "$name ($pid) did not stop; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pids/$name.pid"
}

paused() { alive "$1" && [ "$(awk '{print $3}' "/proc/$(cat "$pids/$1.pid")/stat" 2>/dev/null)" = T ]; }

# saved_port FILE: the port a service of this stack had (start-service reuses it).
saved_port() {
  [ -s "$dir/$1" ] || die "no $1 in $dir: was the stack ever up there?"
  local p
  p="$(cat "$dir/$1")"
  port_in_use "$p" && die "port $p (from $1) is taken by another process"
  echo "$p"
}

need_service() {  # need_service ALLOWED...: checks NAME against the allowed services
  local allowed=" $* "
  [ -n "$service" ] || die "$cmd needs a service name: one of$allowed(see --help)"
  [[ "$allowed" == *" $service "* ]] || die "$cmd: '$service' is not one of$allowed(see --help)"
  [ -f "$dir/stack.env" ] || die "no stack is up in $dir"
}

case "$cmd" in
  up)
    if [ "$fresh" = 1 ]; then
      "$0" down --dir "$dir" >/dev/null 2>&1 || true
      if [ -L "$dir/pg" ]; then rm -rf "$(readlink "$dir/pg")"; fi
      rm -rf "$dir/pg" "$dir/redis" "$dir/maildev" "$dir/logs" "$dir"/*.port "$dir/stack.env" "$dir/kafka.bootstrap" \
        "$dir/prometheus" "$dir/alertmanager"
    fi
    mkdir -p "$pids" "$logs"
    echo "$any_ports" >"$dir/any-ports"  # start-service restarts with the same settings
    alive redis || start_redis
    alive postgres || start_postgres
    alive devbroker || start_devbroker
    alive maildev || start_maildev
    if [ "$prometheus" = 1 ]; then
      if [ -x /usr/bin/prometheus ] && [ -x /usr/bin/prometheus-alertmanager ]; then
        alive alertmanager || start_alertmanager
        alive prometheus || start_prometheus
      else
        say "skipping Prometheus and the Alertmanager: /usr/bin/prometheus or /usr/bin/prometheus-alertmanager is not installed (infra/local/install-deps)"
      fi
    fi
    write_env
    say "up; environment in $dir/stack.env"
    sed 's/^export /  /' "$dir/stack.env"
    ;;
  stop-service)
    need_service redis postgres maildev
    if ! alive "$service"; then say "$service is not running"; exit 0; fi
    case "$service" in
      postgres) stop_one postgres INT ;;  # fast shutdown: disconnect clients, then stop
      *) stop_one "$service" ;;
    esac
    say "$service stopped"
    ;;
  start-service)
    need_service redis postgres maildev
    if alive "$service"; then say "$service is already running"; exit 0; fi
    mkdir -p "$pids" "$logs"
    any_ports="$(cat "$dir/any-ports" 2>/dev/null || echo 0)"
    case "$service" in
      redis)
        port="$(saved_port redis.port)" || exit 1
        start_redis "$port" ;;
      postgres)
        port="$(saved_port postgres.port)" || exit 1
        start_postgres "$port" ;;
      maildev)
        smtp="$(saved_port smtp.port)" || exit 1
        web="$(saved_port maildev.port)" || exit 1
        start_maildev "$smtp" "$web" ;;
    esac
    say "$service started"
    ;;
  pause-service|resume-service)
    need_service devbroker
    alive devbroker || die "devbroker is not running"
    if [ "$cmd" = pause-service ]; then
      kill -STOP "$(cat "$pids/devbroker.pid")"
      say "devbroker paused (SIGSTOP): it accepts nothing until resume-service"
    else
      kill -CONT "$(cat "$pids/devbroker.pid")"
      say "devbroker resumed"
    fi
    ;;
  down)
    stop_one prometheus
    stop_one alertmanager
    stop_one maildev
    stop_one devbroker
    stop_one postgres INT  # fast shutdown: disconnect clients, then stop
    stop_one redis
    rm -f "$dir/stack.env"
    if [ "$purge" = 1 ]; then
      if [ -L "$dir/pg" ]; then rm -rf "$(readlink "$dir/pg")"; fi
      rm -rf "$dir"
    fi
    say "down"
    ;;
  status)
    for name in redis postgres devbroker maildev; do
      port=""
      case "$name" in
        devbroker) port="$(cat "$dir/kafka.bootstrap" 2>/dev/null || true)" ;;
        maildev) port="smtp $(cat "$dir/smtp.port" 2>/dev/null || true), web $(cat "$dir/maildev.port" 2>/dev/null || true)" ;;
        *) port="$(cat "$dir/$name.port" 2>/dev/null || true)" ;;
      esac
      if paused "$name"; then
        printf '  %-12s paused   pid %-8s %s\n' "$name" "$(cat "$pids/$name.pid")" "$port"
      elif alive "$name"; then
        printf '  %-12s running  pid %-8s %s\n' "$name" "$(cat "$pids/$name.pid")" "$port"
      else
        printf '  %-12s stopped\n' "$name"
      fi
    done
    # Listed once they have run in DIR (up --prometheus).
    for name in prometheus alertmanager; do
      [ -f "$dir/$name.port" ] || continue
      if alive "$name"; then
        printf '  %-12s running  pid %-8s http://127.0.0.1:%s\n' "$name" "$(cat "$pids/$name.pid")" "$(cat "$dir/$name.port")"
      else
        printf '  %-12s stopped\n' "$name"
      fi
    done
    ;;
  *)
    echo "usage: stack.sh up|down|status|stop-service|start-service|pause-service|resume-service [NAME] [--dir DIR] [--any-ports] [--fresh] [--purge] [--devbroker PATH] (see --help)" >&2
    exit 2
    ;;
esac
