"""Speed of regsim's attribution methods, and same-run ratios against captum and tangermeme.

1. Peers (runs interleaved, so every tool sees the same machine load; medians of ``--repeats``):
   - DeepSHAP with 20 dinucleotide-shuffled references per sequence (the same references for all
     tools): regsim ``deepshap``; tangermeme ``deep_lift_shap`` (references given as a tensor);
     captum ``DeepLiftShap``, called once per sequence with that sequence's references (captum pairs
     every input with the same baselines). Printed with each tool's summation-to-delta error and the
     per-position correlation of its attributions with regsim's.
   - ISM over every position x 3 alternatives: regsim ``ism`` (fast and plain) against tangermeme
     ``saturation_mutagenesis`` with ``fast=True`` (its fastISM; its 30-second minimum job size for
     trying the fast path is lifted here, so that it is always used) and ``fast=False``. captum has
     no saturation mutagenesis (its ``FeatureAblation``/``Occlusion`` replace a feature by a
     baseline, not by each alternative base), so there is no captum ISM row.
   Both peers get the same batch size as regsim (``--dls-batch`` pairs, ``--ism-batch`` mutants).
2. Sequences/s of every method x default reference of ``regsim attribute`` on each model.

Models: with ``--model MODEL_DIR`` (e.g. a model trained by ``regsim train`` on the embedded dataset)
that model, on random sequences of its input length; otherwise the ``basset`` and ``beluga`` presets
at their default width on 200 bp with random weights. Always also a small 1-kb CNN
(conv 32x19 / pool 4, conv 32x11 / pool 4, conv 32x7 / pool 4, dense 64, output).

Peers: captum (a runtime dependency) and tangermeme (the ``test`` extra; ``make bench-deps``).

    python benchmarks/bench_attribution.py                       # everything
    python benchmarks/bench_attribution.py --skip-methods --repeats 5
    python benchmarks/bench_attribution.py --model runs/basset --only 1kb
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from regsim.models import RegCNNForSequenceClassification, preset_config  # noqa: E402
from regsim.models.attribution.attribute import attribute  # noqa: E402
from regsim.models.attribution.deeplift import deepshap  # noqa: E402
from regsim.models.attribution.ism import ism  # noqa: E402
from regsim.models.attribution.references import make_references  # noqa: E402

METHODS = [
    ("ism", "none"), ("saliency", "none"), ("grad_x_input", "none"), ("integrated_gradients", "zeros"),
    ("deeplift", "zeros"), ("deepshap", "shuffled"), ("gradcam_last", "none"), ("gradcam_first", "none"),
    ("zheng", "none"), ("grad_x_act_first", "none"), ("deeplift_first", "shuffled"),
]


class Logits(nn.Module):
    """A plain-tensor ``(N, 1)`` view of any model, for the peers."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.eval()  # tangermeme restores the wrapper's mode on the whole model afterwards

    def forward(self, x):
        out = self.model(x)
        return out.logits if hasattr(out, "logits") else out


def cnn_1kb(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv1d(4, 32, 19, padding=9), nn.ReLU(), nn.MaxPool1d(4),
        nn.Conv1d(32, 32, 11, padding=5), nn.ReLU(), nn.MaxPool1d(4),
        nn.Conv1d(32, 32, 7, padding=3), nn.ReLU(), nn.MaxPool1d(4),
        nn.Flatten(), nn.Linear(32 * 15, 64), nn.ReLU(), nn.Linear(64, 1),
    ).eval()


def models(args):
    out = []
    if args.model:
        from regsim.models.attribution.loading import load_model

        model = load_model(args.model)
        out.append((f"{Path(args.model).name} (trained)", model, int(model.config.sequence_length)))
    else:
        for name in ("basset", "beluga"):
            torch.manual_seed(0)
            length = args.length
            out.append((f"{name} {length} bp", RegCNNForSequenceClassification(preset_config(name, length)).eval(), length))
    out.append(("1kb cnn", cnn_1kb(), 1000))
    if args.only:
        out = [m for m in out if args.only in m[0]]
    return out


def random_one_hot(n: int, length: int, seed: int = 0) -> np.ndarray:
    codes = np.random.default_rng(seed).integers(0, 4, size=(n, length))
    return np.eye(4, dtype=np.float32)[codes].transpose(0, 2, 1).copy()


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def interleaved(runs: dict, repeats: int) -> tuple[dict, dict]:
    times, results = {name: [] for name in runs}, {}
    for _ in range(repeats):
        for name, fn in runs.items():
            seconds, results[name] = timed(fn)
            times[name].append(seconds)
    return {name: statistics.median(t) for name, t in times.items()}, results


def per_position_correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.median([np.corrcoef(x.sum(axis=0), y.sum(axis=0))[0, 1] for x, y in zip(a, b)]))


def bench_deepshap(name, model, length, args):
    from captum.attr import DeepLiftShap
    from tangermeme.deep_lift_shap import deep_lift_shap

    n = args.n_1kb if length >= 1000 else args.n
    X = random_one_hot(n, length, seed=1)
    refs = make_references(X, "shuffled", n_refs=20, random_state=0)
    peer = Logits(model)
    Xt, Rt = torch.from_numpy(X), torch.from_numpy(refs)

    def captum_run():
        explainer = DeepLiftShap(peer)
        return np.concatenate([explainer.attribute(Xt[i: i + 1], baselines=Rt[i]).detach().numpy() for i in range(n)])

    runs = {
        "regsim deepshap": lambda: deepshap(model, X, refs, batch_size=args.dls_batch),
        "tangermeme deep_lift_shap": lambda: deep_lift_shap(peer, Xt, references=Rt, batch_size=args.dls_batch,
                                                            device="cpu", warning_threshold=1e9).numpy(),
        "captum DeepLiftShap": captum_run,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        deepshap(model, X[:1], refs[:1])  # compile the numba kernels outside the timing
        medians, results = interleaved(runs, args.repeats)
    with torch.no_grad():
        f_x = peer(Xt).numpy().ravel()
        f_r = peer(Rt.reshape(-1, 4, length)).numpy().reshape(n, 20).mean(axis=1)
    delta = f_x - f_r
    print(f"\n[{name}] DeepSHAP, 20 shuffles, {n} sequences, batch {args.dls_batch} pairs")
    print(f"  {'tool':<28}{'seq/s':>9}{'x regsim':>10}{'max rel completeness err':>26}{'corr vs regsim':>16}")
    for tool, seconds in medians.items():
        attr = results[tool]
        if tool.startswith("captum"):
            attr = attr.sum(axis=1, keepdims=True) * X  # per-position sums on the observed base
        err = np.abs(attr.sum(axis=(1, 2)) - delta) / np.maximum(np.abs(delta), 1e-3)
        corr = per_position_correlation(attr, results["regsim deepshap"])
        print(f"  {tool:<28}{n / seconds:>9.2f}{medians['regsim deepshap'] / seconds:>10.2f}"
              f"{err.max():>26.2e}{corr:>16.4f}")
    best_peer = min(s for t, s in medians.items() if not t.startswith("regsim"))
    print(f"  regsim vs the faster peer: {best_peer / medians['regsim deepshap']:.2f}x")


def bench_ism(name, model, length, args):
    import tangermeme.saturation_mutagenesis as tsm

    tsm._FAST_MIN_SECONDS = 0.0  # always try tangermeme's fast path (see the docstring)
    n = args.n_1kb if length >= 1000 else args.n
    X = random_one_hot(n, length, seed=2)
    peer = Logits(model)
    Xt = torch.from_numpy(X)
    runs = {
        "regsim ism (fast)": lambda: ism(model, X, batch_size=args.ism_batch),
        "regsim ism (plain)": lambda: ism(model, X, fast=False, batch_size=args.ism_batch),
        "tangermeme fast=True": lambda: tsm.saturation_mutagenesis(peer, Xt, batch_size=args.ism_batch, device="cpu",
                                                                   fast=True, raw_outputs=True),
        "tangermeme fast=False": lambda: tsm.saturation_mutagenesis(peer, Xt, batch_size=args.ism_batch, device="cpu",
                                                                    fast=False, raw_outputs=True),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        medians, results = interleaved(runs, args.repeats)
    y0, y_hat = results["tangermeme fast=True"]
    theirs = (y_hat[..., 0] - y0[:, None, None, 0]).numpy() * (1 - X)
    diff = np.abs(results["regsim ism (fast)"] - theirs).max()
    print(f"\n[{name}] ISM, {n} sequences x {3 * length} mutants, batch {args.ism_batch}; "
          f"max |regsim - tangermeme| = {diff:.1e}")
    print(f"  {'tool':<28}{'seq/s':>9}{'x regsim':>10}")
    for tool, seconds in medians.items():
        print(f"  {tool:<28}{n / seconds:>9.2f}{medians['regsim ism (fast)'] / seconds:>10.2f}")
    best_peer = min(s for t, s in medians.items() if t.startswith("tangermeme"))
    print(f"  regsim vs the faster peer: {best_peer / medians['regsim ism (fast)']:.2f}x")


def bench_methods(name, model, length, args):
    n = args.n_1kb if length >= 1000 else args.n
    X = random_one_hot(n, length, seed=3)
    print(f"\n[{name}] every method, {n} sequences (median of {args.repeats}); shuffled = 20 shuffles, IG 20 steps")
    print(f"  {'method':<22}{'reference':<12}{'seq/s':>9}{'max rel completeness err':>26}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for method, reference in METHODS:
            seconds, result = [], None
            for _ in range(args.repeats):
                result = attribute(model, X, method, reference, n_refs=20, n_steps=20)
                seconds.append(result.seconds)
            c = result.completeness.summary()["completeness_max_rel"] if result.completeness else None
            c = f"{c:.2e}" if c is not None else "-"
            print(f"  {method:<22}{reference:<12}{n / statistics.median(seconds):>9.2f}{c:>26}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a saved model folder (default: basset and beluga presets, random weights)")
    parser.add_argument("--n", type=int, default=16, help="sequences for the preset models (default 16)")
    parser.add_argument("--length", type=int, default=200, help="input length of the preset models (default 200)")
    parser.add_argument("--n-1kb", type=int, default=8, help="sequences for the 1-kb CNN (default 8)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dls-batch", type=int, default=128, help="(sequence, reference) pairs per pass")
    parser.add_argument("--ism-batch", type=int, default=512, help="mutants per pass")
    parser.add_argument("--only", help="only models whose name contains this (e.g. 1kb, basset)")
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--skip-methods", action="store_true")
    args = parser.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for name, model, length in models(args):
        if not args.skip_peers:
            bench_deepshap(name, model, length, args)
            bench_ism(name, model, length, args)
        if not args.skip_methods:
            bench_methods(name, model, length, args)


if __name__ == "__main__":
    main()
