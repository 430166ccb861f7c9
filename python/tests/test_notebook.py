"""The example notebook runs from top to bottom on a real Jupyter kernel (ipykernel, driven by
nbclient), as a person would run it: any cell's error fails the test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import GOLDEN, REPO

NOTEBOOK = REPO / "examples" / "notebooks" / "gan_lab.ipynb"


def test_the_example_notebook_runs_headless(tmp_path):
    nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (pip install ./python[test])")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (pip install ./python[test])")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install ./python[test])")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    os.environ.setdefault("GANTRY_NOTEBOOK_STEPS", "100")
    os.environ.setdefault("GANTRY_GOLDEN_DIR", str(GOLDEN))
    client = nbclient.NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    pictures = [o for o in outputs if "image/png" in o.get("data", {})]
    # The grid, loss plots, histogram and interpolation show as pictures.
    assert len(pictures) >= 6, f"only {len(pictures)} pictures shown"
    text = "".join(o.get("text", "") for o in outputs)
    assert "of 10 digits" in text
    assert (tmp_path / "runs" / "notebook-default" / "checkpoints" / "last.safetensors").exists()
    # The executed notebook, for a person to look at.
    nbformat.write(nb, tmp_path / "gan_lab.executed.ipynb")
