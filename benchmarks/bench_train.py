"""Benchmark ``regsim train``: wall time and test auROC / auPRC of each preset on a dataset folder.

Targets (issue 4): on the embedded default dataset (``regsim build --out DIR``) every preset reaches a
test auROC >= 0.75, and at least one preset's ``regsim train`` takes under 10 minutes on 2 cores.

Each run is the real command line (``regsim train ...`` in a subprocess, so the wall time includes
start-up, data loading, training, evaluation and writing the folder); the numbers are read back
from its ``eval_results.json`` and ``training_log.json``. No peer tools are needed.

Usage::

    regsim build --out /tmp/regsim_default
    python benchmarks/bench_train.py --dataset /tmp/regsim_default [--archs basset,beluga] [--threads 1,2]

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

TARGET_AUROC = 0.75
TARGET_SECONDS = 600


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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", required=True, help="dataset folder (e.g. from `regsim build --out DIR`)")
    parser.add_argument("--archs", default="basset,beluga")
    parser.add_argument("--threads", default="1", help="comma-separated thread counts to compare (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", metavar="DIR", help="keep the model folders under DIR")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="after --: more `regsim train` flags")
    args = parser.parse_args(argv)
    extra = [a for a in args.extra if a != "--"] + ["--seed", str(args.seed)]

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-train-"))
    rows = []
    try:
        for arch in args.archs.split(","):
            for threads in (int(t) for t in args.threads.split(",")):
                row = run_one(args.dataset, arch, threads, root / f"{arch}-t{threads}", extra)
                rows.append(row)
                print(
                    f"{arch:7s} x{row['width']:<5g} {row['parameters']:>10,} params  {threads} thread(s)  "
                    f"epochs {row['epochs']:2d} (best {row['best_epoch']:2d})  wall {row['wall_seconds']:7.1f} s  "
                    f"train {row['train_seconds']:7.1f} s  test auROC {row['test_auroc']:.4f}  auPRC {row['test_auprc']:.4f}",
                    flush=True,
                )
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    print("\n| preset | width | parameters | threads | epochs (best) | wall s | test auROC | test auPRC |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['arch']} | {row['width']:g} | {row['parameters']:,} | {row['threads']} | {row['epochs']} ({row['best_epoch']}) "
            f"| {row['wall_seconds']:.1f} | {row['test_auroc']:.4f} | {row['test_auprc']:.4f} |"
        )
    fastest = min(rows, key=lambda r: r["wall_seconds"])
    for row in rows[1:]:
        print(f"same-run ratio: {row['arch']} ({row['threads']} thr) / {rows[0]['arch']} ({rows[0]['threads']} thr) wall = "
              f"{row['wall_seconds'] / rows[0]['wall_seconds']:.2f}")
    auroc_ok = all(r["test_auroc"] >= TARGET_AUROC for r in rows)
    time_ok = fastest["wall_seconds"] < TARGET_SECONDS
    print(f"target test auROC >= {TARGET_AUROC} for every preset: {'met' if auroc_ok else 'NOT met'}")
    print(f"target one preset < {TARGET_SECONDS} s: {'met' if time_ok else 'NOT met'} "
          f"(fastest: {fastest['arch']}, {fastest['wall_seconds']:.1f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
