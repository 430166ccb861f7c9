#!/usr/bin/env bash
# gantry vs PyTorch on this machine, one sitting: A B A B ... (at least 3 pairs per workload).
# Usage: bench/compare.sh [WORKLOADS...]   (default: w1 w2 w3 w4 w5)
# Env: PAIRS (3), STEPS (10), REPEATS (3), THREADS (all cores), VENV (bench/.venv),
#      BASELINE=1 adds gantry with burn's own ops (GANTRY_KERNELS=burn) to each round.
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS=${PAIRS:-3}; STEPS=${STEPS:-10}; REPEATS=${REPEATS:-3}; THREADS=${THREADS:-$(nproc)}
VENV=${VENV:-bench/.venv}
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet torch numpy
fi
cargo build --release --quiet
WORKLOADS=("$@"); [ ${#WORKLOADS[@]} -eq 0 ] && WORKLOADS=(w1 w2 w3 w4 w5)
args=(--steps "$STEPS" --repeats "$REPEATS" --threads "$THREADS")
results=$(mktemp)
for w in "${WORKLOADS[@]}"; do
    for _ in $(seq "$PAIRS"); do
        echo "gantry $(./target/release/gantry bench "$w" "${args[@]}" --json)" >> "$results"
        echo "pytorch $("$VENV/bin/python" bench/pytorch/workloads.py "$w" "${args[@]}")" >> "$results"
        if [ "${BASELINE:-0}" = 1 ]; then
            echo "burn-ops $(GANTRY_KERNELS=burn ./target/release/gantry bench "$w" "${args[@]}" --json)" >> "$results"
        fi
    done
done
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
# The CPU class: AVX-512 or not (README keeps one table per class).
grep -qw avx512f /proc/cpuinfo && cpu="$cpu, AVX-512" || cpu="$cpu, no AVX-512"
torch_version=$("$VENV/bin/python" -c 'import torch; print(torch.__version__)')
python3 - "$results" "$cpu" "$THREADS" "$torch_version" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    who, js = line.split(" ", 1)
    r = json.loads(js)
    rows.setdefault(r["workload"], {}).setdefault(who, []).append(r)
first = next(r for d in rows.values() for r in d.get("gantry", []))
print(f"CPU: {sys.argv[2]}, {sys.argv[3]} threads, PyTorch {sys.argv[4]}; gantry's gemm: {first.get('gemm_isa', '?')}, kernels: {first.get('kernels_isa', '?')}")
baseline = any("burn-ops" in d for d in rows.values())
extra = " gantry with burn ops (GANTRY_KERNELS=burn) |" if baseline else ""
print("| workload | batch | gantry steps/s | PyTorch steps/s | gantry / PyTorch | gantry peak MiB | PyTorch peak MiB |" + extra)
print("| --- | --- | --- | --- | --- | --- | --- |" + (" --- |" if baseline else ""))
med = lambda rs: statistics.median(r["steps_per_s"] for r in rs)
for w, d in rows.items():
    g, p = med(d["gantry"]), med(d["pytorch"])
    gm = max(r["peak_rss_mib"] for r in d["gantry"]); pm = max(r["peak_rss_mib"] for r in d["pytorch"])
    b = f" {med(d['burn-ops']):.2f} ({med(d['burn-ops']) / p:.2f}x) |" if baseline else ""
    print(f"| {w} | {d['gantry'][0]['batch_size']} | {g:.2f} | {p:.2f} | {g / p:.2f}x | {gm:.0f} | {pm:.0f} |{b}")
PY
rm -f "$results"
