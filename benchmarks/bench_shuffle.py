"""Dinucleotide-shuffle speed: regsim against ushuffle, tangermeme and the paper's DeepLIFT code.

Reports sequences per second (median over repeats, after a warm-up call that also compiles numba
kernels) and same-run ratios ``regsim / peer``, for

1. one shuffle each of random 400-bp sequences (GC 0.42), the issue's reference case;
2. one shuffle each of the embedded real 200-bp Oct4 and MafK peaks;
3. attribution references: 20 shuffles each of one-hot ``(N, 4, L)`` sequences, L = 200 and 1000.

Peers (benchmark-only dependencies, installed by ``make bench-deps``):

- ushuffle (C, Jiang et al. 2008): ``pip install cython && pip install --no-build-isolation
  ushuffle==1.1.2``; called as ``ushuffle.shuffle(seq_bytes, 2)`` once per shuffle (single thread).
- tangermeme 1.6.0 (``tangermeme.ersatz.dinucleotide_shuffle``, numba, one-hot torch tensors), with
  ``n_jobs=1`` and ``n_jobs=-1`` (all numba threads).
- deeplift 0.6.13.0, the paper's shuffle (``deeplift.dinuc_shuffle.dinuc_shuffle``, pure numpy,
  one sequence per call, ``(L, 4)`` one-hot): ``pip install --no-deps deeplift==0.6.13.0`` (that
  module needs only numpy; TensorFlow is not needed). Its string path calls ``ndarray.tostring``,
  which numpy 2 removed, so it is timed on one-hot input.

regsim runs on all numba threads and, for a like-for-like comparison with the single-threaded peers,
on one thread. Usage::

    python benchmarks/bench_shuffle.py [--quick] [--repeats 5]
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import numba
import numpy as np

from regsim.dataset_builder.dinucleotide_shuffle import dinucleotide_shuffle
from regsim.dataset_builder.core.sequences import decode_integers, encode_integers, one_hot_from_integers

DATA = Path(__file__).resolve().parents[1] / "dataset_builder" / "data" / "oct4_mafk"


def load_deeplift_shuffle():
    try:
        from deeplift.dinuc_shuffle import dinuc_shuffle
        return dinuc_shuffle
    except ImportError:
        spec = importlib.util.find_spec("deeplift")
        if spec is None or not spec.submodule_search_locations:
            return None
        path = Path(list(spec.submodule_search_locations)[0]) / "dinuc_shuffle.py"
        module_spec = importlib.util.spec_from_file_location("_deeplift_dinuc_shuffle", path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        return module.dinuc_shuffle


def read_fasta_gz(path: Path) -> list[str]:
    with gzip.open(path, "rt") as handle:
        return [line.strip().upper() for line in handle if not line.startswith(">")]


def median_times(fns: dict, repeats: int) -> dict:
    """Median seconds per call of each function. Repeats go round-robin over the tools, so a change
    in machine load (shared machines) hits every tool alike and same-run ratios stay fair."""
    for fn in fns.values():
        fn()  # warm-up: numba compilation / cache load, allocator, imports
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def with_threads(n_threads, fn):
    def run():
        before = numba.get_num_threads()
        numba.set_num_threads(n_threads)
        try:
            return fn()
        finally:
            numba.set_num_threads(before)
    return run


def tools_for(codes: np.ndarray, n: int, peer_subset: int):
    """``{name: (callable, number of sequences it shuffles n times)}`` for one case."""
    strings = decode_integers(codes)
    as_bytes = [s.encode() for s in strings]
    one_hot = one_hot_from_integers(codes)
    tools = {}
    all_threads = numba.get_num_threads()
    tools[f"regsim codes ({all_threads} threads)"] = (
        lambda: dinucleotide_shuffle(codes, n, random_state=0), len(codes))
    tools["regsim codes (1 thread)"] = (
        with_threads(1, lambda: dinucleotide_shuffle(codes, n, random_state=0)), len(codes))
    tools[f"regsim one-hot ({all_threads} threads)"] = (
        lambda: dinucleotide_shuffle(one_hot, n, random_state=0), len(codes))
    tools[f"regsim strings ({all_threads} threads)"] = (
        lambda: dinucleotide_shuffle(strings, n, random_state=0), len(codes))
    try:
        import ushuffle

        ushuffle.set_seed(0)
        tools["ushuffle (C, 1 thread, bytes)"] = (
            lambda: [ushuffle.shuffle(s, 2) for s in as_bytes for _ in range(n)], len(codes))
    except ImportError:
        print("ushuffle not installed: skipped (make bench-deps)")
    try:
        import torch
        from tangermeme.ersatz import dinucleotide_shuffle as tm_shuffle

        x = torch.from_numpy(one_hot)
        tools["tangermeme one-hot (n_jobs=1)"] = (
            lambda: tm_shuffle(x, n=n, random_state=0), len(codes))
        tools["tangermeme one-hot (n_jobs=-1)"] = (
            lambda: tm_shuffle(x, n=n, random_state=0, n_jobs=-1), len(codes))
    except ImportError:
        print("tangermeme not installed: skipped")
    deeplift_shuffle = load_deeplift_shuffle()
    if deeplift_shuffle is None:
        print("deeplift not installed: skipped (pip install --no-deps deeplift==0.6.13.0)")
    else:
        subset = [np.ascontiguousarray(m.T) for m in one_hot[:peer_subset]]
        rng = np.random.RandomState(0)
        tools["deeplift dinuc_shuffle (paper, one-hot)"] = (
            lambda: [deeplift_shuffle(m, n, rng) for m in subset], len(subset))
    return tools


def run_case(title: str, codes: np.ndarray, n: int, repeats: int, peer_subset: int) -> None:
    print(f"\n## {title}: {len(codes)} sequences x {codes.shape[1]} bp, {n} shuffle(s) each")
    tools = tools_for(codes, n, peer_subset)
    seconds = median_times({name: fn for name, (fn, _) in tools.items()}, repeats)
    rates = {name: n_seq / seconds[name] for name, (_, n_seq) in tools.items()}
    reference = f"regsim codes ({numba.get_num_threads()} threads)"
    single = "regsim codes (1 thread)"
    print(f"| tool | sequences/s | shuffles/s | regsim ({numba.get_num_threads()} thr) / tool | "
          "regsim (1 thr) / tool |")
    print("|---|---:|---:|---:|---:|")
    for name, rate in rates.items():
        print(f"| {name} | {rate:,.0f} | {rate * n:,.0f} | {rates[reference] / rate:.2f} | "
              f"{rates[single] / rate:.2f} |")
    sys.stdout.flush()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sequences (a smoke run)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1
    rng = np.random.default_rng(0)
    gc = 0.42
    p = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    print(f"numba threads: {numba.get_num_threads()}; repeats: {args.repeats} "
          "(medians, round-robin)")

    random_400 = rng.choice(4, size=(20000 // scale, 400), p=p).astype(np.uint8)
    run_case("Random 400 bp, GC 0.42", random_400, 1, args.repeats, peer_subset=2000 // scale)

    real = encode_integers(read_fasta_gz(DATA / "oct4_peaks_200bp.fa.gz")
                           + read_fasta_gz(DATA / "mafk_peaks_200bp.fa.gz"))
    run_case("Real Oct4 + MafK peaks, 200 bp", real[: len(real) // scale], 1, args.repeats,
             peer_subset=2000 // scale)

    for length, n_seq in [(200, 2000), (1000, 500)]:
        codes = rng.choice(4, size=(n_seq // scale, length), p=p).astype(np.uint8)
        run_case(f"Attribution references, {length} bp", codes, 20, args.repeats,
                 peer_subset=max(10, 100 // scale))


if __name__ == "__main__":
    main()
