#!/usr/bin/env bash
# gantry on a GPU against PyTorch eager CUDA, one sitting: w1 w3 w4 w5 w6 at batch 64 and 256, alternating
# (bench/compare.sh with DEVICE/TORCH_DEVICE). For a machine with a GPU and no Rust toolchain: build here with
# `cargo build --release --features gpu`, carry target/release/gantry, and run there
#   GANTRY=target/release/gantry PYTHON=python3 bench/gpu.sh
# Env: DEVICE (wgpu), TORCH_DEVICE (cuda), BATCHES ("64 256"), WORKLOADS ("w1 w3 w4 w5 w6"), and compare.sh's
# PAIRS, STEPS, REPEATS (default here 2, 10, 3).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
export DEVICE=${DEVICE:-wgpu} TORCH_DEVICE=${TORCH_DEVICE:-cuda} PAIRS=${PAIRS:-2} STEPS=${STEPS:-10} REPEATS=${REPEATS:-3}
for batch in ${BATCHES:-64 256}; do
    echo "## batch $batch"
    # shellcheck disable=SC2086
    BATCH=$batch bash bench/compare.sh ${WORKLOADS:-w1 w3 w4 w5 w6}
done
