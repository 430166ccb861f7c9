#!/usr/bin/env bash
# gantry vs PyTorch on this machine, one sitting: A B A B ... (at least 3 pairs per workload).
# Usage: bench/compare.sh [WORKLOADS...]   (default: w1 w2 w3 w4 w5)
# Env: PAIRS (3), STEPS (10), REPEATS (3), THREADS (all cores), VENV (bench/.venv),
#      BASELINE=1 adds gantry with burn's own ops (GANTRY_KERNELS=burn) to each round.
#      On a GPU: DEVICE=wgpu (gantry's --device; a binary built with --features gpu) and TORCH_DEVICE=cuda;
#      GANTRY=path/to/gantry uses that binary instead of building one (machines without a Rust toolchain);
#      PYTHON=path uses that interpreter's torch instead of a venv; BATCH=N overrides each workload's batch.
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS=${PAIRS:-3}; STEPS=${STEPS:-10}; REPEATS=${REPEATS:-3}; THREADS=${THREADS:-$(nproc)}
VENV=${VENV:-bench/.venv}
PYTHON=${PYTHON:-$VENV/bin/python}
if [ "$PYTHON" = "$VENV/bin/python" ] && { [ ! -x "$PYTHON" ] || ! "$PYTHON" -c 'import torch' 2>/dev/null; }; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet torch numpy
fi
GANTRY=${GANTRY:-}
[ -z "$GANTRY" ] && { cargo build --release --quiet; GANTRY=./target/release/gantry; }
WORKLOADS=("$@"); [ ${#WORKLOADS[@]} -eq 0 ] && WORKLOADS=(w1 w2 w3 w4 w5)
args=(--steps "$STEPS" --repeats "$REPEATS" --threads "$THREADS")
[ -n "${BATCH:-}" ] && args+=(--batch-size "$BATCH")
gantry_args=("${args[@]}" --device "${DEVICE:-cpu}")
torch_args=("${args[@]}" --device "${TORCH_DEVICE:-cpu}")
results=$(mktemp)
for w in "${WORKLOADS[@]}"; do
    for _ in $(seq "$PAIRS"); do
        echo "gantry $("$GANTRY" bench "$w" "${gantry_args[@]}" --json)" >> "$results"
        echo "pytorch $("$PYTHON" bench/pytorch/workloads.py "$w" "${torch_args[@]}")" >> "$results"
        if [ "${BASELINE:-0}" = 1 ]; then
            echo "burn-ops $(GANTRY_KERNELS=burn "$GANTRY" bench "$w" "${gantry_args[@]}" --json)" >> "$results"
        fi
    done
done
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
# The CPU class: AVX-512 or not (README keeps one table per class).
grep -qw avx512f /proc/cpuinfo && cpu="$cpu, AVX-512" || cpu="$cpu, no AVX-512"
torch_version=$("$PYTHON" -c 'import torch; print(torch.__version__)')
python3 - "$results" "$cpu" "$THREADS" "$torch_version" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    who, js = line.split(" ", 1)
    r = json.loads(js)
    rows.setdefault(r["workload"], {}).setdefault(who, []).append(r)
first = next(r for d in rows.values() for r in d.get("gantry", []))
print(f"CPU: {sys.argv[2]}, {sys.argv[3]} threads, PyTorch {sys.argv[4]}; gantry's gemm: {first.get('gemm_isa', '?')}, kernels: {first.get('kernels_isa', '?')}")
torch_first = next(r for d in rows.values() for r in d.get("pytorch", []))
if not first.get("device", "cpu").startswith("cpu") or torch_first.get("device", "cpu") != "cpu":
    print(f"gantry on {first.get('device', 'cpu')}; PyTorch on {torch_first.get('device')} {torch_first.get('gpu', '')}")
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
