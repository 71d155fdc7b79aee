"""Benchmark the gkm-SVM (gkmsvm-lite) on a dataset folder: CPU time of training and prediction for a
given number of training sequences per class, test auROC, and GkmExplain's completeness.

Target (issue 12): on the embedded default dataset the gkm-SVM reaches a test auROC >= 0.80 and trains in
under 10 minutes on 2 cores; GkmExplain's scores sum to the decision value minus the bias within 1e-3.

CPU seconds (``getrusage``) are reported beside wall seconds: on a shared machine the wall time depends on
the other jobs, the CPU time much less. gkmsvm-lite compares every l-mer window pair of every sequence
pair, so training costs grow with the square of the number of training sequences and prediction with
(sequences x support vectors); the JIT is warmed on 20 + 20 sequences first and not counted.

Usage::

    regsim build --out /tmp/regsim_default
    NUMBA_NUM_THREADS=2 python benchmarks/bench_gkmsvm.py --dataset /tmp/regsim_default --per-class 500 --test 400
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--per-class", type=int, default=500, help="training sequences per class (default 500)")
    parser.add_argument("--test", type=int, default=400, help="test sequences, half of each class (default 400)")
    args = parser.parse_args()

    from sklearn.metrics import roc_auc_score

    from regsim.dataset_builder.core.sequences import one_hot_from_integers
    from regsim.models.gkmsvm import gkmsvm_module
    from regsim.models.train import load_training_data

    gkmsvm = gkmsvm_module()
    data = load_training_data(args.dataset)
    train = data.splits["train"]
    X = one_hot_from_integers(train.codes).astype(np.float64)
    positives, negatives = X[train.labels == 1], X[train.labels == 0]
    options = dict(kernel_type="gkm_esttrunc", l=11, k=7, d=3, device="cpu", solver="libsvm")
    gkmsvm.train_gkmsvm(positives[:20], negatives[:20], **options)  # JIT warm-up

    n = args.per_class
    cpu, wall = cpu_seconds(), time.perf_counter()
    model = gkmsvm.train_gkmsvm(positives[:n], negatives[:n], **options)
    print(f"train: {n} + {n} sequences, {cpu_seconds() - cpu:.1f} CPU-s, {time.perf_counter() - wall:.1f} s wall, "
          f"{len(model.coefficients)} support vectors")

    test = data.splits["test"]
    index = np.r_[np.flatnonzero(test.labels == 1)[: args.test // 2], np.flatnonzero(test.labels == 0)[: args.test // 2]]
    Xt = one_hot_from_integers(test.codes[index]).astype(np.float64)
    cpu, wall = cpu_seconds(), time.perf_counter()
    scores = np.asarray(model(Xt)).ravel()
    print(f"predict: {len(index)} sequences, {cpu_seconds() - cpu:.1f} CPU-s, {time.perf_counter() - wall:.1f} s wall; "
          f"test auROC {roc_auc_score(test.labels[index], scores):.4f}")
    explained = np.asarray(gkmsvm.gkmexplain(model, Xt[:10], mode=0)).sum(axis=(1, 2))
    expected = scores[:10] - model.bias
    error = np.max(np.abs(explained - expected) / np.maximum(np.abs(expected), 1e-2))
    print(f"GkmExplain completeness, 10 sequences: max relative error {error:.1e}")


if __name__ == "__main__":
    main()
