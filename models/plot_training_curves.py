"""Training curves of a model trained by ``regsim train``: ``plot_training_curves``.

Two panels per model, one point per epoch: the mean training loss and the validation loss (binary
cross-entropy), and the validation auPRC with the kept (best) epoch marked. ``regsim train`` writes
the plot as ``training_curves.png`` into the model folder and the model card shows it; the benchmark
report calls the same function for its models.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def plot_training_curves(
    history: list[dict] | str | os.PathLike, path: str | os.PathLike, *, title: str | None = None
) -> Path:
    """Plot loss and validation auPRC per epoch into a PNG file.

    Parameters
    ----------
    history : list of dict or path
        The per-epoch rows of ``training_log.json`` (``epoch``, ``train_loss``, ``validation_auprc``
        and, when recorded, ``validation_loss``), or a model folder / ``training_log.json`` to read
        them from.
    path : str or path
        PNG file to write (same history, same bytes: no time stamp in the file).
    title : str, optional
        Figure title; default: the model folder's name when ``history`` is a path, else none.

    Returns
    -------
    Path
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if isinstance(history, (str, os.PathLike)):
        source = Path(history)
        log_file = source / "training_log.json" if source.is_dir() else source
        title = title if title is not None else (log_file.parent.name or None)
        history = json.loads(log_file.read_text(encoding="utf-8"))["history"]
    if not history:
        raise ValueError("no epochs to plot (empty history)")
    epochs = [row["epoch"] for row in history]
    auprc = [row["validation_auprc"] for row in history]
    best = max(range(len(history)), key=lambda i: (auprc[i], -i))  # the first best epoch, as training keeps

    fig, (loss_ax, auprc_ax) = plt.subplots(1, 2, figsize=(9, 3.4))
    loss_ax.plot(epochs, [row["train_loss"] for row in history], "o-", ms=3, label="train")
    if all("validation_loss" in row for row in history):
        loss_ax.plot(epochs, [row["validation_loss"] for row in history], "s-", ms=3, label="validation")
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("binary cross-entropy")
    loss_ax.legend(fontsize=8)
    auprc_ax.plot(epochs, auprc, "o-", ms=3, color="#d95f02")
    auprc_ax.axvline(epochs[best], color="grey", ls=":", lw=1)
    auprc_ax.annotate(f"kept: epoch {epochs[best]}, {auprc[best]:.3f}", (epochs[best], auprc[best]),
                      textcoords="offset points", xytext=(4, -12), fontsize=8)
    auprc_ax.set_xlabel("epoch")
    auprc_ax.set_ylabel("validation auPRC")
    for ax in (loss_ax, auprc_ax):
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
    return path


__all__ = ["plot_training_curves"]
