"""Subcommands owned by :mod:`metrics.benchmark`: ``benchmark``, and ``score``, ``plot``, ``motifs``."""

from __future__ import annotations

import argparse

from regsim.dataset_builder.core.cli import add_verbose
from regsim.dataset_builder.core.errors import UserError


def register(subparsers) -> None:
    register_tools(subparsers)
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


def register_tools(subparsers) -> None:
    """``score``, ``plot`` and ``motifs``: what a user does with a folder of attributions."""
    score = subparsers.add_parser(
        "score",
        description="Score every <method>__<reference>.npz of ATTR_DIR against the dataset's ground truth with "
        "the motif_attribution evaluate module (masks and motif intervals); writes ATTR_DIR/scores.csv (one row "
        "per file, every metric) and prints a table.",
    )
    score.add_argument("attr_dir", metavar="ATTR_DIR", help="folder written by `regsim attribute`")
    score.add_argument("--dataset", required=True, metavar="DIR", help="the dataset the sequences come from")
    score.add_argument("--config", default=None, help="dataset config (default: the one in summary.json, else the default)")
    score.add_argument("--split", default=None, help="split of the ids (default: the one in ATTR_DIR/summary.json)")
    _common(score, _score)

    plot = subparsers.add_parser(
        "plot",
        description="Draw a sequence logo of one sequence's attributions under its ground-truth motif boxes.",
    )
    plot.add_argument("attr_file", metavar="ATTR_FILE.npz", help="a file written by `regsim attribute`")
    plot.add_argument("--dataset", default=None, metavar="DIR", help="dataset with the ground truth (default: no boxes)")
    plot.add_argument("--config", default=None)
    plot.add_argument("--split", default=None, help="split of the sequence (default: from summary.json, else searched)")
    plot.add_argument("--index", type=int, required=True, metavar="I", help="row of the attribution file (0-based)")
    plot.add_argument("--start", type=int, default=0, help="first position drawn (default 0)")
    plot.add_argument("--end", type=int, default=None, help="end of the drawn window (default: the sequence's end)")
    plot.add_argument("--out", required=True, metavar="PNG")
    _common(plot, _plot)

    motifs = subparsers.add_parser(
        "motifs",
        description="Run modisco-lite on an attribution file, match its patterns to the dataset's ground-truth "
        "motifs with TOMTOM (memelite) and write OUT/report.md, OUT/rediscovery.tsv, pattern logos and "
        "modisco-lite's results file.",
    )
    motifs.add_argument("attr_file", metavar="ATTR_FILE.npz", help="(N, 4, L) attributions from `regsim attribute`")
    motifs.add_argument("--dataset", required=True, metavar="DIR", help="dataset folder (its motifs.meme is the truth)")
    motifs.add_argument("--out", required=True, metavar="DIR")
    motifs.add_argument("--database", default="jaspar:JASPAR2024:CORE:vertebrates",
                        help="further TOMTOM targets, for stable p-values and to name other patterns "
                        "(JASPAR spec or motif file; 'none' for the ground truth only)")
    motifs.add_argument("--q-threshold", type=float, default=0.05, help="TOMTOM q-value of a match (default 0.05)")
    motifs.add_argument("--max-seqlets", type=int, default=2000, help="modisco-lite seqlets per metacluster (default 2000)")
    motifs.add_argument("--n-leiden-runs", type=int, default=2, help="modisco-lite Leiden runs (default 2)")
    _common(motifs, _motifs)


def _common(parser, handler) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    add_verbose(parser)
    parser.set_defaults(handler=handler)


def _score(args: argparse.Namespace) -> int:
    from .score import format_table, score

    table = score(args.attr_dir, args.dataset, config=args.config, split=args.split, verbose=not args.quiet)
    print(format_table(table))
    print(f"wrote {args.attr_dir}/scores.csv ({len(table)} files, {table.shape[1]} columns)")
    return 0


def _plot(args: argparse.Namespace) -> int:
    from .plot import plot_attribution

    drawn = plot_attribution(args.attr_file, args.dataset, args.index, args.out, config=args.config,
                             split=args.split, start=args.start, end=args.end)
    if not args.quiet:
        print(f"wrote {args.out}: sequence {drawn['id']}" + (f" ({drawn['split']})" if drawn["split"] else "")
              + f", {len(drawn['motifs'])} ground-truth motif instances")
    return 0


def _motifs(args: argparse.Namespace) -> int:
    from .rediscover import rediscover_motifs

    if args.max_seqlets < 1 or args.n_leiden_runs < 1:
        raise UserError("--max-seqlets and --n-leiden-runs must be positive integers")
    database = None if args.database in ("", "none") else args.database
    rows = rediscover_motifs(args.attr_file, args.dataset, args.out, database=database, q_threshold=args.q_threshold,
                             max_seqlets=args.max_seqlets, n_leiden_runs=args.n_leiden_runs, verbose=not args.quiet)
    truth = [r for r in rows if r["motif_id"]]
    for r in truth:
        print(f"{r['motif_id']:<10} {r['motif_name']:<20} {'rediscovered' if r['rediscovered'] == 'yes' else 'missed':<12} "
              f"{r['pattern']:<26} q={r['q_value']:.3g}")
    others = [r for r in rows if not r["motif_id"]]
    print(f"{sum(r['rediscovered'] == 'yes' for r in truth)} of {len(truth)} ground-truth motifs rediscovered; "
          f"{len(others)} other patterns; wrote {args.out}/report.md and {args.out}/rediscovery.tsv")
    return 0
