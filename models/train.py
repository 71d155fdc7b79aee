"""``regsim train``: train a RegCNN preset on a regsim dataset, evaluate it, save it with a model card.

The recipe: every batch half positives and half negatives, as Prakash et al. 2021; unlike them (they
stopped on the test set's auROC), early stopping on the validation split's auPRC (the test split is only
used once, at the end), the weights of the best validation epoch kept; each preset's optimiser, learning
rate, schedule, weight decay, augmentation and patience are in :data:`RECIPES`. Training is seeded and
deterministic on the CPU: the same data, seed, thread count and hyper-parameters give bit-identical
weights.

Output folder (written under a temporary name, renamed at the end):

- ``config.json``, ``model.safetensors``, ``configuration_regcnn.py``, ``modeling_regcnn.py``
  (``save_pretrained``; loads with ``AutoModelForSequenceClassification.from_pretrained``);
- ``eval_results.json``: ``test_auroc``, ``test_auprc``, ``validation_auprc``, ``validation_auroc``,
  ``epochs``, ``best_epoch``, ``train_seconds``, split sizes;
- ``training_log.json``: hyper-parameters, data provenance, per-epoch history, software versions;
- ``training_curves.png``: loss and validation auPRC per epoch (:func:`models.plot_training_curves.plot_training_curves`);
- ``README.md``: the model card (:mod:`models.model_card`).
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from regsim.dataset_builder.core.errors import UserError
from regsim.dataset_builder.core.io import replace_folder, sha256
from regsim.dataset_builder.core.log import StageLog, progress
from regsim.dataset_builder.core.sequences import encode_integers, one_hot_from_integers
from regsim.dataset_builder.format import (
    MANIFEST,
    config_data_files,
    read_card_metadata,
    read_dataset,
    read_manifest,
    read_split,
    verify_outputs,
)

from .devices import torch_device

SPLITS = ("train", "validation", "test")
LABEL_NAMES = ["negative", "positive"]


@dataclass(frozen=True)
class Recipe:
    """How a preset is trained (``regsim train`` flags override each field).

    learning_rate, weight_decay : Adam's step size; decoupled weight decay (AdamW) when > 0.
    lr_schedule : ``"constant"``, or ``"plateau"``: halve the learning rate after ``lr_patience``
        epochs without a better validation auPRC.
    epochs, patience : at most this many epochs; stop after ``patience`` epochs without a better
        validation auPRC (``patience >= epochs``: the best of all epochs).
    batch_size : even; half positives, half negatives.
    max_shift : shift each training sequence by a random ``-max_shift..max_shift`` bases (the bases
        shifted in are N, all-zero one-hot columns); 0 = off.
    """

    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    lr_schedule: str = "constant"
    lr_patience: int = 2
    epochs: int = 30
    patience: int = 5
    batch_size: int = 64
    max_shift: int = 0


# Defaults of each preset; the choices and their measured effects are in benchmarks/bench_train.py and the README.
RECIPES = {
    "basset": Recipe(weight_decay=0.1, lr_schedule="plateau", epochs=40, patience=8, max_shift=10),
    "beluga": Recipe(weight_decay=0.1, lr_schedule="plateau", epochs=40, patience=8, max_shift=10),
    "reference": Recipe(epochs=40, patience=40),
    "tiny": Recipe(),
}
LR_SCHEDULES = ("constant", "plateau")


@dataclass
class SplitData:
    """One split held in memory as integer codes."""

    ids: list[str]
    codes: np.ndarray  # (N, L) uint8
    labels: np.ndarray  # (N,) int64, 1 = positive

    @property
    def class_counts(self) -> dict[str, int]:
        positives = int(self.labels.sum())
        return {"negative": len(self.labels) - positives, "positive": positives}


@dataclass
class TrainingData:
    """The three splits of a regsim dataset and where they came from."""

    splits: dict[str, SplitData]
    sequence_length: int
    provenance: dict = field(default_factory=dict)


def load_training_data(dataset: str | os.PathLike, config_name: str | None = None) -> TrainingData:
    """Read a regsim dataset with ``datasets.load_dataset`` and check it can be trained on.

    Parameters
    ----------
    dataset : str or path
        A dataset folder written by ``regsim build`` (or a Hub repository id).
    config_name : str, optional
        Dataset config; default: the dataset's default (its only config, or the one marked default).

    Returns
    -------
    TrainingData
        ``splits`` train/validation/test with ``(N, L)`` uint8 codes and 0/1 labels, the common
        sequence length ``L``, and ``provenance`` (dataset, config, version, manifest and parquet
        sha256).

    Raises
    ------
    UserError
        Missing folder, config or split; a split without both classes; wrong columns or labels;
        sequences of different lengths; parquet files that do not match ``build_manifest.json``.
    """

    dataset = str(dataset)
    dataset_dict = read_dataset(dataset, config_name)
    splits = _read_splits(dataset, dataset_dict)
    resolved_config = dataset_dict["train"].info.config_name or config_name
    length = splits["train"].codes.shape[1]
    provenance = _provenance(dataset, resolved_config, splits)
    return TrainingData(splits=splits, sequence_length=length, provenance=provenance)


def _read_splits(dataset: str, dataset_dict) -> dict[str, SplitData]:
    missing = [s for s in SPLITS if s not in dataset_dict]
    if missing:
        raise UserError(f"dataset {dataset} has no {', '.join(missing)} split (it has {', '.join(dataset_dict)})")

    splits, length = {}, None
    for name in SPLITS:
        split = read_split(dataset, None, name, columns=("id", "sequence", "label"), data=dataset_dict)
        where = f"dataset {dataset}, split {name}"
        label_feature = split.features["label"]
        if getattr(label_feature, "names", None) != LABEL_NAMES:
            raise UserError(f"{where}: column 'label' must be a ClassLabel {LABEL_NAMES}, got {label_feature}")
        sequences = list(split["sequence"])
        split_length = len(sequences[0])
        try:
            codes = encode_integers(sequences)
        except UserError as error:
            raise UserError(f"{where}: {error}") from error
        if length is not None and split_length != length:
            raise UserError(f"{where}: sequences have length {split_length}, the train split has {length}")
        length = split_length
        labels = np.asarray(list(split["label"]), dtype=np.int64)
        data = SplitData(ids=list(split["id"]), codes=codes, labels=labels)
        for label_name, count in data.class_counts.items():
            if count == 0:
                raise UserError(f"{where} has no {label_name} example; auROC and auPRC need both classes")
        splits[name] = data

    return splits


def balanced_batches(labels: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch of batches, each ``batch_size / 2`` positives and ``batch_size / 2`` negatives.

    The larger class is seen once in a fresh random order (its last batch is topped up from the next
    permutation); the smaller class is cycled through as many fresh permutations as needed.

    Parameters
    ----------
    labels : np.ndarray
        ``(N,)`` 0/1 labels.
    batch_size : int
        Even, at least 2.
    rng : np.random.Generator

    Returns
    -------
    list of np.ndarray
        ``ceil(max(n_pos, n_neg) / (batch_size / 2))`` index arrays of length ``batch_size``,
        negatives first then positives, in the order drawn.
    """
    if batch_size < 2 or batch_size % 2:
        raise UserError(f"--batch-size must be an even number >= 2 (half positives, half negatives), got {batch_size}")
    half = batch_size // 2
    classes = [np.flatnonzero(labels == 0), np.flatnonzero(labels == 1)]
    n_batches = math.ceil(max(len(c) for c in classes) / half)
    streams = []
    for members in classes:
        draws, total = [], 0
        while total < n_batches * half:
            draws.append(members[rng.permutation(len(members))])
            total += len(members)
        streams.append(np.concatenate(draws)[: n_batches * half].reshape(n_batches, half))
    return [np.concatenate([streams[0][b], streams[1][b]]) for b in range(n_batches)]


def _reverse_complement_some(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Reverse-complement a random half (each row with probability 1/2) of ``(N, L)`` integer codes."""
    flip = rng.random(len(codes)) < 0.5
    out = codes.copy()
    rows = codes[flip, ::-1]
    out[flip] = np.where(rows < 4, 3 - rows, rows)
    return out


def _shift_some(codes: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """Shift each row of ``(N, L)`` codes by a random ``-max_shift..max_shift`` bases, filling with N (4)."""
    shifts = rng.integers(-max_shift, max_shift + 1, size=len(codes))
    out = np.full_like(codes, 4)
    length = codes.shape[1]
    for row, shift in enumerate(shifts):
        if shift >= 0:
            out[row, shift:] = codes[row, : length - shift]
        else:
            out[row, :shift] = codes[row, -shift:]
    return out


def predict_logits(model, codes: np.ndarray, *, batch_size: int = 256, device: str = "cpu", verbose: bool = False) -> np.ndarray:
    """Logits of the positive class for ``(N, L)`` integer codes, in evaluation mode.

    Returns
    -------
    np.ndarray
        ``(N,)`` float32.
    """
    import torch

    was_training = model.training
    model.eval()
    out = []
    with torch.no_grad():
        for start in progress(range(0, len(codes), batch_size), desc="predict", unit="batch", verbose=verbose):
            batch = torch.from_numpy(one_hot_from_integers(codes[start : start + batch_size])).to(device)
            out.append(model.logits(batch)[:, 0].float().cpu().numpy())
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def train(
    dataset: str | os.PathLike,
    *,
    arch: str,
    out: str | os.PathLike,
    config_name: str | None = None,
    epochs: int | None = None,
    patience: int | None = None,
    learning_rate: float | None = None,
    weight_decay: float | None = None,
    lr_schedule: str | None = None,
    max_shift: int | None = None,
    width_multiplier: float | None = None,
    config_overrides: dict | None = None,
    max_minutes: float | None = None,
    num_threads: int = 1,
    reverse_complement: bool = True,
    force: bool = False,
    batch_size: int | None = None,
    device: str = "cpu",
    init_from: str | os.PathLike | None = None,
    init_task: int = 0,
    random_state: int = 0,
    verbose: bool = True,
) -> dict:
    """Train a preset on a regsim dataset and write the model folder ``out``.

    Parameters
    ----------
    dataset : str or path
        Dataset folder (``regsim build``) or Hub repository id.
    arch : {"basset", "beluga", "reference", "tiny"}
        Preset (:func:`models.preset_config`), adapted to the dataset's sequence length.
    out : str or path
        Model folder to write; must not exist unless ``force``.
    config_name : str, optional
        Dataset config (default: the dataset's default).
    epochs, patience, learning_rate, weight_decay, lr_schedule, max_shift : optional
        Override the preset's :class:`Recipe` (``RECIPES[arch]``). ``epochs``: maximum number of
        epochs (one epoch = the larger class seen once); ``patience``: stop after this many epochs
        without a better validation auPRC.
    width_multiplier : float, optional
        Default: ``DEFAULT_WIDTH_MULTIPLIER[arch]``.
    config_overrides : dict, optional
        Other :class:`RegCNNConfig` fields (e.g. ``{"dense_dropout": 0.5}``), for experiments.
    max_minutes : float, optional
        Stop (after validating the current weights) once training has run this long. Runs stopped
        this way depend on the machine's speed and are not reproducible.
    num_threads : int, default 1
        PyTorch intra-op threads during training. PyTorch's CPU reductions depend on the thread
        count (measured: 1 and 2 threads give different weights), so the default is a constant, not
        the machine's core count: the same seed gives the same weights on any machine with the same
        thread count (and CPU instruction set). Recorded in ``training_log.json`` and the card.
    reverse_complement : bool, default True
        Replace each training sequence by its reverse complement with probability 1/2 (drawn from
        the seeded generator). Validation and test sequences are used as they are.
    force : bool, default False
        Replace an existing ``out`` folder.
    batch_size : int, optional
        Even; half positives, half negatives (default: the preset's recipe, 64 for all presets).
    device : str, default "cpu"
    init_from : str or path, optional
        ``basset`` / ``beluga``: start from the public weights in this file (Kipoi's Basset port,
        ExPecto's Beluga) mapped onto the full-width preset (:mod:`models.pretrained`); its sha256 goes
        into the model card. The width multiplier must be 1 (or unset).
    init_task : int, default 0
        Output unit of ``init_from`` kept as the logit.
    random_state : int, default 0
        Seeds the weights, the batch order and dropout.
    verbose : bool, default True
        Progress bars and one log line per epoch.

    Returns
    -------
    dict
        The contents of ``eval_results.json``.
    """
    from .configuration_regcnn import PRESETS

    out = Path(out)
    if arch not in PRESETS:
        raise UserError(f"unknown --arch {arch!r}; choose one of {', '.join(sorted(PRESETS))}")
    recipe = _recipe(arch, epochs=epochs, patience=patience, learning_rate=learning_rate, weight_decay=weight_decay,
                     lr_schedule=lr_schedule, max_shift=max_shift, batch_size=batch_size)
    _check_overrides(config_overrides or {})
    with replace_folder(out, force=force, is_ours=is_model_folder, kind="model") as staging:
        results = _fit(
            dataset, arch=arch, staging=staging, model_name=out.name, config_name=config_name, recipe=recipe,
            width_multiplier=width_multiplier, config_overrides=config_overrides, max_minutes=max_minutes,
            num_threads=num_threads, reverse_complement=reverse_complement, device=device, init_from=init_from,
            init_task=init_task,
            random_state=random_state, verbose=verbose,
        )
    _log(verbose, f"wrote {out}")
    return results


def is_model_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a model folder written by ``regsim train`` (its folder contract)."""
    path = Path(path)
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("model_type") == "regcnn" and all(
        (path / name).is_file() for name in ("eval_results.json", "training_log.json")
    )


def _fit(dataset, *, arch, staging: Path, model_name: str, config_name, recipe: Recipe, width_multiplier,
         config_overrides, max_minutes, num_threads, reverse_complement, device, init_from, init_task, random_state,
         verbose) -> dict:
    """:func:`train`'s work: validate, train, evaluate, and write the model folder into ``staging``."""
    import torch
    from sklearn.metrics import average_precision_score, roc_auc_score

    from .configuration_regcnn import preset_config
    from .modeling_regcnn import RegCNNForSequenceClassification

    epochs, patience, batch_size = recipe.epochs, recipe.patience, recipe.batch_size
    device = torch_device(device)
    if max_minutes is not None and not max_minutes > 0:
        raise UserError(f"--max-minutes must be positive, got {max_minutes}")

    if init_from is not None and width_multiplier not in (None, 1, 1.0):
        raise UserError(f"--init-from maps public weights onto the full-width preset; drop --width-multiplier "
                        f"{width_multiplier} (or give 1)")
    data = load_training_data(dataset, config_name)
    if init_from is not None:
        from .pretrained import initial_config

        config = initial_config(arch, data.sequence_length, **(config_overrides or {}))
    else:
        try:
            config = preset_config(arch, data.sequence_length, width_multiplier, **(config_overrides or {}))
        except (TypeError, ValueError) as error:
            raise UserError(f"--arch {arch}: {error}") from error
    train_split, validation = data.splits["train"], data.splits["validation"]

    with _deterministic_torch(num_threads) as threads:
        torch.manual_seed(random_state)
        initialised = None
        if init_from is not None:
            from .pretrained import init_model

            model, initialised = init_model(arch, init_from, data.sequence_length, init_task)
            model, config = model.to(device), model.config
            _log(verbose, f"initialised from {init_from} (sha256 {initialised['sha256'][:12]}..., task {init_task} of "
                 f"{initialised['n_tasks']}; dense layer: positions {initialised['first_kept_position']} to "
                 f"{initialised['first_kept_position'] + initialised['kept_positions'] - 1} of "
                 f"{initialised['original_positions']})")
        else:
            model = RegCNNForSequenceClassification(config).to(device)
        if recipe.weight_decay > 0:
            optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.learning_rate, weight_decay=recipe.weight_decay)
        else:
            optimizer = torch.optim.Adam(model.parameters(), lr=recipe.learning_rate)
        learning_rate, since_better = recipe.learning_rate, 0
        rng = np.random.default_rng(random_state)
        n_params = sum(p.numel() for p in model.parameters())
        _log(verbose, f"{arch}: {n_params:,} parameters (width x{config.width_multiplier:g}, L={data.sequence_length}); "
             f"train {len(train_split.labels)}, validation {len(validation.labels)}, test {len(data.splits['test'].labels)}; "
             f"{threads} thread(s)")

        history, best = [], {"auprc": -np.inf, "epoch": 0, "state": None}
        stopped, started = "max_epochs", time.perf_counter()
        for epoch in range(1, epochs + 1):
            epoch_start = time.perf_counter()
            model.train()
            batches = balanced_batches(train_split.labels, batch_size, rng)
            losses, out_of_time = [], False
            for index in progress(batches, desc=f"epoch {epoch}/{epochs}", unit="batch", verbose=verbose):
                codes = train_split.codes[index]
                if reverse_complement:
                    codes = _reverse_complement_some(codes, rng)
                if recipe.max_shift > 0:
                    codes = _shift_some(codes, recipe.max_shift, rng)
                x = torch.from_numpy(one_hot_from_integers(codes)).to(device)
                y = torch.from_numpy(train_split.labels[index]).to(device)
                loss = model(x, labels=y).loss
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
                if max_minutes is not None and time.perf_counter() - started > max_minutes * 60:
                    out_of_time = True
                    break
            logits = predict_logits(model, validation.codes, device=device)
            auprc = float(average_precision_score(validation.labels, logits))
            auroc = float(roc_auc_score(validation.labels, logits))
            validation_loss = _bce(logits, validation.labels)
            history.append({
                "epoch": epoch,
                "batches": len(losses),
                "learning_rate": learning_rate,
                "train_loss": float(np.mean(losses)),
                "validation_loss": validation_loss,
                "validation_auprc": auprc,
                "validation_auroc": auroc,
                "seconds": time.perf_counter() - epoch_start,
            })
            if auprc > best["auprc"]:
                best, since_better = {"auprc": auprc, "epoch": epoch, "state": copy.deepcopy(model.state_dict())}, 0
            else:
                since_better += 1
            if recipe.lr_schedule == "plateau" and since_better >= recipe.lr_patience:
                learning_rate, since_better = learning_rate / 2, 0
                for group in optimizer.param_groups:
                    group["lr"] = learning_rate
            _log(verbose, f"epoch {epoch}/{epochs}: train loss {history[-1]['train_loss']:.4f}, validation auPRC "
                 f"{auprc:.4f} auROC {auroc:.4f} (best auPRC {best['auprc']:.4f} at epoch {best['epoch']}), "
                 f"{history[-1]['seconds']:.1f} s")
            if out_of_time:
                stopped = "max_minutes"
                break
            if epoch - best["epoch"] >= patience:
                stopped = "early_stopping"
                break
        train_seconds = time.perf_counter() - started
        model.load_state_dict(best["state"])

        results = _evaluate(model, data, device)
        results.update({
            "epochs": len(history),
            "best_epoch": best["epoch"],
            "stopped": stopped,
            "train_seconds": round(train_seconds, 3),
        })
        _log(verbose, f"best epoch {best['epoch']} of {len(history)} ({stopped}): test auROC {results['test_auroc']:.4f}, "
             f"auPRC {results['test_auprc']:.4f}; {train_seconds:.1f} s")

        hyperparameters = {
            "arch": arch,
            "width_multiplier": config.width_multiplier,
            "optimizer": "AdamW" if recipe.weight_decay > 0 else "Adam",
            "learning_rate": recipe.learning_rate,
            "weight_decay": recipe.weight_decay,
            "lr_schedule": (f"halve after {recipe.lr_patience} epochs without a better validation auPRC"
                            if recipe.lr_schedule == "plateau" else "constant"),
            "loss": "binary cross-entropy on the logit",
            "batch_size": batch_size,
            "batch_sampling": "balanced: half positives, half negatives",
            "augmentation": _augmentation(reverse_complement, recipe.max_shift),
            "max_shift": recipe.max_shift,
            "config_overrides": dict(config_overrides or {}),
            "max_epochs": epochs,
            "patience": patience,
            "early_stopping_metric": "validation_auprc",
            "max_minutes": max_minutes,
            "seed": random_state,
            "num_threads": threads,
            "device": str(device),
            "init_from": initialised,
        }
        config.training = {**data.provenance["summary"], "seed": random_state, "init_from": initialised}
        log = {
            "hyperparameters": hyperparameters,
            "data": data.provenance,
            "parameters": n_params,
            "history": history,
            "results": results,
            "software": _software_versions(),
        }
        _write_model_folder(model, staging, model_name=model_name, results=results, log=log)
    return results


def _recipe(arch: str, **overrides) -> Recipe:
    """The preset's recipe with the given (not None) fields replaced, checked."""
    from dataclasses import replace

    recipe = replace(RECIPES[arch], **{k: v for k, v in overrides.items() if v is not None})
    for flag, value, low in (("--epochs", recipe.epochs, 1), ("--patience", recipe.patience, 1), ("--max-shift", recipe.max_shift, 0)):
        if value < low:
            raise UserError(f"{flag} must be >= {low}, got {value}")
    if not (math.isfinite(recipe.learning_rate) and recipe.learning_rate > 0):
        raise UserError(f"--learning-rate must be positive, got {recipe.learning_rate}")
    if not (math.isfinite(recipe.weight_decay) and recipe.weight_decay >= 0):
        raise UserError(f"--weight-decay must be >= 0, got {recipe.weight_decay}")
    if recipe.lr_schedule not in LR_SCHEDULES:
        raise UserError(f"--lr-schedule must be one of {', '.join(LR_SCHEDULES)}, got {recipe.lr_schedule!r}")
    if recipe.batch_size < 2 or recipe.batch_size % 2:
        raise UserError(f"--batch-size must be an even number >= 2 (half positives, half negatives), got {recipe.batch_size}")
    return recipe


def _check_overrides(overrides: dict) -> None:
    """Only layer fields of :class:`RegCNNConfig` may be overridden (transformers would keep any name silently)."""
    import inspect

    from .configuration_regcnn import RegCNNConfig

    allowed = set(inspect.signature(RegCNNConfig.__init__).parameters) - {"self", "kwargs", "sequence_length", "preset", "width_multiplier", "training"}
    unknown = sorted(set(overrides) - allowed)
    if unknown:
        raise UserError(f"--set {unknown[0]}: not a model configuration field (one of {', '.join(sorted(allowed))})")


def _augmentation(reverse_complement: bool, max_shift: int) -> str:
    parts = ["reverse complement with probability 1/2"] if reverse_complement else []
    if max_shift:
        parts.append(f"random shift of up to {max_shift} bp (N-filled)")
    return ", ".join(parts) or "none"


def _bce(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean binary cross-entropy of logits against 0/1 labels (numerically stable)."""
    z = logits.astype(np.float64)
    return float(np.mean(np.maximum(z, 0) - z * labels + np.log1p(np.exp(-np.abs(z)))))


def _evaluate(model, data: TrainingData, device) -> dict:
    from sklearn.metrics import average_precision_score, roc_auc_score

    results = {}
    for name in ("test", "validation"):
        split = data.splits[name]
        logits = predict_logits(model, split.codes, device=device)
        results[f"{name}_auroc"] = float(roc_auc_score(split.labels, logits))
        results[f"{name}_auprc"] = float(average_precision_score(split.labels, logits))
    for name in SPLITS:
        results[f"{name}_size"] = len(data.splits[name].labels)
    results["test_positive_fraction"] = float(data.splits["test"].labels.mean())
    return results


def _write_model_folder(model, folder: Path, *, model_name: str, results: dict, log: dict) -> None:
    from transformers.utils import logging as transformers_logging

    from .model_card import write_model_card
    from .plot_training_curves import plot_training_curves

    bars = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()  # its one-shard "Writing model shards" bar
    try:
        model.save_pretrained(folder)
        _write_json(folder / "eval_results.json", results)
        _write_json(folder / "training_log.json", log)
        plot_training_curves(log["history"], folder / "training_curves.png", title=model_name)
        write_model_card(folder, model_name=model_name)
    finally:
        if bars:
            transformers_logging.enable_progress_bar()


@contextlib.contextmanager
def _deterministic_torch(num_threads: int):
    """Deterministic algorithms and a fixed thread count, restored afterwards."""
    import torch

    previous = (torch.are_deterministic_algorithms_enabled(), torch.get_num_threads())
    threads = int(num_threads)
    if threads < 1:
        raise UserError(f"--threads must be >= 1, got {num_threads}")
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # needed by deterministic CUDA matmuls
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)
    try:
        yield threads
    finally:
        torch.use_deterministic_algorithms(previous[0])
        torch.set_num_threads(previous[1])


def _provenance(dataset: str, config_name: str | None, splits: dict[str, SplitData]) -> dict:
    """Dataset identity for the model card and config: name, config, version, checksums, sizes."""
    local = Path(dataset)
    provenance = {
        "dataset": dataset if not local.exists() else local.resolve().name,  # no local paths in shared files
        "dataset_name": local.resolve().name if local.exists() else dataset,
        "hub_repo_id": None if local.exists() else dataset,
        "config": config_name,
        "version": None,
        "pretty_name": None,
        "manifest_sha256": None,
        "data_files": {},
        "splits": {name: {"size": len(s.labels), **s.class_counts} for name, s in splits.items()},
        "sequence_length": int(splits["train"].codes.shape[1]),
    }
    if local.is_dir():
        card = read_card_metadata(local)
        provenance["pretty_name"] = card.get("pretty_name")
        provenance["version"] = card.get("version")
        data_files = [path.relative_to(local).as_posix() for path in config_data_files(local, config_name, card)]
        if (local / MANIFEST).is_file():
            manifest = read_manifest(local)
            provenance["manifest_sha256"] = sha256(local / MANIFEST)
            provenance["version"] = manifest["dataset_version"]
            provenance["dataset_name"] = manifest.get("dataset_name") or provenance["dataset_name"]
            verify_outputs(local, manifest, data_files)
        provenance["data_files"] = {relative: sha256(local / relative) for relative in data_files}
    provenance["summary"] = {
        key: provenance[key]
        for key in ("dataset_name", "hub_repo_id", "config", "version", "manifest_sha256", "sequence_length")
    }
    provenance["summary"]["data_files_sha256"] = provenance["data_files"]
    return provenance


def _software_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for package in ("regsim", "torch", "transformers", "datasets", "numpy", "scikit-learn"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return versions


def _write_json(path: Path, payload) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _log(verbose: bool, message: str) -> None:
    """One log line on stderr, between the progress bars."""
    StageLog(verbose, stream="stderr", elapsed=False)(message)
