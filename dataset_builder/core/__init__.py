"""regsim's foundation: what every layer above may use, importing nothing of regsim outside this folder.

- :mod:`.errors`: :class:`~.errors.UserError`, the one exception type for bad user input;
- :mod:`.sequences`: one-hot ``(N, 4, L)`` float32 in A, C, G, T order, integer codes, GC;
- :mod:`.seeding`: counter-based seeds and ``random_state`` normalisation;
- :mod:`.io`: sha256, JSON and atomic writes of output folders;
- :mod:`.log`: the progress logger;
- :mod:`.hub`: the Hugging Face Hub uploader behind ``publish`` and ``push-model``;
- :mod:`.cli`: what every subcommand's parser shares, and the error handling of ``regsim``.

``__version__`` here is the package's one version source (``pyproject.toml`` reads it).
"""

__version__ = "0.1.0"
