#!/usr/bin/env bash
# One fuzzing sitting of gantry's readers: `fuzz/run.sh SECONDS TARGET...` from the repository root.
# Each target fuzzes for SECONDS from its seeds and committed corpus (new inputs go to fuzz/work/TARGET),
# keeps going past crashes, hangs and over-allocations (saved under fuzz/artifacts/TARGET), and logs to
# fuzz/work/TARGET.log. Built on the stable toolchain without a sanitizer (safe Rust: a panic, an
# overflow with debug assertions on, or the allocation check in fuzz/src/readers.rs is the signal).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=$1; shift
pids=()
dict_of() {
  case $1 in
    pth) echo fuzz/dicts/pickle_zip.dict ;;
    npz) echo fuzz/dicts/npz.dict ;;
    safetensors|checkpoint|z) echo fuzz/dicts/safetensors.dict ;;
    config) echo fuzz/dicts/config.dict ;;
    *) echo "" ;;
  esac
}
for t in "$@"; do
  mkdir -p "fuzz/work/$t" "fuzz/corpus/$t" "fuzz/artifacts/$t"
  dict=$(dict_of "$t")
  # -timeout 5 and the RSS limit match tests/hostile_input.rs (5 s; the allowance is checked in the target).
  cargo fuzz run -s none -O -a "$t" "fuzz/work/$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
    -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
    -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -artifact_prefix="fuzz/artifacts/$t/" ${dict:+-dict=$dict} > "fuzz/work/$t.log" 2>&1 &
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || { rc=1; echo "fuzz/run.sh: a fuzzer failed (see fuzz/work/*.log)" >&2; }; done
# The targets' scratch folders (one per fork job).
for t in "$@"; do rm -rf /dev/shm/gantry-fuzz-"$t"-* "${TMPDIR:-/tmp}"/gantry-fuzz-"$t"-*; done
exit $rc
