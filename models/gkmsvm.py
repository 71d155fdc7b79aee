"""``regsim train --arch gkmsvm``: a gapped k-mer SVM (gkmsvm-lite) trained on a regsim dataset.

The paper's baseline: a gkm-SVM with lsgkm's word settings (L=11, k=7, d=3, C=1) on at most 20,000
positives and 20,000 negatives of the train split, explained with GkmExplain. Training, prediction,
ISM and GkmExplain are gkmsvm-lite's (PyPI ``gkmsvm-lite``, MIT; numba kernels ported from lsgkm).

Kernel: ``gkm_esttrunc`` (lsgkm ``-t 2``), not lsgkm's default ``wgkm`` (``-t 4``). In gkmsvm-lite
0.1.0 ``wgkm`` is a different kernel (it weights the positions inside each l-mer, where lsgkm weights
the l-mers by their distance to the sequence centre), its Gram matrix is computed densely (600
sequences of 200 bp asked numpy for 1.04 TiB), and GkmExplain needs a mismatch table that only the
``gkm_cnt`` / ``gkm_estfull`` / ``gkm_esttrunc`` / ``gkmrbf`` kernels have. ``--kernel`` sets another.

Model folder (the CNNs' contract where it applies; written under a temporary name, renamed at the end):

- ``config.json``: ``model_type: gkmsvm``, kernel and its parameters, sequence length, data summary;
- ``model.safetensors``: ``support_sequences`` ``(S, 4, L)`` uint8 one-hot, ``coefficients`` ``(S,)``
  float64 (signed dual coefficients), the bias and kernel in the file's metadata (no pickle);
- ``eval_results.json``: test / validation auROC and auPRC, ``train_seconds``, split sizes, support vectors;
- ``training_log.json``: hyper-parameters, data provenance (sha256 of every file read), the subsample,
  software versions;
- ``README.md``: the model card.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from regsim.dataset_builder.core.errors import UserError
from regsim.dataset_builder.core.log import StageLog
from regsim.dataset_builder.core.seeding import stream_seeds
from regsim.dataset_builder.core.sequences import one_hot_from_integers

MODEL_TYPE = "gkmsvm"
DEFAULT_KERNEL = "gkm_esttrunc"
DEFAULT_MAX_PER_CLASS = 20_000
EXPLAINABLE_KERNELS = ("gkm_cnt", "gkm_estfull", "gkm_esttrunc", "gkmrbf")


def gkmsvm_module():
    """``import gkmsvm`` without its warning that numba already runs the OpenMP threading layer (regsim's
    own numba kernels start it; gkmsvm-lite would pick the workqueue layer if it came first)."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Numba's threading layer is already initialized", category=RuntimeWarning)
        import gkmsvm
    return gkmsvm


class GkmSVMModel:
    """A trained gkm-SVM with its folder metadata.

    Attributes
    ----------
    svm : gkmsvm.GkmSVM
    config : dict
        ``config.json``.
    """

    def __init__(self, svm, config: dict):
        self.svm, self.config = svm, config

    @property
    def bias(self) -> float:
        return float(self.svm.bias)

    def decision_function(self, X: np.ndarray, *, verbose: bool = False) -> np.ndarray:
        """Decision values (the SVM's logit-like score) of ``(N, 4, L)`` one-hot sequences, ``(N,)`` float64."""
        X = np.asarray(X, dtype=np.float64)
        if X.shape[1:] != (4, self.config["sequence_length"]):
            raise UserError(f"the gkm-SVM takes sequences of {self.config['sequence_length']} bp, got shape {X.shape}")
        return np.asarray(self.svm(X)).reshape(-1).astype(np.float64)


def is_gkmsvm_folder(model_dir) -> bool:
    """Whether ``model_dir`` is a gkm-SVM folder written by :func:`train_gkmsvm` (``config.json`` says
    ``model_type: gkmsvm``; ``model.safetensors`` and ``eval_results.json`` are there)."""
    path = Path(model_dir)
    try:
        config = json.loads((path / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("model_type") == MODEL_TYPE and all(
        (path / name).is_file() for name in ("model.safetensors", "eval_results.json"))


def save_gkmsvm(model: GkmSVMModel, folder: Path) -> None:
    """Write ``model.safetensors`` and ``config.json`` of ``model`` into ``folder``."""
    from safetensors.numpy import save_file

    svm = model.svm
    support = np.asarray(svm.support_sequences)
    metadata = {"bias": repr(float(svm.bias)), "kernel_type": svm.kernel_type,
                "kernel_params": json.dumps(svm._kernel_params, sort_keys=True), "format": "gkmsvm-lite"}
    save_file({"support_sequences": np.ascontiguousarray(support.round().astype(np.uint8)),
               "coefficients": np.ascontiguousarray(np.asarray(svm.coefficients, dtype=np.float64))},
              str(folder / "model.safetensors"), metadata=metadata)
    (folder / "config.json").write_text(json.dumps(model.config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def load_gkmsvm(model_dir) -> GkmSVMModel:
    """Read a folder written by :func:`train_gkmsvm`."""
    from safetensors import safe_open

    GkmSVM = gkmsvm_module().GkmSVM

    folder = Path(model_dir)
    path = folder / "model.safetensors"
    if not path.is_file():
        raise UserError(f"{folder} has no model.safetensors")
    config = json.loads((folder / "config.json").read_text())
    try:
        with safe_open(str(path), framework="numpy") as handle:
            metadata = handle.metadata() or {}
            support = handle.get_tensor("support_sequences").astype(np.float64)
            coefficients = handle.get_tensor("coefficients")
        svm = GkmSVM(support, coefficients, float(metadata["bias"]), metadata["kernel_type"],
                     json.loads(metadata["kernel_params"]), device="cpu")
    except (KeyError, ValueError, OSError) as error:
        raise UserError(f"{path}: not a regsim gkm-SVM file ({error})") from error
    return GkmSVMModel(svm, config)


def subsample(labels: np.ndarray, max_per_class: int, random_state: int) -> np.ndarray:
    """Indices of at most ``max_per_class`` records of each class, sorted.

    Each record's keep-priority is its own counter-based seed (:func:`core.seeding.stream_seeds`), so
    the choice does not depend on the order of the others.
    """
    keep = []
    for label, name in ((1, "positive"), (0, "negative")):
        members = np.flatnonzero(labels == label)
        if len(members) > max_per_class:
            priority = stream_seeds(random_state, f"gkmsvm-subsample-{name}", members)
            members = np.sort(members[np.argsort(priority, kind="stable")[:max_per_class]])
        keep.append(members)
    return np.sort(np.concatenate(keep))


def train_gkmsvm(
    dataset,
    *,
    out,
    config_name: str | None = None,
    kernel: str = DEFAULT_KERNEL,
    word_length: int = 11,
    informative: int = 7,
    max_mismatch: int = 3,
    C: float = 1.0,
    max_per_class: int = DEFAULT_MAX_PER_CLASS,
    num_threads: int = 1,
    force: bool = False,
    random_state: int = 0,
    verbose: bool = True,
) -> dict:
    """Train a gkm-SVM on a regsim dataset's train split, evaluate it, write the model folder ``out``.

    Parameters
    ----------
    dataset : str or path
        Dataset folder (``regsim build``) or Hub repository id.
    out : str or path
        Model folder; must not exist unless ``force``.
    config_name : str, optional
    kernel : str, default "gkm_esttrunc"
        A gkmsvm-lite kernel name or lsgkm ``-t`` number (see the module docstring).
    word_length, informative, max_mismatch : int, default 11, 7, 3
        lsgkm's ``-l``, ``-k``, ``-d``.
    C : float, default 1.0
    max_per_class : int, default 20000
        At most this many positives and this many negatives of the train split.
    num_threads : int, default 1
        numba threads.
    force : bool, default False
    random_state : int, default 0
        Seeds the subsample.
    verbose : bool, default True

    Returns
    -------
    dict
        The contents of ``eval_results.json``.
    """
    import numba
    from sklearn.metrics import average_precision_score, roc_auc_score

    from .train import _software_versions, load_training_data

    out = Path(out)
    if out.exists() and not force:
        raise UserError(f"{out} already exists; use --force to replace it")
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} exists and is not a folder; not replacing it")
    if not 1 <= informative <= word_length or not 0 <= max_mismatch <= word_length - informative:
        raise UserError(f"gkm-SVM words need 1 <= k <= L and 0 <= d <= L - k, got L={word_length}, k={informative}, "
                        f"d={max_mismatch}")
    if max_per_class < 1 or C <= 0 or num_threads < 1:
        raise UserError("--max-per-class and --threads must be positive integers and --svm-c a positive number")
    gkmsvm = gkmsvm_module()
    try:
        kernel_type = gkmsvm.resolve_kernel_type(int(kernel) if str(kernel).isdigit() else kernel)
    except (ValueError, NotImplementedError) as error:
        raise UserError(f"--kernel {kernel!r}: {error}") from error
    log = StageLog(verbose, stream="stderr", elapsed=False)

    data = load_training_data(dataset, config_name)
    train_split = data.splits["train"]
    keep = subsample(train_split.labels, max_per_class, random_state)
    X = one_hot_from_integers(train_split.codes[keep]).astype(np.float64)
    y = train_split.labels[keep]
    log(f"gkm-SVM ({kernel_type}, L={word_length}, k={informative}, d={max_mismatch}, C={C}): "
        f"{int(y.sum())} positives, {int(len(y) - y.sum())} negatives of {len(keep)}/{len(train_split.labels)} "
        f"train sequences; {num_threads} thread(s)")
    previous_threads = numba.get_num_threads()
    numba.set_num_threads(min(num_threads, numba.config.NUMBA_NUM_THREADS))
    try:
        started = time.perf_counter()
        svm = gkmsvm.train_gkmsvm(X[y == 1], X[y == 0], kernel_type=kernel_type, l=word_length, k=informative,
                                  d=max_mismatch, C=C, device="cpu", solver="libsvm")
        train_seconds = time.perf_counter() - started
        model = GkmSVMModel(svm, {"sequence_length": data.sequence_length})
        results = {}
        for name in ("test", "validation"):
            split = data.splits[name]
            scores = model.decision_function(one_hot_from_integers(split.codes))
            results[f"{name}_auroc"] = float(roc_auc_score(split.labels, scores))
            results[f"{name}_auprc"] = float(average_precision_score(split.labels, scores))
    finally:
        numba.set_num_threads(previous_threads)
    results.update({f"{name}_size": len(data.splits[name].labels) for name in ("train", "validation", "test")})
    results.update({
        "test_positive_fraction": float(data.splits["test"].labels.mean()),
        "train_sequences_used": int(len(keep)),
        "support_vectors": int(len(svm.coefficients)),
        "train_seconds": round(train_seconds, 3),
    })
    log(f"test auROC {results['test_auroc']:.4f}, auPRC {results['test_auprc']:.4f}; "
        f"{results['support_vectors']} support vectors; trained in {train_seconds:.1f} s")
    hyperparameters = {
        "arch": MODEL_TYPE, "kernel": kernel_type, "L": word_length, "k": informative, "d": max_mismatch, "C": C,
        "reverse_complement": True, "max_per_class": max_per_class, "seed": random_state, "num_threads": num_threads,
        "solver": "precomputed Gram matrix + libsvm (scikit-learn)",
    }
    model.config = {
        "model_type": MODEL_TYPE,
        "kernel_type": kernel_type,
        "kernel_params": svm._kernel_params,
        "C": C,
        "sequence_length": data.sequence_length,
        "training": {**data.provenance["summary"], "seed": random_state},
    }
    training_log = {
        "hyperparameters": hyperparameters,
        "data": data.provenance,
        "subsample": {"train_indices_sha256": _indices_digest(keep), "kept": int(len(keep)),
                      "dropped": int(len(train_split.labels) - len(keep))},
        "results": results,
        "software": {**_software_versions(), "gkmsvm-lite": _version("gkmsvm-lite"), "numba": _version("numba")},
    }
    _write_folder(model, out, force=force, results=results, training_log=training_log)
    log(f"wrote {out}")
    return results


def _write_folder(model: GkmSVMModel, out: Path, *, force: bool, results: dict, training_log: dict) -> None:
    from regsim.dataset_builder.core.io import replace_folder

    from .model_card import write_gkmsvm_card
    from .train import _write_json

    with replace_folder(out, force=force, is_ours=is_gkmsvm_folder, kind="model") as staging:
        save_gkmsvm(model, staging)
        _write_json(staging / "eval_results.json", results)
        _write_json(staging / "training_log.json", training_log)
        write_gkmsvm_card(staging, model_name=out.name)


def _indices_digest(indices: np.ndarray) -> str:
    import hashlib

    return hashlib.sha256(np.asarray(indices, dtype="<i8").tobytes()).hexdigest()


def _version(package: str):
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None
