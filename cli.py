"""The ``regsim`` console command (also ``python -m regsim``).

The top of the stack: each layer's ``commands`` module adds its subcommands with
``register(subparsers)`` (``build`` and ``publish`` from :mod:`regsim.dataset_builder.commands`;
``train``, ``push-model`` and ``attribute`` from :mod:`regsim.models.commands`; ``score``, ``plot``,
``motifs`` and ``benchmark`` from :mod:`regsim.metrics.benchmark.commands`); for ``build --motifs denovo``
it also hands the dataset builder the models layer's motif discovery (:func:`_discover_denovo`). Only the
layer that owns the subcommand being run is
imported, so ``regsim --help`` and ``regsim build`` never import torch; the one-line help of the
listing lives in :data:`SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import sys

from .dataset_builder.core import __version__
from .dataset_builder.core.cli import run_handler


def _dataset_commands():
    from .dataset_builder import commands

    return commands


def _model_commands():
    from .models import commands

    return commands


def _benchmark_commands():
    from .metrics.benchmark import commands

    return commands


# name -> (the layer's commands module, one-line help), in the order --help lists them.
SUBCOMMANDS = {
    "build": (_dataset_commands, "build a simulated dataset folder (default: the embedded Oct4 vs MafK data)"),
    "publish": (_dataset_commands, "upload a dataset folder to the Hugging Face Hub"),
    "train": (_model_commands, "train a Basset- or Beluga-style CNN on a regsim dataset"),
    "push-model": (_model_commands, "upload a trained model folder to the Hugging Face Hub"),
    "attribute": (_model_commands, "compute attribution maps (ISM, gradients, IG, DeepLIFT/DeepSHAP, GradCAM, ...)"),
    "score": (_benchmark_commands, "score a folder of attributions against a dataset's ground truth (scores.csv)"),
    "plot": (_benchmark_commands, "sequence logo of one sequence's attributions under its ground-truth motifs"),
    "motifs": (_benchmark_commands, "modisco-lite patterns of an attribution file matched to the ground-truth motifs"),
    "benchmark": (_benchmark_commands, "the paper's experiment end to end: datasets, models, attributions, scores, report"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``regsim`` parser; with ``command``, only the layer that owns it registers its subcommands."""
    parser = argparse.ArgumentParser(
        prog="regsim",
        description="Realistic simulated regulatory-genomics datasets, CNNs and attribution benchmarks.",
    )
    parser.add_argument("--version", action="version", version=f"regsim {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    if command in SUBCOMMANDS:
        SUBCOMMANDS[command][0]().register(subparsers)
    else:  # the listing only: `regsim --help`, or an unknown command for argparse to reject
        for name, (_, help_text) in SUBCOMMANDS.items():
            subparsers.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``regsim`` command with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    args = build_parser(command).parse_args(argv)
    if command == "build":
        args.discover = _discover_denovo
    return run_handler(args)


def _discover_denovo(positives, background, *, random_state, verbose):
    """``regsim build --motifs denovo``: discovery lives in the models layer, above the dataset builder,
    so the command hands it to ``build_dataset`` as its ``discover`` callable."""
    from .models.denovo import discover_motifs

    return discover_motifs(positives, background, random_state=random_state, verbose=verbose)


if __name__ == "__main__":
    sys.exit(main())
