"""The Python package against the command line, in one sitting on one machine: the default run
(250 steps, no mode check, nothing printed) started from Python and from `gantry train`,
alternating, and `Run.sample(10000)` against `gantry sample --n 10000 --tensors`.

    python bench/python_vs_cli.py [--repeats 2] [--gantry target/release/gantry]

Prints one line per measurement and the medians; run it on an otherwise idle machine."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import gantry


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def timed(f) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--gantry", default=str(Path(__file__).resolve().parents[1] / "target" / "release" / "gantry"))
    ap.add_argument("--samples", type=int, default=10000)
    a = ap.parse_args()
    env = {**os.environ, "GANTRY_OFFLINE": "1"}
    tmp = Path(tempfile.mkdtemp(prefix="gantry-bench-"))
    print(f"CPU: {cpu_model()}, {os.cpu_count()} threads; gantry {gantry.__version__}")
    cli_s, py_s = [], []
    for i in range(a.repeats):
        c = timed(lambda: subprocess.run([a.gantry, "train", "--out", str(tmp / f"cli{i}"), "--quiet", "--no-eval"], env=env, check=True, capture_output=True))
        p = timed(lambda: gantry.train(out=tmp / f"py{i}", progress=False, mode_check=False))
        cli_s.append(c)
        py_s.append(p)
        print(f"default run, repeat {i + 1}: gantry train {c:.1f} s, gantry.train() {p:.1f} s")
    c, p = statistics.median(cli_s), statistics.median(py_s)
    print(f"default run (250 steps), median: CLI {c:.1f} s, Python {p:.1f} s ({100 * (p / c - 1):+.1f} %)")
    run = gantry.open(tmp / "py0")
    n = a.samples
    cs, ps = [], []
    for i in range(3):
        cs.append(timed(lambda: subprocess.run([a.gantry, "sample", "--checkpoint", str(tmp / "py0"), "--n", str(n), "--tensors", str(tmp / "s.safetensors"), "--quiet"], env=env, check=True)))
        ps.append(timed(lambda: run.sample(n, seed=0)))
    print(f"sample({n}), median of 3: CLI (process start, open, sample, write z and x) {statistics.median(cs):.2f} s; Python Run.sample {statistics.median(ps):.2f} s")


if __name__ == "__main__":
    main()
