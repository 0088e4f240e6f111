#!/usr/bin/env bash
# Builds the libFuzzer targets of tools/fuzz with clang++ and runs each for a bounded time.
#   tools/fuzz/run.sh [--build-dir DIR] [TARGET...]
# Targets: messages custom_scenario api_query api_stream llm_reply text (default: all).
# Environment:
#   FUZZ_SECONDS      seconds per target (default 20)
#   FUZZ_TIMEOUT      seconds one input may take before it counts as a hang (default 10)
#   FUZZ_RSS_MB       memory limit per target in MB (default 2048)
#   FUZZ_BUILD_JOBS   parallel compile jobs (default 2)
#   FUZZ_ARGS         extra libFuzzer flags (e.g. "-max_len=65536 -jobs=2")
#   FUZZ_CXX          the compiler (default: clang++ on PATH)
# Seeds come from tools/fuzz/corpus/<target> (read only); what a run discovers goes to
# DIR/corpus/<target>, crashing inputs to DIR/crashes/<target>/. Exit status 1 when a target
# crashes, hangs or runs out of memory (the input's path is printed), or when clang++ or
# libFuzzer's runtime is missing (the Debian package to install is named).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="$repo/build-fuzz"
all_targets=(messages custom_scenario api_query api_stream llm_reply text remote_write otlp)
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "fuzz: unknown option '$1'" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
seconds="${FUZZ_SECONDS:-20}"
timeout_s="${FUZZ_TIMEOUT:-10}"
rss_mb="${FUZZ_RSS_MB:-2048}"
jobs="${FUZZ_BUILD_JOBS:-2}"

# The toolchain, checked up front so that a missing package is a clear failure, never a skip.
cxx="${FUZZ_CXX:-$(command -v clang++ || command -v clang++-14 || true)}"
if [ -z "$cxx" ] || ! command -v "$cxx" > /dev/null; then
  echo "fuzz: FAILED: clang++ not found${cxx:+ ($cxx)}; install the Debian package 'clang'" \
       "(infra/local/install-deps installs it, role test)" >&2
  exit 1
fi
probe="$(mktemp -d)"
trap 'rm -rf "$probe"' EXIT
printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' \
  > "$probe/probe.cpp"
if ! "$cxx" -fsanitize=fuzzer,address,undefined "$probe/probe.cpp" -o "$probe/probe" \
     > "$probe/log" 2>&1; then
  echo "fuzz: FAILED: $cxx cannot link a libFuzzer target; install the Debian package" \
       "'libclang-rt-14-dev' (libFuzzer and sanitizer runtimes; infra/local/install-deps" \
       "installs it, role test):" >&2
  sed 's/^/  /' "$probe/log" >&2
  exit 1
fi

echo "fuzz: building ${targets[*]} with $cxx in $build"
mkdir -p "$build/logs"
cmake -S "$here" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" > "$build/logs/configure.log" 2>&1 ||
  { cat "$build/logs/configure.log" >&2; echo "fuzz: FAILED: cmake could not configure" >&2; exit 1; }
# shellcheck disable=SC2046
cmake --build "$build" -j"$jobs" --target $(printf 'fuzz_%s ' "${targets[@]}") \
  > "$build/logs/build.log" 2>&1 ||
  { tail -n 60 "$build/logs/build.log" >&2
    echo "fuzz: FAILED: the build failed (log: $build/logs/build.log)" >&2; exit 1; }

failed=0
summary=()
for t in "${targets[@]}"; do
  bin="$build/fuzz_$t"
  seeds="$here/corpus/$t"
  work="$build/corpus/$t"
  crashes="$build/crashes/$t"
  log="$build/logs/$t.log"
  mkdir -p "$work" "$crashes" "$(dirname "$log")"
  dict=()
  case "$t" in
    messages|api_stream|custom_scenario|otlp) dict=(-dict="$here/dicts/json.dict") ;;
    api_query) dict=(-dict="$here/dicts/api_query.dict") ;;
    llm_reply) dict=(-dict="$here/dicts/llm_reply.dict") ;;
  esac
  # shellcheck disable=SC2086
  if "$bin" -max_total_time="$seconds" -timeout="$timeout_s" -rss_limit_mb="$rss_mb" \
       -artifact_prefix="$crashes/" -print_final_stats=1 "${dict[@]}" ${FUZZ_ARGS:-} \
       "$work" "$seeds" > "$log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed=1
  fi
  # Figures from libFuzzer's last status line and final stats (absent when it stopped early).
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)"
  cov="$( (grep -o 'cov: [0-9]*' "$log" || true) | tail -n1 | cut -d' ' -f2)"
  ft="$( (grep -o 'ft: [0-9]*' "$log" || true) | tail -n1 | cut -d' ' -f2)"
  corp="$(find "$work" -type f | wc -l)"
  line="$(printf '%-16s %-6s %10s runs %7s/s  cov %5s  ft %6s  corpus %5s' \
          "$t" "$status" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$corp")"
  echo "fuzz: $line"
  summary+=("$line")
  if [ "$status" = FAILED ]; then
    input="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n1)"
    { grep -E -A25 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|runtime error:|fuzz property broken|ParseDictionaryFile' \
      "$log" || tail -n 20 "$log"; } | head -n 60 >&2
    echo "fuzz: $t FAILED; input: ${input:-none written (see $log)}" >&2
    echo "fuzz: reproduce with: $bin ${input:-<input>}" >&2
  fi
done
echo "fuzz: ${seconds}s per target; logs in $build/logs"
exit "$failed"
