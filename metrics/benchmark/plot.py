"""Sequence logos of attributions under the ground-truth motif boxes: the ``regsim plot`` verb.

:func:`plot_logo` draws one sequence on a matplotlib axis (the benchmark report's example sequences use
it too); :func:`plot_attribution` reads one sequence of a ``regsim attribute`` file and its ground truth
from the dataset and writes a PNG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from regsim.dataset_builder.core.errors import UserError

LETTER_COLOURS = ("#109648", "#255C99", "#F7B32B", "#D62839")  # A, C, G, T
BOX_COLOURS = ("#f4d03f", "#a3e4d7", "#f5b7b1", "#d7bde2", "#aed6f1")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def logo_matrix(scores, sequence=None) -> np.ndarray:
    """The ``(L, 4)`` letter heights of a logo.

    Parameters
    ----------
    scores : array-like
        ``(4, L)`` per-base contributions (drawn as they are) or ``(L,)`` per-position scores (ISM
        importance, GradCAM), drawn as the observed base's letter.
    sequence : array-like, optional
        ``(4, L)`` one-hot; needed for ``(L,)`` scores.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 2 and scores.shape[0] == 4:
        return scores.T.copy()
    if scores.ndim == 1:
        if sequence is None:
            raise UserError("per-position scores (L,) need the one-hot sequence to be drawn as letters")
        return (np.asarray(sequence, dtype=np.float64) * scores[None, :]).T
    raise UserError(f"cannot draw attributions of shape {scores.shape}; expected (4, L) or (L,)")


def plot_logo(ax, scores, sequence=None, *, motifs=(), mask=None, start: int = 0, end: int | None = None,
              title: str | None = None):
    """Draw a sequence logo of ``scores`` with the ground-truth motifs as boxes above it.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    scores : array-like
        ``(4, L)`` contributions or ``(L,)`` per-position scores (see :func:`logo_matrix`).
    sequence : array-like, optional
        ``(4, L)`` one-hot sequence.
    motifs : sequence of dict, optional
        Motif instances with ``start``, ``end`` (0-based half-open), ``motif_name`` and optionally
        ``strand`` and ``implanted``; drawn as labelled boxes.
    mask : array-like, optional
        ``(L,)`` 0/1 ground truth, shaded when no ``motifs`` are given.
    start, end : int
        The window drawn, ``[start, end)`` (default: the whole sequence).
    title : str, optional

    Returns
    -------
    list of logomaker.Glyph
    """
    from logomaker import Glyph
    from matplotlib.patches import Rectangle

    heights = logo_matrix(scores, sequence)
    end = heights.shape[0] if end is None else min(end, heights.shape[0])
    if not 0 <= start < end:
        raise UserError(f"empty window [{start}, {end}) of a sequence of length {heights.shape[0]}")
    window = heights[start:end]
    # logomaker's glyphs, stacked as logomaker.Logo stacks them (positive up, negative down, largest
    # outside), but only the non-zero ones: contribution scores have one per position, and a 200-bp
    # logo.Logo draws 800 glyphs (measured: 2.5 s per 200-bp logo, 4x slower).
    glyphs = []
    for offset, row in enumerate(window):
        for sign in (1, -1):
            floor = 0.0
            for c in sorted((c for c in range(4) if row[c] * sign > 0), key=lambda c: abs(row[c])):
                ceiling = floor + sign * abs(row[c])
                glyphs.append(Glyph(start + offset, "ACGT"[c], ax=ax, floor=min(floor, ceiling),
                                    ceiling=max(floor, ceiling), color=LETTER_COLOURS[c], flip=False, zorder=3))
                floor = ceiling
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.axhline(0, color="#7f8c8d", lw=0.5)
    low = float(min(0.0, np.clip(window, None, 0).sum(axis=1).min()))
    high = float(np.clip(window, 0, None).sum(axis=1).max())
    high = high if high > low else low + 1.0
    span = high - low
    shown = [m for m in motifs if int(m["end"]) > start and int(m["start"]) < end]
    if shown:
        level_ends: list[int] = []  # stack overlapping boxes on separate rows
        for k, motif in enumerate(sorted(shown, key=lambda m: (int(m["start"]), int(m["end"])))):
            row = next((i for i, last in enumerate(level_ends) if last <= int(motif["start"])), len(level_ends))
            level_ends[row:row + 1] = [int(motif["end"])]
            bottom = high + span * (0.05 + 0.2 * row)
            colour = BOX_COLOURS[k % len(BOX_COLOURS)] if motif.get("implanted", True) else "#d5d8dc"
            ax.add_patch(Rectangle((int(motif["start"]) - 0.5, bottom), int(motif["end"]) - int(motif["start"]),
                                   0.16 * span, facecolor=colour, edgecolor="#2c3e50", lw=0.5))
            label = f"{motif['motif_name']} ({motif.get('strand', '+')})"
            ax.text((int(motif["start"]) + int(motif["end"])) / 2 - 0.5, bottom + 0.08 * span, label,
                    ha="center", va="center", fontsize=6, clip_on=True)
        high = high + span * (0.05 + 0.2 * len(level_ends))
    elif mask is not None:
        mask = np.asarray(mask)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], mask, [0]])))
        for s, e in zip(edges[::2], edges[1::2]):
            if e > start and s < end:
                ax.axvspan(max(s, start) - 0.5, min(e, end) - 0.5, color=BOX_COLOURS[0], alpha=0.45, lw=0,
                           zorder=0)
    ax.set_ylim(low - 0.02 * span, high)
    ax.set_xlim(start - 0.5, end - 0.5)
    if title:
        ax.set_title(title, fontsize=8)
    return glyphs


def _motifs_of(table, row: int) -> list[dict]:
    return [dict(m) for m in table[row]["motifs"]] if "motifs" in table.column_names else []


def plot_attribution(attr_file, dataset, index: int, out, *, config: str | None = None, split: str | None = None,
                     start: int = 0, end: int | None = None) -> dict:
    """Write a PNG logo of sequence ``index`` of an attribution file under its ground-truth motifs.

    Parameters
    ----------
    attr_file : path
        A ``<method>__<reference>.npz`` written by ``regsim attribute``.
    dataset : path or str
        The dataset the sequence comes from (its ``id`` is looked up in ``split``).
    index : int
        Row of the attribution file (0-based).
    out : path
        PNG to write.
    config, split : str, optional
        Default: the dataset's default config; the split recorded in the folder's ``summary.json``.
    start, end : int
        Window drawn (default: the whole sequence).

    Returns
    -------
    dict
        ``id``, ``split``, ``motifs`` (the instances drawn).
    """
    import json

    from regsim.dataset_builder.format import read_dataset

    from .plan import scoring_input

    attr_file = Path(attr_file)
    if not attr_file.is_file():
        raise UserError(f"{attr_file}: attribution file not found")
    with np.load(attr_file) as stored:
        arrays = {name: stored[name] for name in stored.files}
    for name in ("attributions", "ids", "sequences"):
        if name not in arrays:
            raise UserError(f"{attr_file}: no {name!r} array; give a file written by `regsim attribute`")
    n = len(arrays["ids"])
    if not 0 <= index < n:
        raise UserError(f"--index {index} is out of range: {attr_file} holds {n} sequences (0 to {n - 1})")
    summary_path = attr_file.parent / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    split = split or summary.get("split")
    identifier = str(arrays["ids"][index])
    motifs = []
    if dataset is not None:
        data = read_dataset(dataset, config or summary.get("config"))
        splits = [split] if split else list(data)
        for name in splits:
            if name not in data:
                raise UserError(f"dataset {dataset} has no split {name!r}; it has {', '.join(data)}")
            ids = [str(i) for i in data[name]["id"]]
            if identifier in ids:
                split, motifs = name, _motifs_of(data[name], ids.index(identifier))
                break
        else:
            raise UserError(f"sequence id {identifier!r} (index {index} of {attr_file}) is not in dataset {dataset}")
    method = attr_file.stem.partition("__")[0]
    scores, _ = scoring_input(method, arrays)
    scores = np.asarray(scores)[index]  # what the benchmark scores: ISM importance, saliency's 4 channels, ...
    plt = _plt()
    length = arrays["sequences"].shape[-1]
    shown_end = length if end is None else end
    fig, ax = plt.subplots(figsize=(max(6.0, (shown_end - start) * 0.09), 2.6))
    plot_logo(ax, scores, arrays["sequences"][index], motifs=motifs, start=start, end=end,
              title=f"{attr_file.stem}: {identifier}" + (f" ({split})" if split else ""))
    ax.set_xlabel("position (bp, 0-based); boxes: ground-truth motif instances (grey: chance matches)", fontsize=7)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return {"id": identifier, "split": split, "motifs": motifs}
