"""gantry: a GAN laboratory — train, evaluate and explore classic GANs from Python.

The work is done by gantry's Rust library (the same code as the ``gantry`` command line) with the
GIL released; arrays cross as numpy arrays. Start with::

    import gantry
    run = gantry.train(max_steps=200)          # the default: CS231n's DCGAN on built-in digits
    run.grid()                                 # a sample grid, shown inline in Jupyter
    run.modes()                                # "are all digits equally likely?"
    x = run.sample(1000, seed=0)               # float32 (N, 1, 28, 28) in [-1, 1]
"""

from __future__ import annotations

import builtins
import json
import os
import tempfile
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _gantry as _native
from . import errors
from ._progress import progress_callback
from .display import Picture
from .errors import (
    ArrayError,
    CheckpointError,
    ConfigError,
    DatasetNotFoundError,
    FileFormatError,
    GantryError,
    NotFoundError,
    TrainingDiverged,
)

__version__ = _native.__version__

PathLike = Union[str, "os.PathLike[str]"]
Callback = Callable[[Dict[str, Any]], None]


def presets() -> Dict[str, str]:
    """The built-in presets: name -> description (``gantry.train(preset=name)``)."""
    return dict(_native.presets())


def models() -> Dict[str, str]:
    """The models: name -> description (the ``model`` field)."""
    return dict(_native.models())


class _Datasets:
    """``gantry.datasets()`` lists the dataset kinds; ``gantry.datasets.load(name)`` reads one."""

    def __call__(self) -> Dict[str, str]:
        return dict(_native.dataset_kinds())

    def load(
        self,
        name: str,
        split: str = "train",
        *,
        data_dir: Optional[PathLike] = None,
        image_size: Optional[int] = None,
        generated_size: Optional[int] = None,
        seed: int = 0,
    ) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """A dataset's ``(x, y)``: x float32 ``(N, C, H, W)`` in [-1, 1] (2-D points: ``(N, 2)``),
        y uint8 labels or None. Files are found in ``data_dir`` or gantry's cache (downloaded
        there, MD5-checked, on a connected machine; ``gantry datasets fetch NAME``)."""
        x, y, _ = _native.load_dataset(name, split, _path(data_dir), image_size, generated_size, seed)
        return x, y

    def class_names(self, name: str) -> List[str]:
        """The class names of a labelled dataset (empty when unlabelled)."""
        return list(_native.dataset_class_names(name))

    def __repr__(self) -> str:
        return "gantry.datasets: " + ", ".join(self())


datasets = _Datasets()


def _path(p: Optional[PathLike]) -> Optional[str]:
    return None if p is None else os.fspath(p)


def _config_toml(preset: Optional[str], config: Union[None, PathLike, Dict[str, Any]], fields: Dict[str, Any]) -> str:
    """A validated config as TOML: a preset, a TOML file or a dict of fields, then ``fields``."""
    if isinstance(config, dict):
        fields = {**config, **fields}
        config = None
    if config is not None:
        path = os.fspath(config)
        if not os.path.exists(path):
            raise NotFoundError(f"{path}: no such config file")
        with builtins.open(path, encoding="utf-8") as f:
            return _native.resolve_config(None, f.read(), path, fields)
    return _native.resolve_config(preset, None, None, fields)


class Run:
    """A trained generator: a run folder's newest verified checkpoint (``gantry.open``), or a
    generator trained elsewhere (``gantry.from_state_dict``)."""

    def __init__(self, model: "_native.Model"):
        self._m = model

    # What it is.
    @property
    def path(self) -> str:
        """The checkpoint (or weights file) read."""
        return os.fspath(self._m.path)

    @property
    def run_dir(self) -> str:
        return os.fspath(self._m.run_dir)

    @property
    def step(self) -> int:
        """The generator step the weights belong to."""
        return self._m.step

    @property
    def config(self) -> Dict[str, Any]:
        """The run's config (every field)."""
        return json.loads(self._m.config_json)

    @property
    def class_names(self) -> List[str]:
        return list(self._m.class_names)

    @property
    def z_shape(self) -> Tuple[int, ...]:
        return tuple(self._m.z_shape)

    @property
    def x_shape(self) -> Tuple[int, ...]:
        return tuple(self._m.x_shape)

    @property
    def log(self):
        """The run's log, one record per generator step (step, epoch, losses, …): a pandas
        DataFrame where pandas is installed, else a list of dicts."""
        first = ["step", "epoch", "loss_d", "loss_g", "d_real", "d_fake"]
        rows = []
        for line in self._m.log_json():
            r = json.loads(line)
            rows.append({**{k: r[k] for k in first if k in r}, **{k: v for k, v in r.items() if k not in first}})
        try:
            import pandas as pd
        except ImportError:
            return rows
        return pd.DataFrame(rows)

    # What it makes.
    def sample(self, n: int, seed: int = 0, cls: Union[None, int, str] = None, *, eval_mode: bool = True) -> np.ndarray:
        """``n`` samples drawn with ``seed``: float32 ``(N, C, H, W)`` in [-1, 1] (2-D models:
        ``(N, 2)``), the same as ``gantry sample --seed``. ``cls``: the class of a conditional
        model (number or name). ``eval_mode=False`` normalises with the batch's own statistics."""
        return self._m.sample(int(n), int(seed), cls, eval_mode)

    def generate(self, z, labels: Optional[Sequence[int]] = None, *, eval_mode: bool = True) -> np.ndarray:
        """What the generator makes of ``z`` (``(N, z_dim)`` or ``(N, *z_shape)``), with one
        label per sample for a conditional model."""
        z = _numpy(z)
        return self._m.generate(z, None if labels is None else [int(v) for v in labels], eval_mode)

    def grid(self, n: int = 64, seed: int = 0, cls: Union[None, int, str] = None, *, classes: Optional[str] = None, per_class: int = 8, eval_mode: bool = True) -> Picture:
        """A sample grid as a picture (a scatter plot for 2-D models); conditional models show a
        row per class unless ``cls`` is given. ``classes``: rows such as ``"0-9"`` or ``"0,3,7"``."""
        png = self._m.grid_png(int(n), int(seed), cls, classes, int(per_class), eval_mode)
        return Picture(png, f"{n} samples, seed {seed}")

    def interpolate(self, seeds: Sequence[int] = (0, 1), steps: int = 10, *, spherical: bool = False, cls: Union[None, int, str] = None) -> Picture:
        """Latent interpolation between consecutive ``seeds`` (a row per pair, ``steps`` images per
        row; slerp with ``spherical``). The picture's ``array`` holds the images."""
        x, per_row, png = self._m.interpolate([int(s) for s in seeds], int(steps), spherical, cls)
        return Picture(png, f"interpolation of seeds {list(seeds)}", array=x)

    # How good it is.
    def modes(self, n: int = 10000, seed: int = 0, *, out: Optional[PathLike] = None, data_dir: Optional[PathLike] = None, quiet: bool = True) -> "ModeReport":
        """"Are all classes generated equally often?": the class histogram of ``n`` samples by
        the dataset's classifier (2-D data: modes covered, high-quality fraction), written into
        ``out`` (default: the run's ``eval/``)."""
        if out is None and not self._m.from_run:  # a generator from elsewhere has no run folder
            out = tempfile.mkdtemp(prefix="gantry-modes-")
        js, summary, files = self._m.modes(int(n), int(seed), _path(out), _path(data_dir), quiet)
        return ModeReport(js, summary, files)

    def loss_plot(self) -> Picture:
        """The run's loss curves (``loss.png``)."""
        return Picture.open(os.path.join(self.run_dir, "loss.png"), "losses")

    def state_dict(self, which: str = "G") -> Dict[str, np.ndarray]:
        """The weights of ``"G"`` (or, from a run, ``"D"``) under PyTorch's names, as numpy
        arrays: ``{k: torch.from_numpy(v) for k, v in run.state_dict().items()}`` loads into the
        reference ``nn.Sequential`` with ``strict=True``."""
        return dict(self._m.state_dict(which))

    def __repr__(self) -> str:
        return f"<gantry.Run {self.run_dir!r} step {self.step}: {self.config.get('model')} on {self.config.get('dataset')}>"


class ModeReport:
    """A mode-coverage report: ``summary`` (text), ``report`` (dict), the histogram or scatter plot
    shown inline in Jupyter, ``files`` written."""

    def __init__(self, report_json: str, summary: str, files: Sequence[Any], picture: Optional[Picture] = None):
        self.report: Dict[str, Any] = json.loads(report_json) if report_json else {}
        self.summary = summary
        self.files = [os.fspath(f) for f in files]
        pngs = [f for f in self.files if f.endswith(".png")]
        self.picture = picture or (Picture.open(pngs[0], "modes") if pngs else None)

    def _repr_png_(self) -> Optional[bytes]:
        return None if self.picture is None else self.picture.png

    def __getitem__(self, key: str) -> Any:
        return self.report[key]

    def __repr__(self) -> str:
        return self.summary


def open(run_dir: PathLike, *, device: str = "cpu") -> Run:  # noqa: A001 - gantry.open is the name users expect
    """A run folder (its newest checkpoint that verifies) or a checkpoint file."""
    return Run(_native.Model.open(os.fspath(run_dir), device))


def from_state_dict(model: str, G: Union[PathLike, Dict[str, Any]], *, dataset: Optional[str] = None, z_dim: Optional[int] = None, noise: str = "normal", device: str = "cpu") -> Run:
    """A generator trained elsewhere, in the gantry model ``model`` of the same layers: ``G`` is a
    state dict (``{name: array or torch tensor}``, any module prefix such as ``network.``) or a
    file saved by ``torch.save(G.state_dict(), path)`` (zip or legacy) or ``.safetensors``.
    ``dataset``: what it was trained on (default mnist for 28×28 models); ``z_dim``: default
    read off the first layer. A mismatch names the first tensor whose name or shape differs."""
    if isinstance(G, dict):
        tensors = {str(k): _numpy(v) for k, v in G.items()}
        return Run(_native.Model.from_state_dict(model, tensors, None, dataset, z_dim, noise, device))
    path = os.fspath(G)
    return Run(_native.Model.from_state_dict(model, None, path, dataset, z_dim, noise, device))


def _numpy(v: Any) -> np.ndarray:
    """An array from numpy, or a torch tensor (detached, on the CPU)."""
    if hasattr(v, "detach") and hasattr(v, "cpu"):
        v = v.detach().cpu().numpy()
    return np.asarray(v)


class Trainer:
    """The training loop: ``step()`` one generator step at a time, or ``run()`` into a run folder
    (the files ``gantry train`` writes), with callbacks that receive each event."""

    def __init__(self, config: Union[None, PathLike, Dict[str, Any]] = None, *, preset: Optional[str] = None, quiet: bool = True, **fields: Any):
        """``config``: a dict of fields, or a TOML file; else ``preset`` (default ``"default"``);
        every keyword is a config field (``gantry.presets()``; unknown names are refused)."""
        self._t = _native.Trainer(_config_toml(preset, config, fields), quiet)
        self._name = os.path.splitext(os.path.basename(os.fspath(config)))[0] if config is not None and not isinstance(config, dict) else preset or "default"
        self._resumed: Optional[str] = None

    @classmethod
    def resume(cls, run_dir: PathLike, *, epochs: Optional[int] = None, max_steps: Optional[int] = None) -> "Trainer":
        """Continue the run in ``run_dir`` exactly where its last checkpoint left it (its own
        config; ``epochs``/``max_steps`` change its length)."""
        self = cls.__new__(cls)
        self._t = _native.Trainer.resume(os.fspath(run_dir), epochs, max_steps, True)
        self._resumed = os.fspath(run_dir)
        self._name = os.path.basename(self._resumed)
        return self

    @property
    def config(self) -> Dict[str, Any]:
        return json.loads(self._t.config_json)

    @property
    def steps_done(self) -> int:
        """Generator steps taken so far."""
        return self._t.step_count

    @property
    def total_steps(self) -> int:
        """The run's length in generator steps."""
        return self._t.total_steps

    def step(self) -> Dict[str, float]:
        """One generator step (k discriminator steps first): ``{"step", "epoch", "loss_d",
        "loss_g", "d_real", "d_fake", …}``. Writes no files."""
        return dict(self._t.step())

    def run(self, out: Optional[PathLike] = None, *, callbacks: Iterable[Callback] = (), progress: bool = True, mode_check: bool = True) -> Run:
        """Train until the run's length into the run folder ``out`` (default ``runs/PRESET``,
        numbered). Each callback receives every event as a dict (``event``: start, step,
        epoch_end, end, failed; a step's dict holds its losses); an exception a callback raises
        stops the run and is raised here. Ctrl-C or "interrupt kernel" stops after the current
        step with a checkpoint (``Trainer.resume`` continues exactly) and raises
        KeyboardInterrupt. Ends, as ``gantry train`` does, with the mode check."""
        out = os.fspath(out) if out is not None else self._resumed or os.fspath(_native.fresh_run_dir(self._name))
        hooks = list(callbacks)
        if progress:
            hooks.insert(0, progress_callback())
        callback = _fan_out(hooks) if hooks else None
        outcome, steps, seconds, rate = self._t.run(out, callback)
        self.last_outcome = {"outcome": outcome, "steps": steps, "seconds": seconds, "images_per_s": rate}
        if mode_check and outcome != "interrupted" and self._t.counts_modes:
            try:
                headline, files = _native.mode_check(out, True)
                if progress:
                    print(f"{headline} (histogram: {os.fspath(files[0])})")
            except GantryError as e:  # the run itself succeeded; the check is extra
                import warnings

                warnings.warn(f"mode-coverage check skipped: {e}")
        return open(out)


def _fan_out(hooks: List[Callback]) -> Callback:
    def call(event: Dict[str, Any]) -> None:
        for h in hooks:
            h(event)

    return call


def train(preset: str = "default", out: Optional[PathLike] = None, *, config: Union[None, PathLike, Dict[str, Any]] = None, callbacks: Iterable[Callback] = (), progress: bool = True, mode_check: bool = True, **fields: Any) -> Run:
    """Train a GAN and return its run: ``preset`` (``gantry.presets()``) or ``config`` (a TOML
    file or a dict), with every keyword a config field (``max_steps=200``, ``loss="hinge"``,
    ``lr_g=1e-4`` …; unknown keywords are refused with the list of fields). The run folder is
    ``out`` (default ``runs/PRESET``, numbered), the same files as ``gantry train`` writes."""
    return Trainer(config, preset=preset, **fields).run(out, callbacks=callbacks, progress=progress, mode_check=mode_check)


from . import eval  # noqa: E402  (gantry.eval needs the names above)

__all__ = [
    "train", "Trainer", "open", "from_state_dict", "Run", "ModeReport", "Picture", "presets", "models", "datasets", "eval", "errors",
    "GantryError", "ConfigError", "ArrayError", "FileFormatError", "NotFoundError", "DatasetNotFoundError", "CheckpointError", "TrainingDiverged",
]
