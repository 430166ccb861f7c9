"""The Python package against the command line and PyTorch's reference values: the same runs, the
same samples, the same metrics; every bad input an exception with gantry's message."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import gantry
from conftest import GOLDEN, checkpoint_tensors, cli, copy_run, log_without_timing, read_safetensors


def assert_same_tensors(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        assert np.array_equal(a[k], b[k]), f"tensor {k} differs"


# --- training -------------------------------------------------------------------------------

def test_a_run_from_python_equals_gantry_train(cli_run, workdir):
    run = gantry.train(max_steps=20, out=workdir / "py20", progress=False, mode_check=False)
    assert run.step == 20
    assert log_without_timing(workdir / "py20") == log_without_timing(cli_run)
    assert_same_tensors(checkpoint_tensors(workdir / "py20"), checkpoint_tensors(cli_run))
    assert (workdir / "py20" / "config.toml").read_text() == (cli_run / "config.toml").read_text()


def test_trainer_steps_return_the_steps_scalars(workdir):
    t = gantry.Trainer(max_steps=3, seed=1)
    assert t.total_steps == 3 and t.steps_done == 0
    records = [t.step() for _ in range(3)]
    assert [r["step"] for r in records] == [1, 2, 3]
    for r in records:
        for k in ("loss_d", "loss_g", "d_real", "d_fake", "images_per_s"):
            assert isinstance(r[k], float) and np.isfinite(r[k]), k
    assert t.config["seed"] == 1 and t.config["max_steps"] == 3


def test_callbacks_receive_every_event(workdir):
    events = []
    gantry.train(max_steps=4, out=workdir / "events", progress=False, mode_check=False, callbacks=[events.append])
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("step") == 4
    steps = [e for e in events if e["event"] == "step"]
    assert [e["step"] for e in steps] == [1, 2, 3, 4] and all("loss_g" in e for e in steps)
    assert events[-1]["outcome"] == "stopped_at_max_steps"


def test_a_callback_that_raises_stops_the_run_with_its_exception(workdir):
    class Stop(RuntimeError):
        pass

    def cb(ev):
        if ev["event"] == "step" and ev["step"] == 3:
            raise Stop("enough at step 3")

    with pytest.raises(Stop, match="enough at step 3"):
        gantry.train(max_steps=10, out=workdir / "raises", progress=False, mode_check=False, callbacks=[cb])
    # The run stopped there: the log ends at step 3.
    assert [r["step"] for r in log_without_timing(workdir / "raises")][-1] == 3


def test_an_interrupt_saves_a_checkpoint_that_resumes_exactly(cli_run, workdir):
    out = workdir / "interrupted"

    def interrupt_at_7(ev):
        if ev["event"] == "step" and ev["step"] == 7:
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C or "interrupt kernel" sends

    # Python turns SIGINT into KeyboardInterrupt only where it was not ignored when it started (a
    # job started in the background by a non-interactive shell inherits SIG_IGN); a terminal or a
    # Jupyter kernel has Python's handler, which this puts back.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            gantry.train(max_steps=20, out=out, progress=False, mode_check=False, callbacks=[interrupt_at_7])
    finally:
        signal.signal(signal.SIGINT, previous)
    stopped = gantry.open(out)
    assert 7 <= stopped.step < 20, stopped.step
    t = gantry.Trainer.resume(out)
    assert t.steps_done == stopped.step
    run = t.run(progress=False, mode_check=False)
    assert run.step == 20
    assert log_without_timing(out) == log_without_timing(cli_run)
    assert_same_tensors(checkpoint_tensors(out), checkpoint_tensors(cli_run))


def test_the_gil_is_released_while_rust_trains(workdir):
    t = gantry.Trainer(max_steps=6)
    worker = threading.Thread(target=lambda: t.run(workdir / "gil", progress=False, mode_check=False))
    ticks = 0
    worker.start()
    while worker.is_alive():
        ticks += 1
        time.sleep(0.001)
    assert ticks > 50, f"the main thread ran only {ticks} times while training"


# --- a trained run -----------------------------------------------------------------------------

def test_sample_equals_gantry_sample(cli_run, workdir):
    run = gantry.open(cli_run)
    cli("sample", "--checkpoint", str(cli_run), "--n", "12", "--seed", "5", "--tensors", str(workdir / "s.safetensors"), "--grid", str(workdir / "s.png"), "--quiet", cwd=workdir)
    x = run.sample(12, seed=5)
    assert np.array_equal(x, read_safetensors(workdir / "s.safetensors")["x"])
    # Pixel for pixel as the command writes them (PNG quantisation).
    cli("sample", "--checkpoint", str(cli_run), "--n", "12", "--seed", "5", "--out-dir", str(workdir / "pngs"), "--quiet", cwd=workdir)
    assert len(os.listdir(workdir / "pngs")) == 12
    assert not np.array_equal(x, run.sample(12, seed=6))


def test_arrays_have_the_documented_shapes_dtypes_and_ranges(cli_run):
    run = gantry.open(cli_run)
    assert run.x_shape == (1, 28, 28) and run.z_shape == (96, 1, 1)
    x = run.sample(10, seed=0)
    assert x.shape == (10, 1, 28, 28) and x.dtype == np.float32 and x.flags.c_contiguous
    assert x.min() >= -1.0 and x.max() <= 1.0
    z = np.random.default_rng(0).uniform(-1, 1, (3, 96)).astype(np.float32)
    g = run.generate(z)
    assert g.shape == (3, 1, 28, 28) and g.dtype == np.float32
    assert np.array_equal(g, run.generate(z.reshape(3, 96, 1, 1)))
    pic = run.interpolate(seeds=[0, 1, 2], steps=5)
    assert pic.array.shape == (10, 1, 28, 28) and pic._repr_png_().startswith(b"\x89PNG")
    grid = run.grid(16)
    assert grid._repr_png_().startswith(b"\x89PNG") and grid.size[0] > 28
    sd = run.state_dict("G")
    assert sd["0.weight"].shape == (1024, 96) and sd["0.weight"].dtype == np.float32
    assert sd["2.num_batches_tracked"].dtype == np.int64 and sd["2.num_batches_tracked"].shape == ()
    d = run.state_dict("D")
    assert all(v.dtype in (np.float32, np.int64) for v in d.values()) and len(d) > 0
    xs, ys = gantry.datasets.load("synth-digits", "test", generated_size=50)
    assert xs.shape == (50, 1, 28, 28) and xs.dtype == np.float32 and -1 <= xs.min() and xs.max() <= 1
    assert ys.shape == (50,) and ys.dtype == np.uint8 and ys.max() <= 9
    pts, labels = gantry.datasets.load("ring8", generated_size=64)
    assert pts.shape == (64, 2) and pts.dtype == np.float32


def test_the_log_and_config_of_a_run(cli_run):
    run = gantry.open(cli_run)
    log = run.log
    rows = log.to_dict("records") if hasattr(log, "to_dict") else log
    assert [r["step"] for r in rows] == list(range(1, 21))
    assert all(np.isfinite(r["loss_d"]) for r in rows)
    assert run.config["model"] == "dcgan-infogan" and run.config["max_steps"] == 20


def test_the_mode_report_shows_itself(cli_run, workdir):
    report = gantry.open(cli_run).modes(n=300, out=workdir / "modes")
    assert sum(report["counts"]) == 300 and len(report["counts"]) == 10
    assert report._repr_png_().startswith(b"\x89PNG")
    # Images from anywhere: the dataset's own test digits come out as their labels say.
    xs, ys = gantry.datasets.load("synth-digits", "test", generated_size=400)
    real = gantry.eval.modes(xs, dataset="synth-digits")
    assert np.abs(np.array(real["counts"]) - np.bincount(ys, minlength=10)).sum() <= 4
    assert real._repr_png_().startswith(b"\x89PNG")


# --- generators trained elsewhere ------------------------------------------------------------------

TORCH_GENERATORS = [
    ("seed000_dcgan28.pth", "dcgan-28", "seed000_dcgan28_expected.safetensors"),
    ("seed000_dcgan28_legacy.pth", "dcgan-28", "seed000_dcgan28_expected.safetensors"),
    ("cs231n_infogan.pth", "dcgan-infogan", "cs231n_infogan_expected.safetensors"),
]


@pytest.mark.parametrize("file,model,expected", TORCH_GENERATORS)
def test_pytorch_generators_reproduce_their_outputs(file, model, expected):
    d = GOLDEN / "torch_generators"
    if not d.exists():
        pytest.skip(f"{d} not found")
    ref = read_safetensors(d / expected)
    run = gantry.from_state_dict(model, d / file)
    x = run.generate(ref["z"])
    assert x.shape == ref["x"].shape
    assert np.abs(x - ref["x"]).max() <= 1e-5 * np.abs(ref["x"]).max()
    # The same weights handed over as a dict of arrays (with a module prefix of its own).
    again = gantry.from_state_dict(model, {f"main.{k}": v for k, v in run.state_dict("G").items()})
    assert np.array_equal(again.generate(ref["z"]), x)


def test_a_state_dict_of_another_architecture_names_the_tensor():
    d = GOLDEN / "torch_generators"
    if not d.exists():
        pytest.skip(f"{d} not found")
    with pytest.raises(gantry.FileFormatError, match=r"`0.weight` has shape \[1024, 96\]"):
        gantry.from_state_dict("dcgan-28", d / "cs231n_infogan.pth")


# --- metrics ----------------------------------------------------------------------------------------

def test_fid_of_a_set_with_itself_is_zero_and_folders_match_the_command_line(cli_run, workdir, inception_weights):
    run = gantry.open(cli_run)
    x = run.sample(6, seed=1)
    assert abs(gantry.eval.fid(x, x, weights=inception_weights)) < 1e-3
    for seed, name in ((1, "fa"), (2, "fb")):
        cli("sample", "--checkpoint", str(cli_run), "--n", "6", "--seed", str(seed), "--out-dir", str(workdir / name), "--quiet", cwd=workdir)
    out = cli("eval", "fid", str(workdir / "fa"), str(workdir / "fb"), "--inception-weights", str(inception_weights), "--quiet", cwd=workdir).stdout
    printed = float(out.split("FID:")[1])
    assert round(gantry.eval.fid(workdir / "fa", workdir / "fb", weights=inception_weights), 4) == pytest.approx(printed, abs=1e-4)
    # Arrays quantised as the PNGs are give the same number as the folders.
    assert gantry.eval.fid(x, run.sample(6, seed=2), weights=inception_weights) == pytest.approx(printed, abs=1e-3)
    # Two folders, every metric: as `gantry eval A B` prints them.
    table = cli("eval", str(workdir / "fa"), str(workdir / "fb"), "--inception-weights", str(inception_weights), "--quiet", cwd=workdir).stdout
    both = gantry.eval.compare(workdir / "fa", workdir / "fb", weights=inception_weights)
    assert f"KID: {both['kid_mean']:.6f}" in table and f"precision: {both['precision']:.4f}" in table and f"IS of B: {both['is_b_mean']:.4f}" in table
    every = gantry.eval.compare(x, run.sample(6, seed=2), weights=inception_weights)
    assert {"fid", "kid_mean", "kid_std", "precision", "recall", "is_a_mean", "is_b_mean"} <= set(every)
    f = gantry.eval.inception_features(x, weights=inception_weights)
    assert f.shape == (6, 2048) and f.dtype == np.float32


# --- errors -------------------------------------------------------------------------------------------

def test_an_unknown_field_is_refused_with_the_list_of_fields():
    with pytest.raises(gantry.ConfigError, match=r"unknown field `lr_gen`, expected one of .*`batch_size`"):
        gantry.Trainer(lr_gen=1e-4)


def test_bad_values_name_their_field():
    with pytest.raises(gantry.ConfigError, match=r"optim_g.*NaN"):
        gantry.Trainer(lr_g=float("nan"))
    with pytest.raises(gantry.ConfigError, match="batch_size"):
        gantry.Trainer(batch_size="large")
    with pytest.raises(gantry.ConfigError, match="batch_size"):
        gantry.Trainer(batch_size=0)
    with pytest.raises(ValueError):  # ConfigError is a ValueError
        gantry.train(preset="no-such-preset")


def test_a_missing_run_is_file_not_found(workdir):
    with pytest.raises(FileNotFoundError, match="no-such-run: no such run folder"):
        gantry.open(workdir / "no-such-run")
    with pytest.raises(gantry.NotFoundError):
        gantry.Trainer.resume(workdir / "no-such-run")


def test_a_corrupt_checkpoint_is_refused(cli_run, workdir):
    bad = workdir / "corrupt.safetensors"
    data = bytearray((cli_run / "checkpoints" / "last.safetensors").read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(gantry.CheckpointError, match="corrupt.safetensors"):
        gantry.open(bad)
    bad.write_bytes(bytes(data[:100]))
    with pytest.raises(gantry.GantryError, match="corrupt.safetensors"):
        gantry.open(bad)


def test_wrong_arrays_are_refused(cli_run, inception_weights):
    run = gantry.open(cli_run)
    with pytest.raises(gantry.ArrayError, match=r"z: expected shape \(N, 96\)"):
        run.generate(np.zeros((2, 95), np.float32))
    with pytest.raises(TypeError, match="complex"):
        run.generate(np.zeros((2, 96), np.complex64))
    with pytest.raises(TypeError, match="float32, float64 or uint8"):
        gantry.eval.fid(np.zeros((2, 1, 28, 28), np.int16), np.zeros((2, 1, 28, 28), np.float32), weights=inception_weights)
    with pytest.raises(gantry.ArrayError, match=r"a: expected a non-empty array of 4 dimensions, got shape \[2, 28, 28\]"):
        gantry.eval.fid(np.zeros((2, 28, 28), np.float32), np.zeros((2, 1, 28, 28), np.float32), weights=inception_weights)
    nan = np.zeros((2, 1, 28, 28), np.float32)
    nan[0, 0, 0, 0] = np.nan
    with pytest.raises(gantry.ArrayError, match="finite"):
        gantry.eval.fid(nan, nan, weights=inception_weights)
    with pytest.raises(gantry.ConfigError, match="unconditional"):
        run.generate(np.zeros((2, 96), np.float32), labels=[1, 2])


def test_a_config_file_and_reading_a_running_trainer(workdir):
    cfg = workdir / "mine.toml"
    cfg.write_text('model = "dcgan-28"\nmax_steps = 2\nbatch_size = 16\ngenerated_size = 64\n')
    seen = []
    t = gantry.Trainer(cfg)
    assert t.config["model"] == "dcgan-28"

    def peek(ev):
        if ev["event"] == "step":
            try:
                t.steps_done
            except gantry.GantryError as e:  # never a wait on the run's own lock
                seen.append(str(e))

    run = t.run(workdir / "from-file", progress=False, mode_check=False, callbacks=[peek])
    assert run.step == 2 and len(seen) == 2 and "running" in seen[0]
    assert t.steps_done == 2


def test_requests_out_of_proportion_are_refused(cli_run):
    run = gantry.open(cli_run)
    with pytest.raises(gantry.ConfigError, match=r"`n`: 1000000000 samples are too many"):
        run.sample(10**9)
    with pytest.raises(gantry.ConfigError, match="`n`: must be at least 1"):
        run.sample(0)
    with pytest.raises(gantry.ArrayError, match="z: expected shape"):
        run.generate(np.float32(1.0))
    with pytest.raises(gantry.ConfigError, match="2-D points"):
        gantry.eval.modes(np.zeros((5, 3), np.float32), dataset="ring8")


def test_a_generator_from_elsewhere_has_no_discriminator_or_log(workdir):
    d = GOLDEN / "torch_generators"
    if not d.exists():
        pytest.skip(f"{d} not found")
    theirs = gantry.from_state_dict("dcgan-28", d / "seed000_dcgan28.pth")
    with pytest.raises(gantry.GantryError, match="generator only"):
        theirs.state_dict("D")
    assert theirs.log == [] or len(theirs.log) == 0
    with pytest.raises(gantry.NotFoundError, match="no such weights file"):
        gantry.from_state_dict("dcgan-28", workdir / "missing.pth")
    with pytest.raises(gantry.ConfigError, match="z_dim"):
        gantry.from_state_dict("dcgan-28", d / "seed000_dcgan28.pth", z_dim=64)
