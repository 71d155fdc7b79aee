"""Subcommands owned by :mod:`dataset_builder`: ``build`` and ``publish``."""

from __future__ import annotations

import argparse

from .core.cli import add_verbose
from .core.errors import UserError


def register(subparsers) -> None:
    build = subparsers.add_parser(
        "build",
        description="Build a Hub-ready simulated dataset with per-base motif ground truth. With no input "
        "flags it builds the embedded default (real Oct4 ChIP-seq peaks vs MafK peaks, JASPAR2024 CORE "
        "vertebrates).",
    )
    build.add_argument("--out", required=True, help="dataset folder to create")
    build.add_argument("--mode", choices=["realistic", "simple"], default="realistic")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--width", type=int, help="window width (mode A default 400; mode B: the sequences' length)")
    build.add_argument("--motifs", metavar="SPEC_OR_FILE",
                       help="JASPAR spec (default jaspar:JASPAR2024:CORE:vertebrates), a MEME/JASPAR/HOMER file, or "
                       "'denovo': discover them in the real positives (model + DeepSHAP + TF-MoDISco-lite)")
    inputs = build.add_argument_group("inputs (mode A: genome + peaks; mode B: sequence sets)")
    inputs.add_argument("--genome", help="genome FASTA (mode A)")
    inputs.add_argument("--positives", help="positive peaks, narrowPeak or BED (mode A)")
    inputs.add_argument("--background", help="background peaks, narrowPeak or BED (mode A)")
    inputs.add_argument("--positives-fasta", help="positive sequences (mode B)")
    inputs.add_argument("--negatives-fasta", help="background sequences (mode B)")
    inputs.add_argument("--gc-match", action="store_true", help="subsample the background to the positives' GC")
    motifs = build.add_argument_group("motif scan and filter")
    motifs.add_argument("--threshold", type=float, default=1e-4, help="scan p-value threshold (default 1e-4)")
    motifs.add_argument("--min-hits", type=int, help="positive hits a motif needs (default max(10, 2%% of positives); "
                        "the paper: 1000 of 96,663-154,628 peaks)")
    motifs.add_argument("--enrichment-weight", choices=("authors", "paper", "linear"), default="authors",
                        help="centre weight of a hit: authors = (W/2 - |W/2 - start|)^2 as the authors' code "
                        "(default), paper = inverse square distance from the centre, linear = triangle")
    motifs.add_argument("--min-enrichment", type=float, default=1.25, help="default 1.25 (as the paper)")
    motifs.add_argument("--max-motifs", type=int, default=20,
                        help="retain at most the N most enriched motifs (default 20; 0 keeps all, as the paper)")
    motifs.add_argument("--collapse-redundant", action="store_true",
                        help="keep one motif per cluster of TOMTOM-similar motifs (q < 0.05), the most enriched")
    splits = build.add_argument_group("splits")
    splits.add_argument("--split-fractions", default="0.7,0.1,0.2", help="train,validation,test (default 0.7,0.1,0.2)")
    splits.add_argument("--validation-chroms", default="", help="comma-separated chromosomes held out for validation")
    splits.add_argument("--test-chroms", default="", help="comma-separated chromosomes held out for test")
    simple = build.add_argument_group("simple mode")
    simple.add_argument("--n-per-class", type=int, help="positives and negatives each (default 10000)")
    simple.add_argument("--gc", type=float, help="background GC content (default 0.4)")
    output = build.add_argument_group("output")
    output.add_argument("--config-name", help="config name (default: realistic / simple)")
    output.add_argument("--dataset-name", help="name used in the card (default regsim-<config>)")
    output.add_argument("--version", default="1.0.0", help="semantic dataset version (default 1.0.0)")
    output.add_argument("--license", default="cc-by-4.0")
    output.add_argument("--force", action="store_true", help="replace an existing folder")
    output.add_argument("--quiet", action="store_true", help="no progress output")
    run = build.add_argument_group("resources (the output is the same for every value)")
    run.add_argument("--num-proc", type=int, default=None, metavar="N",
                     help="worker processes, one CPU each (default: every CPU available)")
    run.add_argument("--batch-size", type=int, default=2000, metavar="N",
                     help="real records per batch; peak memory grows with it (default 2000)")
    add_verbose(build)
    build.set_defaults(handler=_build)

    publish = subparsers.add_parser(
        "publish",
        description="Upload a dataset folder written by `regsim build` to the Hugging Face Hub and tag it "
        "v<version>.",
    )
    publish.add_argument("folder", help="a folder written by regsim build")
    publish.add_argument("--repo-id", required=True, help="ORG/NAME of the dataset repository")
    publish.add_argument("--dry-run", action="store_true", help="print exactly what would be pushed; contact nothing")
    publish.add_argument("--private", action="store_true", help="create the repository as private")
    publish.add_argument("--token", help="Hub token (default: cached login or HF_TOKEN)")
    publish.add_argument("--quiet", action="store_true", help="print nothing on success")
    add_verbose(publish)
    publish.set_defaults(handler=_publish)


def _floats(text: str, flag: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError:
        raise UserError(f"{flag} must be comma-separated numbers, got {text!r}") from None


def _names(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def _build(args: argparse.Namespace) -> int:
    from .build import BuildSettings, build_dataset

    settings = BuildSettings(
        mode=args.mode, genome=args.genome, positives=args.positives, background=args.background,
        positives_fasta=args.positives_fasta, negatives_fasta=args.negatives_fasta, motifs=args.motifs,
        width=args.width, seed=args.seed, threshold=args.threshold, min_hits=args.min_hits,
        min_enrichment=args.min_enrichment, max_motifs=args.max_motifs or None,
        collapse_redundant=args.collapse_redundant, enrichment_weight=args.enrichment_weight,
        gc_match=args.gc_match,
        split_fractions=_floats(args.split_fractions, "--split-fractions"),
        validation_chroms=_names(args.validation_chroms), test_chroms=_names(args.test_chroms),
        n_per_class=args.n_per_class, gc=args.gc, config_name=args.config_name, dataset_name=args.dataset_name,
        version=args.version, license=args.license,
    )
    # `regsim build` (the top layer) sets args.discover for --motifs denovo; see regsim.dataset_builder.discovered
    result = build_dataset(args.out, settings, discover=getattr(args, "discover", None), force=args.force,
                           num_proc=args.num_proc, batch_size=args.batch_size, verbose=not args.quiet)
    print(f"wrote {result.folder} (config {result.config_name!r}) in {result.seconds:.1f} s")
    for split, row in result.split_sizes.items():
        print(f"  {split:<10} {row['total']:>7} sequences ({row['positive']} positive, {row['negative']} negative)")
    if result.dropped:
        print("  dropped or changed:")
        for row in result.dropped:
            print(f"    {row['set']:<10} {row['reason']:<36} {row['count']:>7}")
    print(f"  motifs: {len(result.retained)} in the ground truth")
    return 0


def _publish(args: argparse.Namespace) -> int:
    from .publish import publish_dataset

    plan = publish_dataset(args.folder, args.repo_id, dry_run=args.dry_run, private=args.private, token=args.token)
    if args.quiet and not args.dry_run:
        return 0
    print(("dry run: nothing was uploaded. Would push:\n" if args.dry_run else "") + plan.describe())
    if not args.dry_run:
        print(f"pushed {len(plan.files)} files to {plan.url} and tagged {plan.tag}")
    return 0
