"""Subcommand owned by :mod:`metrics`: ``benchmark``."""

from __future__ import annotations

import argparse

from regsim.dataset_builder.core.cli import add_verbose
from regsim.dataset_builder.core.errors import UserError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "benchmark",
        description="Build (or take) a realistic dataset and the simple preset, train Basset-like and "
        "Beluga-like models (or take given ones; --seeds K of each), compute every attribution method x "
        "reference on one scored set per dataset (the top-N positives by the Beluga-like model), score them with the motif_attribution metric and write results.csv and "
        "report.md. Every stage is cached by its inputs' hashes under OUT/cache.",
    )
    parser.add_argument("--out", required=True, help="report folder")
    parser.add_argument("--dataset", help="realistic dataset folder (default: build the embedded default)")
    parser.add_argument("--simple-dataset", help="simple dataset folder (default: build the simple preset)")
    parser.add_argument("--no-simple", action="store_true", help="skip the simple dataset")
    parser.add_argument("--no-gkmsvm", action="store_true", help="skip the gkm-SVM and its GkmExplain rows")
    parser.add_argument("--gkmsvm-max-per-class", type=int, default=1000, metavar="N",
                        help="gkm-SVM training sequences per class (default 1000; the paper: up to 20000)")
    parser.add_argument("--model", action="append", default=[], metavar="ARCH=DIR",
                        help="use a trained model for the realistic dataset (repeatable)")
    parser.add_argument("--archs", default="basset,beluga", help="architectures (default basset,beluga)")
    parser.add_argument("--n-top", type=int, default=1000,
                        help="scored positives per dataset, the same for every model (default 1000; the paper: 10000)")
    parser.add_argument("--split", default="train",
                        help="split the scored positives come from (default train, as the paper)")
    parser.add_argument("--ranker", default="beluga",
                        help="architecture whose model ranks the positives (default beluga, as the paper)")
    parser.add_argument("--seeds", type=int, default=1,
                        help="models trained per architecture and dataset, seeds SEED..SEED+K-1 (default 1)")
    parser.add_argument("--simple-seeds", type=int,
                        help="models per architecture on the simple dataset (default: --seeds)")
    parser.add_argument("--conv-mapping", choices=("linear", "average"), default="linear",
                        help="last-conv-layer scores to bases: linear interpolation (default, the paper's) or "
                        "receptive-field averaging")
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
        n_top=args.n_top, split=args.split, ranker=args.ranker, seeds=args.seeds, simple_seeds=args.simple_seeds,
        conv_mapping=args.conv_mapping, seed=args.seed, quick=args.quick, epochs=args.epochs,
        width_multiplier=args.width_multiplier, cache_dir=args.cache_dir, gkmsvm=not args.no_gkmsvm,
        gkmsvm_max_per_class=args.gkmsvm_max_per_class,
    )
    Path(args.out).mkdir(parents=True, exist_ok=True)
    with output_lock(Path(args.out) / "report.md"):
        result = run_benchmark(settings, verbose=not args.quiet)
    print(f"benchmark done in {result['seconds'] / 60:.1f} min: {result['report']}")
    return 0
