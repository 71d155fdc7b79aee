"""The ``regsim train`` and ``regsim push-model`` subcommands (parsers only; work in the handlers)."""

from __future__ import annotations

import argparse

from regsim.dataset_builder.core.cli import add_verbose

ARCHITECTURES = ("basset", "beluga", "reference", "tiny", "gkmsvm")


def register(subparsers) -> None:
    """Add ``train`` and ``push-model`` to the ``regsim`` subcommands."""
    train = subparsers.add_parser(
        "train",
        description=(
            "Train a CNN preset on a regsim dataset with the preset's recipe (Adam, batches half positives and half "
            "negatives, reverse-complement augmentation, early stopping on the validation auPRC; the flags below "
            "override it); evaluate once on the test split; write MODEL_DIR with save_pretrained (safetensors), "
            "eval_results.json, training_log.json, training_curves.png and a model card. "
            "--arch gkmsvm trains a gapped k-mer SVM (gkmsvm-lite) instead: same folder contract, weights in "
            "model.safetensors."
        ),
    )
    train.add_argument("--dataset", required=True, metavar="DIR", help="dataset folder from `regsim build` (or a Hub dataset id)")
    train.add_argument("--config", default=None, metavar="NAME", help="dataset config (default: the dataset's default)")
    train.add_argument("--arch", required=True, choices=ARCHITECTURES,
                       help="CNN preset (`reference` is the plain CNN that shows what the data allow, `tiny` is for "
                       "tests) or `gkmsvm` (gapped k-mer SVM)")
    train.add_argument("--out", required=True, metavar="MODEL_DIR", help="model folder to write")
    train.add_argument("--seed", type=int, default=0, help="seeds weights, batch order and dropout (default 0)")
    train.add_argument("--epochs", type=int, default=None, help="maximum epochs (default: the preset's recipe)")
    train.add_argument("--batch-size", type=int, default=None, help="even; half positives, half negatives (default 64)")
    train.add_argument(
        "--patience", type=int, default=None,
        help="epochs without a better validation auPRC before stopping (default: the preset's recipe)",
    )
    train.add_argument("--learning-rate", type=float, default=None, metavar="F", help="Adam's learning rate (default: the preset's recipe)")
    train.add_argument(
        "--weight-decay", type=float, default=None, metavar="F",
        help="decoupled weight decay (AdamW) when > 0 (default: the preset's recipe)",
    )
    train.add_argument(
        "--lr-schedule", choices=("constant", "plateau"), default=None,
        help="`plateau` halves the learning rate after 2 epochs without a better validation auPRC (default: the preset's recipe)",
    )
    train.add_argument(
        "--max-shift", type=int, default=None, metavar="BP",
        help="shift training sequences by a random -BP..BP bases, N-filled (default: the preset's recipe)",
    )
    train.add_argument(
        "--width-multiplier", type=float, default=None, metavar="F",
        help="scale every layer's width (default: basset 0.5, beluga 0.25, tiny 1)",
    )
    train.add_argument(
        "--set", dest="config_overrides", action="append", default=[], metavar="FIELD=JSON",
        help="override a model configuration field of the preset, e.g. --set dense_dropout=0.5 --set conv_batch_norm=true "
             "(repeatable; for experiments)",
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
    train.add_argument("--init-from", default=None, metavar="FILE",
                       help="basset/beluga: start from public weights (Kipoi's Basset PyTorch port, "
                       "pretrained_model_reloaded_th.pth; ExPecto's deepsea.beluga.pth) at full width")
    train.add_argument("--init-task", type=int, default=0, metavar="N",
                       help="output unit of --init-from kept as the logit (0-based; default 0)")
    gkm = train.add_argument_group("gkm-SVM (--arch gkmsvm)")
    gkm.add_argument("--gkm-kernel", default="gkm_esttrunc",
                     help="gkmsvm-lite kernel or lsgkm -t number (default gkm_esttrunc, -t 2)")
    gkm.add_argument("--gkm-l", type=int, default=11, help="word length L (default 11)")
    gkm.add_argument("--gkm-k", type=int, default=7, help="informative positions k (default 7)")
    gkm.add_argument("--gkm-d", type=int, default=3, help="maximum mismatches d (default 3)")
    gkm.add_argument("--gkm-c", type=float, default=1.0, help="SVM C (default 1)")
    gkm.add_argument("--gkm-max-per-class", type=int, default=20_000,
                     help="at most this many positives and negatives of the train split (default 20000)")
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

    if args.arch == "gkmsvm":
        from regsim.dataset_builder.core.errors import UserError

        from .gkmsvm import train_gkmsvm

        if args.init_from:
            raise UserError("--init-from applies to --arch basset or beluga, not gkmsvm")
        train_gkmsvm(args.dataset, out=args.out, config_name=args.config, kernel=args.gkm_kernel,
                     word_length=args.gkm_l, informative=args.gkm_k, max_mismatch=args.gkm_d, C=args.gkm_c,
                     max_per_class=args.gkm_max_per_class, num_threads=args.threads, force=args.force,
                     random_state=args.seed, verbose=True)
        return 0
    train(
        args.dataset,
        arch=args.arch,
        out=args.out,
        config_name=args.config,
        epochs=args.epochs,
        patience=args.patience,
        learning_rate=args.learning_rate,
        weight_decay=args.weight_decay,
        lr_schedule=args.lr_schedule,
        max_shift=args.max_shift,
        width_multiplier=args.width_multiplier,
        config_overrides=_parse_overrides(args.config_overrides),
        max_minutes=args.max_minutes,
        num_threads=args.threads,
        reverse_complement=args.reverse_complement,
        force=args.force,
        batch_size=args.batch_size,
        device=args.device,
        init_from=args.init_from,
        init_task=args.init_task,
        random_state=args.seed,
        verbose=True,
    )
    return 0


def _parse_overrides(items: list[str]) -> dict:
    """``["field=json", ...]`` from ``--set`` to ``{field: value}``."""
    import json

    from regsim.dataset_builder.core.errors import UserError

    overrides = {}
    for item in items:
        field, sep, raw = item.partition("=")
        if not sep or not field:
            raise UserError(f"--set {item}: expected FIELD=VALUE, e.g. dense_dropout=0.5")
        try:
            overrides[field] = json.loads(raw)
        except json.JSONDecodeError as error:
            raise UserError(f"--set {item}: the value is not JSON ({error.msg})") from error
    return overrides


def _push(args: argparse.Namespace) -> int:
    from .push_model import push_model

    push_model(args.model_dir, args.repo_id, dry_run=args.dry_run, private=args.private, token=args.token,
               version=args.version)
    return 0
