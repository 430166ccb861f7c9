"""Evaluation of generated images: FID, KID, Inception Score, precision/recall (gantry's
pytorch-fid-compatible Inception) and mode coverage.

Each set ``a``/``b`` is a numpy array of images (float ``(N, C, H, W)`` in [-1, 1], or uint8), a
folder of images, an ``.npz`` of FID statistics (FID only), or ``"DATASET-test"`` /
``"DATASET-train"``. ``weights`` is pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth`` (default:
gantry's cached copy, downloaded on a connected machine)."""

from __future__ import annotations

import os
import tempfile
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from . import _gantry as _native

PathLike = Union[str, "os.PathLike[str]"]
SetLike = Union[np.ndarray, PathLike]


def _p(p: Optional[PathLike]) -> Optional[str]:
    return None if p is None else os.fspath(p)


def compare(a: SetLike, b: SetLike, *, weights: Optional[PathLike] = None, data_dir: Optional[PathLike] = None, seed: int = 0, quiet: bool = True) -> Dict[str, float]:
    """Every metric of two sets at once (as ``gantry eval A B``): ``fid``; where both are images
    also ``kid_mean``/``kid_std``, ``precision``/``recall`` (of ``a`` against ``b``) and the
    Inception Score of each (``is_a_mean``, ``is_a_std``, ``is_b_mean``, ``is_b_std``) and the
    set sizes ``n_a``, ``n_b``."""
    return dict(_native.compare(a, b, _p(weights), _p(data_dir), seed, quiet))


def fid(a: SetLike, b: SetLike, **kw: Any) -> float:
    """Fréchet Inception Distance between two sets (pytorch-fid's numbers)."""
    return compare(a, b, **kw)["fid"]


def kid(a: SetLike, b: SetLike, **kw: Any) -> Tuple[float, float]:
    """Kernel Inception Distance (mean, std over 100 subsets of up to 1000) between two image sets."""
    r = _images_only(compare(a, b, **kw), "kid")
    return r["kid_mean"], r["kid_std"]


def precision_recall(a: SetLike, b: SetLike, **kw: Any) -> Tuple[float, float]:
    """Improved precision and recall (k = 3) of generated set ``a`` against real set ``b``."""
    r = _images_only(compare(a, b, **kw), "precision_recall")
    return r["precision"], r["recall"]


def _images_only(r: Dict[str, float], what: str) -> Dict[str, float]:
    if "kid_mean" not in r:
        from .errors import ConfigError

        raise ConfigError(f"{what} needs images on both sides (an .npz holds statistics only, enough for FID)")
    return r


def inception_score(images: np.ndarray, *, weights: Optional[PathLike] = None, quiet: bool = True) -> Tuple[float, float]:
    """Inception Score (mean, std over 10 splits) of images."""
    return _native.inception_score(images, _p(weights), quiet)


def inception_features(images: np.ndarray, *, weights: Optional[PathLike] = None, quiet: bool = True) -> np.ndarray:
    """pool3 features ``(N, 2048)`` float32 of images, as pytorch-fid computes them."""
    return _native.inception_features(images, _p(weights), quiet)


def save_fid_stats(images: SetLike, path: PathLike, *, weights: Optional[PathLike] = None, data_dir: Optional[PathLike] = None, quiet: bool = True) -> str:
    """Write a set's FID statistics (``mu``, ``sigma``: pytorch-fid's ``.npz``) to ``path``."""
    _native.save_fid_stats(images, os.fspath(path), _p(weights), _p(data_dir), quiet)
    return os.fspath(path)


def modes(run_or_samples: Any, *, dataset: Optional[str] = None, n: int = 10000, seed: int = 0, out: Optional[PathLike] = None, data_dir: Optional[PathLike] = None, quiet: bool = True):
    """Mode coverage: of a :class:`gantry.Run` (``n`` samples of ``seed``), or of samples from
    anywhere (images ``(N, C, H, W)``, or 2-D points ``(N, 2)``) judged as ``dataset`` counts modes
    (its classifier's class histogram; for 2-D mixtures, modes covered and high-quality share).
    Returns a :class:`gantry.ModeReport`, shown as its chart in Jupyter."""
    from . import ModeReport, Run

    if isinstance(run_or_samples, Run):
        return run_or_samples.modes(n, seed, out=out, data_dir=data_dir, quiet=quiet)
    if dataset is None:
        from .errors import ConfigError

        raise ConfigError("config field `dataset`: name the dataset whose classes count the modes of these samples (e.g. dataset=\"mnist\")")
    if out is None:
        out = tempfile.mkdtemp(prefix="gantry-modes-")
    js, summary, files = _native.modes_of(run_or_samples, dataset, _p(out), _p(data_dir), quiet)
    return ModeReport(js, summary, files)
