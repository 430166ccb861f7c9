"""Progress of a training run in a notebook or a terminal: tqdm.auto where installed (a widget in
Jupyter), else one line rewritten in place."""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Dict


def _postfix(ev: Dict[str, Any]) -> str:
    parts = [f"epoch {ev['epoch'] + 1}"]
    for k in ("loss_d", "loss_g"):
        if k in ev:
            parts.append(f"{k} {ev[k]:.3f}")
    if "images_per_s" in ev:
        parts.append(f"{ev['images_per_s']:.0f} img/s")
    return " ".join(parts)


def progress_callback() -> Callable[[Dict[str, Any]], None]:
    """A training callback that shows steps done of the run's length, rate and latest losses."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        tqdm = None
    state: Dict[str, Any] = {}

    def on_event(ev: Dict[str, Any]) -> None:
        kind = ev["event"]
        if kind == "start":
            if tqdm is not None:
                state["bar"] = tqdm(total=ev["total_steps"], initial=ev["step"], desc="training", unit="step")
            state["last"] = 0.0
        elif kind == "step":
            bar = state.get("bar")
            if bar is not None:
                bar.set_postfix_str(_postfix(ev), refresh=False)
                bar.update(1)
            elif time.monotonic() - state.get("last", 0.0) > 1.0 or ev["step"] == ev["total_steps"]:
                state["last"] = time.monotonic()
                sys.stderr.write(f"\rtraining: step {ev['step']}/{ev['total_steps']} {_postfix(ev)}   ")
                sys.stderr.flush()
        elif kind in ("end", "failed"):
            bar = state.pop("bar", None)
            if bar is not None:
                bar.close()
            elif "last" in state:
                sys.stderr.write("\n")

    return on_event
