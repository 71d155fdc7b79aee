"""Speed and memory of the motif_attribution scoring core.

1. Same-run ratio against the paper's notebook approach: a Python loop calling scikit-learn's
   ``roc_auc_score`` and ``average_precision_score`` once per sequence, on 10,000 x 400 float32
   attributions (the acceptance target is >= 50x).  Runs are interleaved so both see the same machine
   load; medians are printed, with the largest per-sequence difference from scikit-learn.
2. The core's absolute time on 10,000 x 400, for (N, L) scores and for (N, 4, L) per-channel input.
3. A large batched run (default 100,000 x 1,000 in batches of 4,000 through
   ``AttributionAccumulator`` with the histogram pooled metrics): time and peak memory (tracemalloc
   peak of traced allocations, and the process's maximum resident set size).

Peers: scikit-learn only (a regsim runtime dependency); nothing extra to install.

    python benchmarks/bench_metric.py                      # everything, defaults as above
    python benchmarks/bench_metric.py --repeats 5 --skip-large
    python benchmarks/bench_metric.py --skip-ratio --large-n 1000000   # the 10**9-base run
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from regsim.metrics import AttributionAccumulator, score_attributions  # noqa: E402


def simulated(rng: np.random.Generator, n: int, length: int, channels: bool = False):
    """Attribution-like data: two 15-bp motifs per sequence with raised |attribution|."""
    mask = np.zeros((n, length), dtype=np.int8)
    starts = rng.integers(0, length - 15, size=(n, 2))
    rows = np.arange(n)[:, None]
    for offset in range(15):
        mask[rows, starts + offset] = 1
    signal = mask * rng.gamma(2.0, 0.5, size=(n, 1)).astype(np.float32)
    if channels:
        noise = rng.standard_normal((n, 4, length), dtype=np.float32) * 0.5
        noise[:, 0, :] += signal
        return noise, mask
    return np.abs(rng.standard_normal((n, length), dtype=np.float32) + signal), mask


def sklearn_loop(scores: np.ndarray, mask: np.ndarray):
    """The notebook approach: per-sequence scikit-learn calls, skipping all-0 / all-1 masks."""
    auroc, auprc = [], []
    for s, m in zip(scores, mask):
        if 0 < m.sum() < m.size:
            auroc.append(roc_auc_score(m, s))
            auprc.append(average_precision_score(m, s))
    return np.array(auroc), np.array(auprc)


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return time.perf_counter() - start, value


def ratio_benchmark(n: int, length: int, repeats: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores, mask = simulated(rng, n, length)
    channels, channel_mask = simulated(rng, n, length, channels=True)
    score_attributions(scores[:100], mask[:100])  # warm-up
    core, core_channels, loop = [], [], []
    for _ in range(repeats):
        seconds, result = timed(score_attributions, scores, mask, return_per_sequence=True)
        core.append(seconds)
        core_channels.append(timed(score_attributions, channels, channel_mask)[0])
        seconds, (auroc, auprc) = timed(sklearn_loop, scores, mask)
        loop.append(seconds)
    ours = np.array(result["per_sequence"]["auroc"])
    ours_pr = np.array(result["per_sequence"]["auprc"])
    diff = max(np.abs(ours[~np.isnan(ours)] - auroc).max(), np.abs(ours_pr[~np.isnan(ours_pr)] - auprc).max())
    pooled_time, _ = timed(lambda: (roc_auc_score(mask.ravel(), scores.ravel()),
                                    average_precision_score(mask.ravel(), scores.ravel())))
    core_median, loop_median = statistics.median(core), statistics.median(loop)
    print(f"## {n:,} x {length} float32 attributions, {repeats} interleaved repeats (medians)")
    print(f"core score_attributions, (N, L) input, all outputs : {core_median * 1e3:8.1f} ms")
    print(f"core score_attributions, (N, 4, L) input          : {statistics.median(core_channels) * 1e3:8.1f} ms")
    print(f"scikit-learn per-sequence loop (notebook approach): {loop_median * 1e3:8.1f} ms")
    print(f"  + scikit-learn pooled auROC/auPRC (one call each): {pooled_time * 1e3:8.1f} ms")
    print(f"same-run ratio, loop / core                        : {loop_median / core_median:8.1f} x")
    print(f"same-run ratio, (loop + pooled) / core             : {(loop_median + pooled_time) / core_median:8.1f} x")
    print(f"largest per-sequence |difference| from scikit-learn: {diff:.2e}")
    print(f"core repeats (ms): {', '.join(f'{t * 1e3:.0f}' for t in core)}; "
          f"loop repeats (s): {', '.join(f'{t:.1f}' for t in loop)}")


def large_benchmark(n: int, length: int, batch: int, seed: int, pooled: str) -> None:
    rng = np.random.default_rng(seed)
    accumulator = AttributionAccumulator(pooled=pooled)
    tracemalloc.start()
    scoring = 0.0
    for start in range(0, n, batch):
        scores, mask = simulated(rng, min(batch, n - start), length)
        seconds, _ = timed(accumulator.update, scores, mask)
        scoring += seconds
        del scores, mask
    seconds, result = timed(accumulator.compute)
    scoring += seconds
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    batch_bytes = batch * length * (4 + 1)
    print(f"\n## {n:,} x {length:,} in batches of {batch:,} (AttributionAccumulator, pooled={pooled!r})")
    print(f"scoring time (data generation excluded)      : {scoring:8.1f} s "
          f"({scoring / (n * length) * 1e9:.1f} ns per base)")
    print(f"peak traced memory (tracemalloc)             : {peak / 2**20:8.1f} MiB "
          f"(one batch of input: {batch_bytes / 2**20:.1f} MiB)")
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10  # kilobytes on Linux
    print(f"max resident set size of the process         : {max_rss:8.1f} MiB")
    print(f"auroc_pooled {result['auroc_pooled']:.6f} (error bound {result['auroc_pooled_error_bound']:.1e}), "
          f"auprc_pooled {result['auprc_pooled']:.6f} (error bound {result['auprc_pooled_error_bound']:.1e}), "
          f"auroc_mean {result['auroc_mean']:.6f}, n_scored {result['n_scored']:,}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--length", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--large-n", type=int, default=100_000)
    parser.add_argument("--large-length", type=int, default=1_000)
    parser.add_argument("--large-batch", type=int, default=4_000)
    parser.add_argument("--large-pooled", choices=("histogram", "exact"), default="histogram")
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--skip-ratio", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.skip_ratio:
        ratio_benchmark(args.n, args.length, args.repeats, args.seed)
    if not args.skip_large:
        large_benchmark(args.large_n, args.large_length, args.large_batch, args.seed, args.large_pooled)


if __name__ == "__main__":
    main()
