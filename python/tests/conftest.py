"""Shared fixtures: the `gantry` command line (GANTRY_BIN, else the workspace's release build), a
20-step run trained by it, safetensors read/write without extra packages, and test Inception weights."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(os.environ.get("GANTRY_GOLDEN_DIR", REPO.parent / "shared" / "golden"))


def gantry_bin() -> str:
    b = os.environ.get("GANTRY_BIN") or str(REPO / "target" / "release" / "gantry")
    if not os.path.exists(b):
        pytest.skip(f"the gantry binary is not built ({b}); run `cargo build --release` or set GANTRY_BIN")
    return b


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "GANTRY_OFFLINE": "1"}
    p = subprocess.run([gantry_bin(), *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert p.returncode == 0, f"gantry {' '.join(args)} failed:\n{p.stderr}"
    return p


_DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8}


def read_safetensors(path) -> dict:
    """The tensors of a safetensors file as numpy arrays (the format is a length, a JSON header, bytes)."""
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(body[a:b], dtype=_DTYPES[t["dtype"]]).reshape(t["shape"])
    return out


def write_safetensors(path, tensors: dict) -> None:
    header, blobs, offset = {}, [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + arr.nbytes]}
        blobs.append(arr.tobytes())
        offset += arr.nbytes
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("gantry")


@pytest.fixture(scope="session")
def cli_run(workdir) -> Path:
    """The default preset trained for 20 steps by the command line."""
    out = workdir / "cli20"
    cli("train", "--max-steps", "20", "--out", str(out), "--quiet", "--no-eval", cwd=workdir)
    return out


@pytest.fixture(scope="session")
def inception_weights(workdir) -> Path:
    """Inception weights of pytorch-fid's shapes with fixed, well-scaled values (pytorch-fid's own
    file is a 92 MB download; these exercise the same network)."""
    import gantry

    rng = np.random.default_rng(0)
    tensors = {}
    for name, shape in gantry._gantry.inception_state_dict_shapes():
        shape = tuple(shape)
        if name.endswith("running_var"):
            v = 1.0 + 0.5 * rng.random(shape)
        elif name.endswith("running_mean") or name.endswith("bn.bias"):
            v = 0.1 * rng.standard_normal(shape)
        elif name.endswith("bn.weight"):
            v = 1.0 + 0.1 * rng.standard_normal(shape)
        elif name.endswith("num_batches_tracked"):
            v = np.zeros(shape)
        else:
            fan_in = max(1, int(np.prod(shape[1:])) if len(shape) > 1 else 1)
            v = rng.standard_normal(shape) * np.sqrt(1.0 / fan_in)
        tensors[name] = v
    path = workdir / "inception.safetensors"
    write_safetensors(path, tensors)
    return path


def checkpoint_tensors(run_dir: Path) -> dict:
    return read_safetensors(Path(run_dir) / "checkpoints" / "last.safetensors")


def log_without_timing(run_dir: Path) -> list:
    """The run's log lines, less the wall-clock rate that differs between any two runs."""
    rows = []
    for line in (Path(run_dir) / "log.jsonl").read_text().splitlines():
        r = json.loads(line)
        r.get("scalars", r).pop("images_per_s", None)
        rows.append(r)
    return rows


def copy_run(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst
