"""Subcommand owned by :mod:`metrics`: ``benchmark``."""

from __future__ import annotations

import argparse

from regsim.dataset_builder.core.cli import add_verbose
from regsim.dataset_builder.core.errors import UserError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "benchmark",
        description="Build (or take) a realistic dataset and the simple preset, train Basset-like and "
        "Beluga-like models (or take given ones), compute every attribution method x reference on the "
        "top-N positives, score them with the motif_attribution metric and write results.csv and "
        "report.md. Every stage is cached by its inputs' hashes under OUT/cache.",
    )
    parser.add_argument("--out", required=True, help="report folder")
    parser.add_argument("--dataset", help="realistic dataset folder (default: build the embedded default)")
    parser.add_argument("--simple-dataset", help="simple dataset folder (default: build the simple preset)")
    parser.add_argument("--no-simple", action="store_true", help="skip the simple dataset")
    parser.add_argument("--model", action="append", default=[], metavar="ARCH=DIR",
                        help="use a trained model for the realistic dataset (repeatable)")
    parser.add_argument("--archs", default="basset,beluga", help="architectures (default basset,beluga)")
    parser.add_argument("--n-top", type=int, default=200, help="scored positives per model (default 200)")
    parser.add_argument("--split", default="test", help="split the scored positives come from (default test)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, help="training epochs (default: regsim train's)")
    parser.add_argument("--width-multiplier", type=float, help="model width multiplier (default: the preset's)")
    parser.add_argument("--cache-dir", help="stage cache (default OUT/cache)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: tiny datasets and models, 8 sequences, one reference count")
    parser.add_argument("--quiet", action="store_true")
    add_verbose(parser)
    parser.set_defaults(handler=_benchmark)


def _benchmark(args: argparse.Namespace) -> int:
    from pathlib import Path

    from regsim.dataset_builder.core.io import output_lock

    from .pipeline import BenchmarkSettings, run_benchmark

    if args.n_top < 1:
        raise UserError(f"--n-top must be a positive integer, got {args.n_top}")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise UserError(f"--out {args.out} is a file; give a folder for the report")

    models = {}
    for item in args.model:
        arch, sep, folder = item.partition("=")
        if not sep or not folder:
            raise UserError(f"--model must look like ARCH=DIR, got {item!r}")
        models[arch] = folder
    settings = BenchmarkSettings(
        out=args.out, dataset=args.dataset, simple_dataset=args.simple_dataset, models=models,
        archs=tuple(a.strip() for a in args.archs.split(",") if a.strip()), include_simple=not args.no_simple,
        n_top=args.n_top, split=args.split, seed=args.seed, quick=args.quick, epochs=args.epochs,
        width_multiplier=args.width_multiplier, cache_dir=args.cache_dir,
    )
    Path(args.out).mkdir(parents=True, exist_ok=True)
    with output_lock(Path(args.out) / "report.md"):
        result = run_benchmark(settings, verbose=not args.quiet)
    print(f"benchmark done in {result['seconds'] / 60:.1f} min: {result['report']}")
    return 0
