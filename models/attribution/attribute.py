"""The method registry, one call to run any method x reference, and the files ``regsim attribute`` writes.

Method names (as on the command line), what they accept and return:

================================  =====================  ============  ==============================
name                              references             output        function
================================  =====================  ============  ==============================
``ism``                           none                   (N, 4, L)     :func:`~.ism.ism` (+ importance)
``saliency``                      none                   (N, 4, L)     :func:`~.gradients.saliency`
``grad_x_input``                  none                   (N, 4, L)     :func:`~.gradients.grad_x_input`
``integrated_gradients``          any (default zeros)    (N, 4, L)     :func:`~.integrated_gradients.integrated_gradients`
``deeplift``                      any (default zeros)    (N, 4, L)     :func:`~.deeplift.deeplift`
``deepshap``                      any (default shuffled) (N, 4, L)     :func:`~.deeplift.deepshap`
``deeplift_rsconv``               any (default zeros)    (N, 4, L)     :func:`~.deeplift.deeplift`, RevealCancel on dense layers
``deepshap_rsconv``               any (default shuffled) (N, 4, L)     :func:`~.deeplift.deepshap`, RevealCancel on dense layers
``gradcam_last``                  none                   (N, L)        :func:`~.gradcam.gradcam` (last conv)
``gradcam_first``                 none                   (N, L)        :func:`~.gradcam.gradcam` (first conv)
``zheng``                         none                   (N, 4, L)     :func:`~.gradcam.zheng`
``grad_x_act_first``              none                   (N, L)        :func:`~.gradcam.grad_x_act`
``deeplift_first``                any (default shuffled) (N, L)        :func:`~.deeplift.deeplift_layer`
``gkmexplain``                    none                   (N, 4, L)     :func:`~.gkmexplain.gkmexplain` (gkm-SVMs only)
================================  =====================  ============  ==============================

A gkm-SVM (:mod:`models.gkmsvm`) takes ``gkmexplain`` and ``ism`` (:func:`~.gkmexplain.gkm_ism`).

Suffixes: ``_offsimplex`` applies the off-simplex gradient correction (gradient-based methods:
``saliency``, ``grad_x_input``, ``integrated_gradients``, ``deeplift``, ``deepshap``, ``zheng``);
``_<K>steps`` sets Integrated Gradients' steps (``integrated_gradients_10steps``). References:
``zeros``, ``base_freq``, ``gc_matched``, ``shuffled`` (``n_refs`` shuffles) or ``shuffled<K>``;
reference-free methods use the name ``none``.

Each run writes ``<method>__<reference>.npz`` (assembled from shards written as they are computed, see
:mod:`._shards`) holding ``attributions`` (float32), ``ids``,
``sequences`` (one-hot, float32) and, where the method has them, ``hypothetical`` (DeepLIFT,
DeepSHAP, IG), ``importance`` (ISM), ``output_difference`` and ``attribution_sum`` (the
completeness check); and adds an entry to ``summary.json``. Files are written with fixed zip
timestamps, so the same inputs and seed give byte-identical ``.npz`` files.
"""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from regsim.dataset_builder.core.errors import UserError
from regsim.dataset_builder.core.io import output_lock, write_atomic

from ._common import Completeness, validate_inputs
from .deeplift import deeplift, deeplift_layer, deepshap
from .gkmexplain import gkm_ism, gkmexplain
from .gradcam import grad_x_act, gradcam, zheng
from .gradients import grad_x_input, saliency
from .integrated_gradients import DEFAULT_N_STEPS, integrated_gradients
from .ism import ism, ism_importance
from .references import DEFAULT_N_REFS, REFERENCE_NAMES, ReferenceSource, parse_reference

ANY_REFERENCE = REFERENCE_NAMES


@dataclass(frozen=True)
class MethodSpec:
    """One entry of :data:`METHODS`.

    Attributes
    ----------
    name : str
    function : callable
        The public function computing it (signature tail ``batch_size, device, random_state, verbose``).
    references : tuple of str
        Reference kinds it accepts; ``("none",)`` for reference-free methods.
    default_reference : str
    base_level : bool
        Output ``(N, L)`` rather than ``(N, 4, L)``.
    gradient_based : bool
        Accepts the off-simplex correction.
    completeness : bool
        Reports summation-to-delta.
    options : dict
        Fixed keyword arguments (e.g. ``layer="last"``).
    """

    name: str
    function: Callable
    references: tuple
    default_reference: str
    base_level: bool = False
    gradient_based: bool = False
    completeness: bool = False
    options: dict = field(default_factory=dict)

    @property
    def needs_reference(self) -> bool:
        return self.references != ("none",)


METHODS: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in [
        MethodSpec("ism", ism, ("none",), "none"),
        MethodSpec("saliency", saliency, ("none",), "none", gradient_based=True),
        MethodSpec("grad_x_input", grad_x_input, ("none",), "none", gradient_based=True),
        MethodSpec("integrated_gradients", integrated_gradients, ANY_REFERENCE, "zeros", gradient_based=True,
                   completeness=True),
        MethodSpec("deeplift", deeplift, ANY_REFERENCE, "zeros", gradient_based=True, completeness=True),
        MethodSpec("deepshap", deepshap, ANY_REFERENCE, "shuffled", gradient_based=True, completeness=True),
        MethodSpec("deeplift_rsconv", deeplift, ANY_REFERENCE, "zeros", gradient_based=True, completeness=True,
                   options={"rule": "revealcancel"}),
        MethodSpec("deepshap_rsconv", deepshap, ANY_REFERENCE, "shuffled", gradient_based=True, completeness=True,
                   options={"rule": "revealcancel"}),
        MethodSpec("gradcam_last", gradcam, ("none",), "none", base_level=True,
                   options={"layer": "last", "mapping": "linear"}),
        MethodSpec("gradcam_first", gradcam, ("none",), "none", base_level=True, options={"layer": "first"}),
        MethodSpec("zheng", zheng, ("none",), "none", gradient_based=True, options={"layer": "first"}),
        MethodSpec("grad_x_act_first", grad_x_act, ("none",), "none", base_level=True, options={"layer": "first"}),
        MethodSpec("deeplift_first", deeplift_layer, ANY_REFERENCE, "shuffled", base_level=True, completeness=True,
                   options={"layer": "first"}),
        MethodSpec("gkmexplain", gkmexplain, ("none",), "none", completeness=True),
    ]
}

# What a gkm-SVM (models.gkmsvm) takes, and the function that computes it there.
GKMSVM_METHODS = {"ism": gkm_ism, "gkmexplain": gkmexplain}

_METHOD = re.compile(r"^(?P<base>[a-z_]+?)(?:_(?P<steps>\d+)steps)?(?P<offsimplex>_offsimplex)?$")


def parse_method(name: str, n_steps: int = DEFAULT_N_STEPS) -> tuple[MethodSpec, dict]:
    """Resolve a method name with its suffixes into its spec and keyword arguments.

    ``"integrated_gradients_10steps_offsimplex"`` -> ``(METHODS["integrated_gradients"],
    {"n_steps": 10, "off_simplex": True})``.
    """
    match = _METHOD.match(name)
    base = match.group("base") if match else name
    if base not in METHODS:
        raise UserError(f"unknown method {name!r}; choose from {', '.join(METHODS)} "
                        "(suffixes: _offsimplex, _<K>steps for integrated_gradients)")
    spec, kwargs = METHODS[base], {}
    if match.group("steps"):
        if base != "integrated_gradients":
            raise UserError(f"method {name!r}: only integrated_gradients takes a _<K>steps suffix")
        kwargs["n_steps"] = int(match.group("steps"))
    elif base == "integrated_gradients":
        kwargs["n_steps"] = int(n_steps)
    if match.group("offsimplex"):
        if not spec.gradient_based:
            raise UserError(f"method {name!r}: {base} is not gradient-based, so it has no off-simplex variant")
        kwargs["off_simplex"] = True
    return spec, kwargs


def method_names() -> list[str]:
    """Every base method name, then its off-simplex variant where there is one."""
    names = list(METHODS)
    return names + [f"{n}_offsimplex" for n, s in METHODS.items() if s.gradient_based]


@dataclass
class AttributionResult:
    """What one method x reference run produced.

    Attributes
    ----------
    method, reference : str
        Names as given (reference ``"none"`` for reference-free methods).
    arrays : dict of str to np.ndarray
        ``attributions`` and, where available, ``hypothetical``, ``importance``,
        ``output_difference``, ``attribution_sum``.
    settings : dict
        Everything needed to reproduce the run.
    seconds : float
    completeness : Completeness or None
    """

    method: str
    reference: str
    arrays: dict
    settings: dict
    seconds: float
    completeness: Completeness | None = None

    @property
    def attributions(self) -> np.ndarray:
        return self.arrays["attributions"]

    @property
    def file_name(self) -> str:
        return f"{self.method}__{self.reference}.npz"


def attribute(model, X, method: str, reference: str | None = None, *, rows: slice | None = None,
              n_refs: int = DEFAULT_N_REFS, n_steps: int = DEFAULT_N_STEPS, conv_mapping: str | None = None,
              batch_size: int | None = None, device=None, random_state=0, verbose: bool = False) -> AttributionResult:
    """Run one method with one reference.

    Parameters
    ----------
    model : nn.Module
        Maps ``(N, 4, L)`` float32 one-hot to one logit per sequence.
    X : array-like
        ``(N, 4, L)`` one-hot sequences.
    method : str
        A name from :data:`METHODS`, with optional suffixes (see the module docstring).
    reference : str, optional
        ``none`` for reference-free methods; else a reference name. Default: the method's default.
    rows : slice, optional
        Explain only ``X[rows]``, with the references the whole of ``X`` would give them (shuffles keyed
        on the sequence's index in ``X``, base frequencies of all of ``X``): the rows of a full run, to
        float32 rounding. Default: all of ``X``.
    n_refs : int, default 20
        Shuffles per sequence for ``shuffled``.
    n_steps : int, default 20
        Integrated Gradients steps (unless the method name sets them).
    conv_mapping : {"linear", "average"}, optional
        How last-layer position scores map to bases (``gradcam_last``); default linear interpolation,
        the paper's choice. First-layer methods always average over covering positions, as the paper.
    batch_size : int, optional
        Default: each function's own.
    device : str or torch.device, optional
    random_state : int, default 0
    verbose : bool, default False

    Returns
    -------
    AttributionResult
    """
    from regsim.models.gkmsvm import GkmSVMModel

    X = validate_inputs(X)
    spec, kwargs = parse_method(method, n_steps)
    function = spec.function
    if isinstance(model, GkmSVMModel):
        if method not in GKMSVM_METHODS:
            raise UserError(f"method {method!r} needs a neural network; a gkm-SVM takes {', '.join(GKMSVM_METHODS)}")
        function = GKMSVM_METHODS[method]
    elif function is gkmexplain:
        raise UserError("method 'gkmexplain' explains gkm-SVMs (`regsim train --arch gkmsvm`), not neural networks")
    reference = reference or spec.default_reference
    if not spec.needs_reference:
        if reference != "none":
            raise UserError(f"method {method!r} takes no reference (use 'none'), got {reference!r}")
    else:
        kind, count = parse_reference(reference, n_refs)
        if kind not in spec.references:
            raise UserError(f"method {method!r} does not accept reference {reference!r}")
        kwargs["references"] = reference
        kwargs["n_refs"] = count
    if rows is not None:
        rows = slice(*rows.indices(X.shape[0]))
        if spec.needs_reference:
            kwargs["references"] = ReferenceSource(reference, X, n_refs=count, random_state=random_state).batch(
                rows, X[rows])
        X = X[rows]
    kwargs.update(spec.options)
    if conv_mapping is not None and "mapping" in spec.options:
        kwargs["mapping"] = conv_mapping
    tail = {"device": device, "random_state": random_state, "verbose": verbose}
    if batch_size is not None:
        tail["batch_size"] = int(batch_size)
    if function in (deeplift, deepshap, integrated_gradients, gkmexplain):
        kwargs["hypothetical"] = True
    if spec.completeness:
        kwargs["return_completeness"] = True

    start = time.perf_counter()
    output = function(model, X, **kwargs, **tail)
    seconds = time.perf_counter() - start

    completeness = None
    if spec.completeness:
        output, completeness = output
    arrays = {}
    if kwargs.get("hypothetical"):
        arrays["attributions"] = (output * X).astype(np.float32)
        arrays["hypothetical"] = output.astype(np.float32)
    else:
        arrays["attributions"] = np.asarray(output, dtype=np.float32)
    if spec.name == "ism":
        arrays["importance"] = ism_importance(output)
    if completeness is not None:
        arrays["output_difference"] = completeness.output_difference.astype(np.float64)
        arrays["attribution_sum"] = completeness.attribution_sum.astype(np.float64)
    settings = {k: v for k, v in kwargs.items() if k not in ("hypothetical", "return_completeness", "references")}
    settings.update({"function": f"{function.__module__}.{function.__name__}",
                     "batch_size": tail.get("batch_size"), "random_state": random_state})
    return AttributionResult(method, reference, arrays, settings, seconds, completeness)


def save_npz(path, **arrays) -> None:
    """``numpy.savez`` with fixed zip timestamps, so equal arrays give byte-identical files."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asanyarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue())
    tmp.replace(path)


def plan(methods: list[str], references: list[str] | None, n_steps: int = DEFAULT_N_STEPS) -> list[tuple[str, str]]:
    """The (method, reference) runs for a list of methods and references.

    Reference-free methods run once with ``none``; the others with every listed reference (their
    default when none is listed). Unknown names raise :class:`UserError` before anything runs.
    """
    runs = []
    for method in methods:
        spec, _ = parse_method(method, n_steps)
        if not spec.needs_reference:
            runs.append((method, "none"))
            continue
        listed = [r for r in (references or []) if r != "none"]
        for reference in listed or [spec.default_reference]:
            kind, _ = parse_reference(reference)
            if kind not in spec.references:
                raise UserError(f"method {method!r} does not accept reference {reference!r}")
            runs.append((method, reference))
    return runs


#: Sequences per shard of ``regsim attribute`` (memory is bounded by one shard of every array).
DEFAULT_SHARD_SIZE = 512


def run_attributions(model, X, ids, methods: list[str], references: list[str] | None, out_dir, *,
                     n_refs: int = DEFAULT_N_REFS, n_steps: int = DEFAULT_N_STEPS, shard_size: int = DEFAULT_SHARD_SIZE,
                     batch_size: int | None = None, device=None, random_state=0, verbose: bool = False,
                     modisco: bool = False, metadata: dict | None = None, log=print) -> dict:
    """Run every method x reference, write the files and ``summary.json`` (merged with an existing one).

    Sequences are explained ``shard_size`` at a time and every shard is written to disk at once
    (:mod:`._shards`), so memory is bounded by a shard; the final ``<method>__<reference>.npz`` is
    assembled from the shards by streaming. Under ``accelerate launch --num_processes N`` the shards are
    shared among the processes and the main process assembles the same files.

    Parameters
    ----------
    model : nn.Module
    X : np.ndarray
        ``(N, 4, L)`` one-hot sequences.
    ids : sequence of str
        ``N`` sequence identifiers.
    methods, references : list of str
        See :func:`plan`.
    out_dir : path
    n_refs, n_steps, batch_size, device, random_state, verbose
        As in :func:`attribute`; ``device`` defaults to the one accelerate assigns to this process.
    shard_size : int, default 512
        Sequences per shard.
    modisco : bool, default False
        Also write modisco-lite inputs (``modisco/ohe.npz`` and one ``arr_0`` file per run).
    metadata : dict, optional
        Extra top-level fields for ``summary.json`` (model, dataset, split, ...).
    log : callable, default print
        Receives one line per finished run (main process only).

    Returns
    -------
    dict
        The summary written to ``summary.json`` (empty in the other processes).
    """
    from ._shards import Processes

    X = validate_inputs(X)
    if len(ids) != len(X):
        raise UserError(f"{len(ids)} ids for {len(X)} sequences")
    if shard_size < 1:
        raise UserError(f"shard_size must be a positive integer, got {shard_size}")
    runs = plan(methods, references, n_steps)
    processes = Processes()
    if processes.device is not None and device is None:
        device = processes.device
        model = model.to(device)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out {out_dir} is a file; give a folder for the attribution files")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot create {out_dir}: {error.strerror}") from None
    run = dict(n_refs=n_refs, n_steps=n_steps, shard_size=shard_size, batch_size=batch_size, device=device,
               random_state=random_state, verbose=verbose, modisco=modisco, metadata=metadata, log=log)
    if not processes.main:  # the main process holds the output folder for all of them
        return _run_into(model, X, ids, runs, out_dir, processes, **run)
    with output_lock(out_dir / "summary.json"):
        return _run_into(model, X, ids, runs, out_dir, processes, **run)


def _read_summary(path: Path) -> dict:
    """An existing ``summary.json`` (to merge into), or ``{}``."""
    if not path.exists():
        return {}
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: not valid JSON ({error}); move it away to start a new summary") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("files", []), list) or not all(
        isinstance(e, dict) and isinstance(e.get("file"), str) for e in summary.get("files", [])
    ):
        raise UserError(f"{path}: not a regsim attribution summary; move it away to start a new one")
    return summary


def _run_into(model, X, ids, runs, out_dir: Path, processes, *, n_refs, n_steps, shard_size, batch_size, device,
              random_state, verbose, modisco, metadata, log) -> dict:
    from regsim.dataset_builder.core.log import progress

    from ._shards import assemble, remove_shards, shard_folder, write_shard

    summary_path = out_dir / "summary.json"
    summary = _read_summary(summary_path)
    entries = {e["file"]: e for e in summary.get("files", [])}
    summary.update(metadata or {})
    summary.update({"n_sequences": int(X.shape[0]), "sequence_length": int(X.shape[-1]),
                    "n_refs": int(n_refs), "n_steps": int(n_steps), "random_state": random_state})
    ids = np.asarray([str(i) for i in ids], dtype=np.str_)
    shards = [slice(a, min(a + shard_size, len(X))) for a in range(0, len(X), shard_size)]
    mine = [k for k in range(len(shards)) if processes.mine(k)]
    total = len(runs) * sum(shards[k].stop - shards[k].start for k in mine)
    with progress(total=total, desc="Attributing", unit="seq", verbose=verbose and processes.main) as bar:
        for method, reference in runs:
            started = time.perf_counter()
            file_name = f"{method}__{reference}.npz"
            folder = shard_folder(out_dir, file_name)
            for k in mine:
                result = attribute(model, X, method, reference, rows=shards[k], n_refs=n_refs, n_steps=n_steps,
                                   batch_size=batch_size, device=device, random_state=random_state)
                write_shard(folder, k, {**result.arrays, "sequences": X[shards[k]]})
                bar.update(shards[k].stop - shards[k].start)
                if k == 0:
                    first = result
            processes.wait()
            if not processes.main:
                continue
            layout = [(name, name) for name in first.arrays] + [("ids", ids), ("sequences", "sequences")]
            shapes = assemble(folder, len(shards), out_dir / file_name, layout)
            seconds = time.perf_counter() - started
            entry = {
                "file": file_name,
                "method": method,
                "reference": first.reference,
                "shape": list(shapes["attributions"]),
                "arrays": sorted(shapes),
                "n_sequences": int(X.shape[0]),
                "seconds": round(seconds, 3),
                "sequences_per_second": round(X.shape[0] / seconds, 3) if seconds > 0 else None,
                "settings": first.settings,
                "processes": processes.count,
            }
            if first.completeness is not None:
                with np.load(out_dir / file_name) as data:
                    entry.update(Completeness(data["output_difference"], data["attribution_sum"]).summary())
            if modisco and len(shapes["attributions"]) == 3:
                (out_dir / "modisco").mkdir(exist_ok=True)
                if not (out_dir / "modisco" / "ohe.npz").exists():
                    assemble(folder, len(shards), out_dir / "modisco" / "ohe.npz", [("arr_0", "sequences")])
                scores = "hypothetical" if "hypothetical" in first.arrays else "attributions"
                assemble(folder, len(shards), out_dir / "modisco" / file_name, [("arr_0", scores)])
                entry["modisco"] = f"modisco/{file_name}"
            entries[file_name] = entry
            summary["files"] = sorted(entries.values(), key=lambda e: e["file"])
            write_atomic(summary_path, (json.dumps(summary, indent=2, sort_keys=True) + "\n").encode())
            note = ""
            if first.completeness is not None:
                note = f", completeness max rel {entry['completeness_max_rel']:.2e}"
            log(f"{file_name}: {entry['shape']} in {entry['seconds']:.1f} s "
                f"({entry['sequences_per_second']} seq/s{note})")
    processes.wait()
    if not processes.main:
        return {}
    remove_shards(out_dir)
    return summary
