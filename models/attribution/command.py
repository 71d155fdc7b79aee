"""The ``regsim attribute`` subcommand (parser only; the work happens in the handler)."""

from __future__ import annotations

import argparse
import os

from regsim.dataset_builder.core.cli import add_verbose

_METHODS_HELP = (
    "ism, saliency, grad_x_input, integrated_gradients, deeplift, deepshap, gradcam_last, gradcam_first, "
    "zheng, grad_x_act_first, deeplift_first, deeplift_rsconv, deepshap_rsconv; gkmexplain and ism for gkm-SVMs; suffix _offsimplex for the gradient-based ones, "
    "integrated_gradients_<K>steps for K steps"
)


def register(subparsers) -> None:
    """Add ``attribute`` to the ``regsim`` subcommands."""
    parser = subparsers.add_parser(
        "attribute",
        description=(
            "Explain a model's logit on a dataset split. Writes ATTR_DIR/<method>__<reference>.npz "
            "(attributions, ids, one-hot sequences, and hypothetical contributions / ISM importance where "
            "they exist) and ATTR_DIR/summary.json (settings, run time, completeness errors)."
        ),
    )
    parser.add_argument("--model", required=True, metavar="MODEL_DIR", help="model folder (from_pretrained)")
    parser.add_argument("--dataset", required=True, metavar="DIR", help="dataset folder from `regsim build`")
    parser.add_argument("--config", default=None, metavar="NAME", help="dataset config (default: the dataset's default)")
    parser.add_argument("--split", default="test", help="split to explain (default test)")
    parser.add_argument("--methods", required=True, metavar="M1,M2", help=_METHODS_HELP)
    parser.add_argument(
        "--references", default=None, metavar="R1,R2",
        help="zeros, base_freq, gc_matched, shuffled, shuffled<K> (default: each method's own); "
        "reference-free methods ignore them",
    )
    parser.add_argument("--n-refs", type=int, default=20, help="shuffles per sequence for `shuffled` (default 20)")
    parser.add_argument("--n-steps", type=int, default=20, help="Integrated Gradients steps (default 20)")
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="explain the first N sequences of the split")
    parser.add_argument("--batch-size", type=int, default=None, help="rows per forward pass (default: per method)")
    parser.add_argument("--shard-size", type=int, default=512, metavar="N",
                        help="sequences per shard written to disk as it is computed; memory is bounded by one shard "
                        "(default 512). Under `accelerate launch --multi_gpu --num_processes P` the processes share the shards")
    parser.add_argument("--seed", type=int, default=0, help="seed of the shuffled references (default 0)")
    parser.add_argument("--device", default=None,
                        help="torch device, e.g. cuda:0 (default cpu; under accelerate launch: each process's own)")
    parser.add_argument("--modisco", action="store_true", help="also write modisco-lite inputs under ATTR_DIR/modisco/")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--out", required=True, metavar="ATTR_DIR", help="output folder (created; summary.json is merged)")
    add_verbose(parser)
    parser.set_defaults(handler=_attribute)


def _names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [x.strip() for x in text.split(",") if x.strip()]


def _attribute(args: argparse.Namespace) -> int:
    from regsim.dataset_builder.core.errors import UserError

    from .attribute import plan, run_attributions
    from .loading import load_model, load_sequences

    if args.limit is not None and args.limit < 1:
        raise UserError(f"--limit must be a positive integer, got {args.limit}")
    if args.n_refs < 1 or args.n_steps < 1:
        raise UserError("--n-refs and --n-steps must be positive integers")
    if args.shard_size < 1 or (args.batch_size is not None and args.batch_size < 1):
        raise UserError("--shard-size and --batch-size must be positive integers")
    say = print if int(os.environ.get("RANK", "0")) == 0 else (lambda *a, **k: None)  # accelerate launch: one voice
    methods, references = _names(args.methods), _names(args.references)
    if not methods:
        raise UserError("--methods is empty")
    plan(methods, references, args.n_steps)  # reject unknown names before loading anything
    model = load_model(args.model, device=args.device)
    ids, X, info = load_sequences(args.dataset, args.config, args.split, limit=args.limit)
    expected = getattr(model.config, "sequence_length", X.shape[-1])
    if X.shape[-1] != expected:
        raise UserError(f"--model {args.model} takes {expected}-bp sequences, but --dataset {args.dataset} "
                        f"holds {X.shape[-1]}-bp sequences")
    say(f"regsim attribute: {len(ids)} sequences of {X.shape[-1]} bp from {args.dataset} "
          f"({info['config'] or 'default'}/{args.split}), model {args.model}")
    metadata = {
        "model": str(args.model),
        "dataset": str(args.dataset),
        "config": info["config"],
        "split": args.split,
        "limit": args.limit,
    }
    run_attributions(
        model, X, ids, methods, references, args.out, n_refs=args.n_refs, n_steps=args.n_steps,
        shard_size=args.shard_size, batch_size=args.batch_size, device=args.device, random_state=args.seed,
        verbose=not args.quiet, modisco=args.modisco, metadata=metadata, log=lambda line: say(f"regsim attribute: {line}"),
    )
    say(f"regsim attribute: wrote {args.out}/summary.json")
    return 0
