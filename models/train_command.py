"""The ``regsim train`` and ``regsim push-model`` subcommands (parsers only; work in the handlers)."""

from __future__ import annotations

import argparse

from regsim.dataset_builder.core.cli import add_verbose

ARCHITECTURES = ("basset", "beluga", "tiny")


def register(subparsers) -> None:
    """Add ``train`` and ``push-model`` to the ``regsim`` subcommands."""
    train = subparsers.add_parser(
        "train",
        description=(
            "Train a CNN preset on a regsim dataset: Adam (lr 1e-3), batches half positives and half negatives, "
            "early stopping on the validation auPRC; evaluate once on the test split; write MODEL_DIR with "
            "save_pretrained (safetensors), eval_results.json, training_log.json and a model card."
        ),
    )
    train.add_argument("--dataset", required=True, metavar="DIR", help="dataset folder from `regsim build` (or a Hub dataset id)")
    train.add_argument("--config", default=None, metavar="NAME", help="dataset config (default: the dataset's default)")
    train.add_argument("--arch", required=True, choices=ARCHITECTURES, help="preset; `tiny` is for tests")
    train.add_argument("--out", required=True, metavar="MODEL_DIR", help="model folder to write")
    train.add_argument("--seed", type=int, default=0, help="seeds weights, batch order and dropout (default 0)")
    train.add_argument("--epochs", type=int, default=30, help="maximum epochs (default 30)")
    train.add_argument("--batch-size", type=int, default=64, help="even; half positives, half negatives (default 64)")
    train.add_argument("--patience", type=int, default=5, help="epochs without a better validation auPRC before stopping (default 5)")
    train.add_argument(
        "--width-multiplier", type=float, default=None, metavar="F",
        help="scale every layer's width (default: basset 0.5, beluga 0.25, tiny 1)",
    )
    train.add_argument("--max-minutes", type=float, default=None, metavar="F", help="stop after this much training time (not reproducible)")
    train.add_argument(
        "--threads", type=int, default=1,
        help="PyTorch threads (default 1; results are reproducible for a given thread count)",
    )
    train.add_argument(
        "--no-reverse-complement", dest="reverse_complement", action="store_false",
        help="do not replace training sequences by their reverse complement (default: each with probability 1/2)",
    )
    train.add_argument("--device", default="cpu", help="torch device (default cpu)")
    train.add_argument("--force", action="store_true", help="replace an existing MODEL_DIR")
    add_verbose(train)
    train.set_defaults(handler=_train)

    push = subparsers.add_parser(
        "push-model",
        description="Upload MODEL_DIR to a Hub model repository (created if missing) in one commit.",
    )
    push.add_argument("model_dir", metavar="MODEL_DIR")
    push.add_argument("--repo-id", required=True, metavar="ORG/NAME")
    push.add_argument("--dry-run", action="store_true", help="print the files (size, sha256) and the target; contact nothing")
    push.add_argument("--private", action="store_true", help="create the repository as private")
    push.add_argument("--token", help="Hub token (default: cached login or HF_TOKEN)")
    push.add_argument("--version", default="1.0.0", help="the commit is tagged v<version> (default 1.0.0)")
    add_verbose(push)
    push.set_defaults(handler=_push)


def _train(args: argparse.Namespace) -> int:
    from .train import train

    train(
        args.dataset,
        arch=args.arch,
        out=args.out,
        config_name=args.config,
        epochs=args.epochs,
        patience=args.patience,
        width_multiplier=args.width_multiplier,
        max_minutes=args.max_minutes,
        num_threads=args.threads,
        reverse_complement=args.reverse_complement,
        force=args.force,
        batch_size=args.batch_size,
        device=args.device,
        random_state=args.seed,
        verbose=True,
    )
    return 0


def _push(args: argparse.Namespace) -> int:
    from .push_model import push_model

    push_model(args.model_dir, args.repo_id, dry_run=args.dry_run, private=args.private, token=args.token,
               version=args.version)
    return 0
