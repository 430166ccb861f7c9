"""Pictures that show themselves in Jupyter (``_repr_png_``) and save themselves anywhere."""

from __future__ import annotations

import builtins
import os
from typing import Optional


class Picture:
    """A PNG picture: a sample grid, an interpolation, a histogram, a loss plot.

    Shown inline when it is the last expression of a notebook cell; ``save(path)`` writes it;
    ``array`` holds the images it shows, where it shows images."""

    def __init__(self, png: bytes, title: str = "", array=None, svg: Optional[str] = None):
        self.png = bytes(png)
        self.title = title
        self.array = array
        self.svg = svg

    def _repr_png_(self) -> bytes:
        return self.png

    def save(self, path: "str | os.PathLike[str]") -> str:
        """Write the PNG (or, for a path ending in .svg where there is one, the SVG) to ``path``."""
        path = os.fspath(path)
        if path.endswith(".svg"):
            if self.svg is None:
                raise ValueError(f"{path}: this picture has no SVG form; save it as .png")
            with open(path, "w", encoding="utf-8") as f:
                f.write(self.svg)
        else:
            with open(path, "wb") as f:
                f.write(self.png)
        return path

    @classmethod
    def open(cls, path: "str | os.PathLike[str]", title: str = "") -> "Picture":
        with builtins.open(path, "rb") as f:
            png = f.read()
        svg_path = os.path.splitext(os.fspath(path))[0] + ".svg"
        svg = open(svg_path, encoding="utf-8").read() if os.path.exists(svg_path) else None
        return cls(png, title or os.path.basename(os.fspath(path)), svg=svg)

    @property
    def size(self) -> "tuple[int, int]":
        """(width, height) in pixels, read off the PNG header."""
        return int.from_bytes(self.png[16:20], "big"), int.from_bytes(self.png[20:24], "big")

    def __repr__(self) -> str:
        w, h = self.size
        return f"<gantry.Picture {self.title!r} {w}x{h} PNG>"
