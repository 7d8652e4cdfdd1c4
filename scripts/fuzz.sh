#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -DMOSS_FUZZ=ON) and runs each for a bounded time with seed
# corpora taken from tests/fixtures/formats. Crashing inputs are left in build-fuzz/artifacts/;
# turn each into a regression test (tests/formats, or a hand-picked case of an oracle script).
# The seed is fixed (MOSS_FUZZ_SEED, default 1) so that CI explores the same inputs on every run
# and a red CI means a regression, not a lucky draw; explore with other seeds and longer runs
# locally (MOSS_FUZZ_SEED=$RANDOM bash scripts/fuzz.sh 600).
# Usage: bash scripts/fuzz.sh [seconds per target, default 30] [target ...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-30}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(fuzz_gguf fuzz_safetensors fuzz_torch_zip fuzz_hf_config fuzz_tokenizer fuzz_tools); fi
build=build-fuzz
fx=tests/fixtures/formats

CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DMOSS_FUZZ=ON -DMOSS_TESTS=OFF -DMOSS_BENCH=OFF >/dev/null
ninja -C "$build" -j"${MOSS_JOBS:-2}" "${targets[@]}"

seed() {  # seed <target> <files...>
  local dir="$build/corpus/$1"
  shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp -f "$f" "$dir/seed_$(basename "$(dirname "$f")")_$(basename "$f")"; done
}
seed fuzz_gguf "$fx"/seed/*.gguf
seed fuzz_safetensors "$fx"/hf_sharded_safetensors_f16/*.safetensors
seed fuzz_torch_zip "$fx"/bad/*.bin
# hf_config: the six files of one folder joined with NUL bytes, in the order the target splits them.
mkdir -p "$build/corpus/fuzz_hf_config"
d="$fx/hf_bin_f16"
{
  cat "$d/config.json"; printf '\0'; cat "$d/vocab.json"; printf '\0'; cat "$d/merges.txt"; printf '\0'
  cat "$d/added_tokens.json"; printf '\0'; cat "$d/special_tokens_map.json"; printf '\0'; cat "$d/tokenizer_config.json"
} > "$build/corpus/fuzz_hf_config/seed_folder"

# text targets: a few typical inputs (Commands lines, arithmetic, equations, chat text with markers)
mkdir -p "$build/corpus/fuzz_tools" "$build/corpus/fuzz_tokenizer"
printf '%s' 'Calculate("2^10"), Search("x y"), Solve("x+y=3;x-y=1")' > "$build/corpus/fuzz_tools/seed_calls"
printf '%s' '1. Calculate("sqrt(2)*pi")  # note' > "$build/corpus/fuzz_tools/seed_numbered"
printf '%s' '9^9^9 // 3 + ceil(2.5) % 7' > "$build/corpus/fuzz_tools/seed_calc"
printf '%s' '100*pi=4/3*pi*r^3' > "$build/corpus/fuzz_tools/seed_solve"
printf '%s' $'<|Human|>: hi<eoh>\n<|MOSS|>:    indented\t\tok 中文 <eom>' > "$build/corpus/fuzz_tokenizer/seed_chat"

mkdir -p "$build/artifacts"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
status=0
for t in "${targets[@]}"; do
  echo "== $t: ${secs}s"
  if ! "$build/fuzz/$t" "$build/corpus/$t" -max_total_time="$secs" -seed="${MOSS_FUZZ_SEED:-1}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -artifact_prefix="$build/artifacts/$t-" -print_final_stats=1 2>"$build/$t.log"; then
    echo "!! $t found a problem; see $build/$t.log and $build/artifacts/"
    tail -40 "$build/$t.log"
    status=1
  else
    grep -E "stat::number_of_executed_units|cov:" "$build/$t.log" | tail -2
  fi
done
exit $status
