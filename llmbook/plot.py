"""The figures the chapters share, drawn with matplotlib only (no JavaScript, so they render offline).

Every function takes an optional ``ax`` (or returns a new figure) and returns what it drew on, so a
chapter can add to it. The module never calls ``matplotlib.use``: in a notebook the inline backend
shows the figure.

>>> import numpy as np
>>> from llmbook.plot import plot_curves
>>> ax = plot_curves({"loss": [1.0, 0.5, 0.25]}, xlabel="step", ylabel="loss")  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

# A colour-blind-safe palette (Okabe and Ito, 2008), in the order the curves get it.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")


def _axes(ax=None, figsize=(6.0, 4.0)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_curves(curves: Mapping[str, Sequence[float]], ax=None, *, x: Sequence[float] | None = None,
                xlabel: str = "step", ylabel: str = "", title: str | None = None, log_y: bool = False):
    """Draw named curves (e.g. one loss curve per optimizer) on one axis, with a legend; returns the axis.

    Args:
        curves: name -> y values; every curve is plotted against ``x`` or ``0, 1, 2, ...``.
        x: shared x values (optional); must be as long as every curve.
        log_y: a logarithmic y axis (the values must then be positive).

    Raises:
        ValueError: if ``curves`` is empty, a curve is empty, lengths differ from ``x``, or ``log_y``
            is asked for with non-positive values.
    """
    if not curves:
        raise ValueError("curves is empty; pass at least one name -> values pair")
    ax = _axes(ax)
    for i, (name, values) in enumerate(curves.items()):
        values = np.asarray(values, dtype=float)
        if values.size == 0:
            raise ValueError(f"curve {name!r} has no values")
        if log_y and np.any(values <= 0):
            raise ValueError(f"curve {name!r} has values <= 0, which a log axis cannot show; use log_y=False")
        xs = np.arange(values.size) if x is None else np.asarray(x, dtype=float)
        if xs.shape != values.shape:
            raise ValueError(f"curve {name!r} has {values.size} values but x has {xs.size}")
        ax.plot(xs, values, label=name, color=PALETTE[i % len(PALETTE)], linewidth=1.8)
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    return ax


def plot_functions_with_derivatives(functions: Mapping[str, tuple[Callable, Callable]], x: Sequence[float] | None = None,
                                    figsize=(10.0, 3.8)):
    """Two panels: each function ``f`` on the left and its derivative ``f'`` on the right; returns the figure.

    Args:
        functions: name -> ``(f, f_prime)``, both mapping a NumPy array to an array of the same shape.
        x: where to evaluate them; by default 401 points from -5 to 5.

    Raises:
        ValueError: if ``functions`` is empty or a function returns an array of another shape.
    """
    import matplotlib.pyplot as plt

    if not functions:
        raise ValueError("functions is empty; pass name -> (f, f_prime) pairs")
    xs = np.linspace(-5.0, 5.0, 401) if x is None else np.asarray(x, dtype=float)
    fig, (left, right) = plt.subplots(1, 2, figsize=figsize)
    for i, (name, (f, f_prime)) in enumerate(functions.items()):
        ys, slopes = np.asarray(f(xs)), np.asarray(f_prime(xs))
        if ys.shape != xs.shape or slopes.shape != xs.shape:
            raise ValueError(f"{name!r}: f and f' must return arrays shaped like x {xs.shape}")
        color = PALETTE[i % len(PALETTE)]
        left.plot(xs, ys, label=name, color=color, linewidth=1.8)
        right.plot(xs, slopes, label=name, color=color, linewidth=1.8)
    for ax, title in ((left, "activation f(z)"), (right, "derivative f'(z)")):
        ax.axhline(0.0, color="0.6", linewidth=0.8)
        ax.axvline(0.0, color="0.6", linewidth=0.8)
        ax.set_xlabel("z")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    left.legend(frameon=False)
    fig.tight_layout()
    return fig


@dataclass(frozen=True)
class Box:
    """A box drawn by :func:`draw_stack`: its label and its edges in axis coordinates."""

    label: str
    left: float
    right: float
    bottom: float
    top: float

    @property
    def center(self) -> tuple[float, float]:
        return ((self.left + self.right) / 2.0, (self.bottom + self.top) / 2.0)

    @property
    def top_center(self) -> tuple[float, float]:
        return ((self.left + self.right) / 2.0, self.top)

    @property
    def bottom_center(self) -> tuple[float, float]:
        return ((self.left + self.right) / 2.0, self.bottom)


def draw_stack(ax, labels: Sequence[str], x: float, *, bottom: float = 0.05, width: float = 0.8,
               height: float = 0.09, gap: float = 0.05, colors: Sequence[str] | str = "#DCEBF7",
               frame: tuple[int, int, str] | None = None, fontsize: float = 9.0) -> list[Box]:
    """Draw boxes stacked bottom-up at horizontal centre ``x``, each joined to the next by an arrow.

    This is the data flow of a network drawn as a diagram: ``labels[0]`` at the bottom (the input),
    ``labels[-1]`` at the top (the output).

    Args:
        ax: a matplotlib axis; it is drawn in data coordinates (0..1 works well with ``ax.axis("off")``).
        labels: box texts, bottom first; ``"\\n"`` breaks a line.
        colors: one fill colour for all boxes, or one per box.
        frame: ``(first, last, text)`` draws a dashed frame around boxes ``first..last`` with ``text`` at
            its side, e.g. ``(2, 3, "x N")`` for a repeated block.

    Returns:
        The :class:`Box` of every label, bottom first, for connecting stacks with :func:`draw_arrow`.

    Raises:
        ValueError: if ``labels`` is empty, the colour list has the wrong length, or ``frame`` is out of range.
    """
    from matplotlib.patches import FancyBboxPatch, Rectangle

    if not labels:
        raise ValueError("labels is empty; pass the box texts, bottom first")
    fills = [colors] * len(labels) if isinstance(colors, str) else list(colors)
    if len(fills) != len(labels):
        raise ValueError(f"{len(labels)} labels but {len(fills)} colours")
    boxes = []
    for i, (label, fill) in enumerate(zip(labels, fills)):
        low = bottom + i * (height + gap)
        box = Box(label, x - width / 2.0, x + width / 2.0, low, low + height)
        ax.add_patch(FancyBboxPatch((box.left, box.bottom), width, height, boxstyle="round,pad=0.004,rounding_size=0.01",
                                    facecolor=fill, edgecolor="0.25", linewidth=1.0))
        ax.text(*box.center, label, ha="center", va="center", fontsize=fontsize)
        if boxes:
            draw_arrow(ax, boxes[-1].top_center, box.bottom_center)
        boxes.append(box)
    if frame is not None:
        first, last, text = frame
        if not 0 <= first <= last < len(boxes):
            raise ValueError(f"frame {frame[:2]} is outside the {len(boxes)} boxes")
        pad = gap * 0.35
        low, high = boxes[first].bottom - pad, boxes[last].top + pad
        ax.add_patch(Rectangle((x - width / 2.0 - pad, low), width + 2 * pad, high - low, fill=False,
                               linestyle="--", edgecolor="0.35", linewidth=1.0))
        ax.text(x + width / 2.0 + pad * 1.5, (low + high) / 2.0, text, ha="left", va="center", fontsize=fontsize)
    return boxes


def draw_arrow(ax, start: tuple[float, float], end: tuple[float, float], *, text: str | None = None,
               color: str = "0.2", connectionstyle: str = "arc3", fontsize: float = 8.0):
    """An arrow from ``start`` to ``end`` (axis data coordinates), with an optional label at its middle."""
    ax.annotate("", xy=end, xytext=start,
                arrowprops=dict(arrowstyle="-|>", color=color, linewidth=1.2, shrinkA=1, shrinkB=1,
                                connectionstyle=connectionstyle))
    if text:
        ax.text((start[0] + end[0]) / 2.0, (start[1] + end[1]) / 2.0, text, ha="center", va="bottom",
                fontsize=fontsize, color=color)
    return ax
