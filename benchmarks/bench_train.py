"""Benchmark ``regsim train``: wall time and test auROC / auPRC of each preset beside the reference CNN.

Targets: every preset's test auROC is at least the reference CNN's minus 0.02 on the same dataset
(issue 17; ``regsim train --arch reference``: one convolution of 64 x 15 bp, global max pooling, 32
hidden units, Adam 1e-3, batch 64, best validation epoch of 40), and at least one preset's
``regsim train`` takes under 10 minutes on 2 cores (issue 4).

Each run is the real command line (``regsim train ...`` in a subprocess, so the wall time includes
start-up, data loading, training, evaluation and writing the folder); the numbers are read back from
its ``eval_results.json`` and ``training_log.json``. No peer tools are needed.

``--grid`` runs :data:`EXPERIMENTS` instead: the recipe choices of the presets, each as the preset's
default recipe with one thing changed (or the old recipe, for comparison), and prints each one's test
auROC beside the default's and the reference's. These are the measurements behind the presets'
recipes in ``models/train.py`` (``RECIPES``) and the README's table.

Usage::

    regsim build --out /tmp/regsim_default
    python benchmarks/bench_train.py --dataset /tmp/regsim_default [--archs reference,basset,beluga] [--threads 1]
    python benchmarks/bench_train.py --dataset /tmp/regsim_default --grid [--archs basset]

Timings on a shared machine are noisy; compare presets and thread counts within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_GAP = 0.02
TARGET_SECONDS = 600

# (name, arch, flags, what it measures). Flags are `regsim train` flags on top of the preset's default
# recipe (models/train.py RECIPES); "default" is the recipe as shipped.
OLD = ["--weight-decay", "0", "--lr-schedule", "constant", "--max-shift", "0", "--patience", "5", "--epochs", "30"]
EXPERIMENTS = [
    ("default", "basset", [], "the shipped recipe"),
    ("old recipe", "basset", [*OLD, "--set", "dense_dropout=0.3"],
     "before issue 17: constant Adam 1e-3, no shifts, patience 5, dense dropout 0.3"),
    ("no shifts", "basset", ["--max-shift", "0"], "the shipped recipe without random shifts"),
    ("dense dropout 0.3", "basset", ["--set", "dense_dropout=0.3"], "the shipped recipe with the old dense dropout"),
    ("no weight decay, constant lr", "basset", ["--weight-decay", "0", "--lr-schedule", "constant"],
     "the shipped recipe with plain Adam at 1e-3"),
    ("default", "beluga", [], "the shipped recipe"),
    ("old recipe", "beluga", [*OLD, "--set", "conv_batch_norm=false"],
     "before issue 17: no batch norm, constant Adam 1e-3, no shifts, patience 5"),
    ("no batch norm", "beluga", ["--set", "conv_batch_norm=false"], "the shipped recipe without batch norm"),
    ("no shifts", "beluga", ["--max-shift", "0"], "the shipped recipe without random shifts"),
    # Why the Basset-like preset stalls on the simple (AND-grammar) preset: run with `-- --epochs 10`.
    ("dense dropout 0", "basset", ["--set", "dense_dropout=0.0"], "the shipped recipe without dense dropout"),
    ("dense dropout 0, batch 32", "basset", ["--set", "dense_dropout=0.0", "--batch-size", "32"],
     "no dense dropout and twice as many, smaller steps"),
    ("dense batch norm", "basset", ["--set", "dense_batch_norm=true"], "batch norm on the dense layers"),
    ("learning rate 3e-3", "basset", ["--learning-rate", "3e-3"], "three times the learning rate"),
    ("learning rate 3e-4", "basset", ["--learning-rate", "3e-4"], "a third of the learning rate"),
    ("global last pooling", "basset", ["--set", 'pool_sizes=[3,4,"global"]'],
     "the third block max-pools over all its positions (position-invariant dense input)"),
]


def run_one(dataset: str, arch: str, threads: int, out: Path, extra: list[str]) -> dict:
    command = [
        sys.executable, "-m", "regsim", "train", "--dataset", dataset, "--arch", arch,
        "--out", str(out), "--threads", str(threads), "--force", *extra,
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    start = time.perf_counter()
    result = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    results = json.loads((out / "eval_results.json").read_text())
    log = json.loads((out / "training_log.json").read_text())
    return {
        "arch": arch,
        "width": log["hyperparameters"]["width_multiplier"],
        "parameters": log["parameters"],
        "threads": threads,
        "epochs": results["epochs"],
        "best_epoch": results["best_epoch"],
        "wall_seconds": wall,
        "train_seconds": results["train_seconds"],
        "test_auroc": results["test_auroc"],
        "test_auprc": results["test_auprc"],
        "validation_auprc": results["validation_auprc"],
        "command": "regsim " + " ".join(command[3:]),
    }


def _print_row(label: str, row: dict) -> None:
    print(
        f"{label:28s} {row['parameters']:>10,} params  {row['threads']} thread(s)  epochs {row['epochs']:2d} "
        f"(best {row['best_epoch']:2d})  wall {row['wall_seconds']:7.1f} s  train {row['train_seconds']:7.1f} s  "
        f"test auROC {row['test_auroc']:.4f}  auPRC {row['test_auprc']:.4f}",
        flush=True,
    )


def presets(args, extra: list[str], root: Path) -> list[dict]:
    rows = []
    for arch in args.archs.split(","):
        for threads in (int(t) for t in args.threads.split(",")):
            row = run_one(args.dataset, arch, threads, root / f"{arch}-t{threads}", extra)
            rows.append(row)
            _print_row(f"{arch} x{row['width']:g}", row)

    print("\n| preset | width | parameters | threads | epochs (best) | wall s | test auROC | test auPRC |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['arch']} | {row['width']:g} | {row['parameters']:,} | {row['threads']} | {row['epochs']} ({row['best_epoch']}) "
            f"| {row['wall_seconds']:.1f} | {row['test_auroc']:.4f} | {row['test_auprc']:.4f} |"
        )
    for row in rows[1:]:
        print(f"same-run ratio: {row['arch']} ({row['threads']} thr) / {rows[0]['arch']} ({rows[0]['threads']} thr) wall = "
              f"{row['wall_seconds'] / rows[0]['wall_seconds']:.2f}")
    references = [r for r in rows if r["arch"] == "reference"]
    if references:
        best = max(r["test_auroc"] for r in references)
        for row in rows:
            if row["arch"] != "reference":
                ok = row["test_auroc"] >= best - TARGET_GAP
                print(f"target {row['arch']} test auROC >= reference {best:.4f} - {TARGET_GAP}: "
                      f"{'met' if ok else 'NOT met'} ({row['test_auroc']:.4f}, {row['test_auroc'] - best:+.4f})")
    fastest = min(rows, key=lambda r: r["wall_seconds"])
    print(f"target one preset < {TARGET_SECONDS} s: {'met' if fastest['wall_seconds'] < TARGET_SECONDS else 'NOT met'} "
          f"(fastest: {fastest['arch']}, {fastest['wall_seconds']:.1f} s)")
    return rows


def grid(args, extra: list[str], root: Path) -> list[dict]:
    archs = args.archs.split(",")
    threads = int(args.threads.split(",")[0])
    rows = []
    if "reference" not in archs:
        reference = run_one(args.dataset, "reference", threads, root / "reference", extra)
        rows.append({**reference, "experiment": "reference", "changes": "the reference CNN"})
        _print_row("reference", reference)
    for index, (name, arch, flags, changes) in enumerate(EXPERIMENTS):
        if arch not in archs:
            continue
        row = run_one(args.dataset, arch, threads, root / f"{arch}-{index}", [*extra, *flags])
        rows.append({**row, "experiment": name, "changes": changes, "flags": " ".join(flags)})
        _print_row(f"{arch}: {name}", row)
    reference = next((r["test_auroc"] for r in rows if r["arch"] == "reference"), None)
    defaults = {r["arch"]: r["test_auroc"] for r in rows if r["experiment"] == "default"}
    print("\n| preset | experiment | flags | epochs (best) | train s | test auROC | vs default | vs reference |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for row in rows:
        default = defaults.get(row["arch"])
        vs_default = "" if default is None or row["arch"] == "reference" else f"{row['test_auroc'] - default:+.4f}"
        vs_reference = "" if reference is None else f"{row['test_auroc'] - reference:+.4f}"
        print(f"| {row['arch']} | {row['experiment']} | `{row.get('flags', '')}` | {row['epochs']} ({row['best_epoch']}) | "
              f"{row['train_seconds']:.0f} | {row['test_auroc']:.4f} | {vs_default} | {vs_reference} |")
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", required=True, help="dataset folder (e.g. from `regsim build --out DIR`)")
    parser.add_argument("--archs", default="reference,basset,beluga")
    parser.add_argument("--threads", default="1", help="comma-separated thread counts to compare (default 1)")
    parser.add_argument("--grid", action="store_true", help="run the recipe experiments (EXPERIMENTS) of the given archs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", metavar="DIR", help="keep the model folders under DIR")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="after --: more `regsim train` flags")
    args = parser.parse_args(argv)
    extra = [a for a in args.extra if a != "--"] + ["--seed", str(args.seed)]

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-train-"))
    try:
        rows = grid(args, extra, root) if args.grid else presets(args, extra, root)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
