"""Hugging Face Space entry point: the evaluate widget for the motif_attribution metric.

In the Space this folder is the repository root and the Space installs gradio; locally, run
``python metrics/motif_attribution/app.py`` after ``pip install gradio``. The metric is loaded from its
script file, not from the folder: ``evaluate.load(folder)`` picks ``<folder name>.py``, which would be
this file in a Space cloned into a folder called ``app``.
"""

import sys
from pathlib import Path

try:
    import gradio  # noqa: F401  (launch_gradio_widget imports it; fail early with a clear message)
except ImportError:
    sys.exit("app.py is the Space entry point of the motif_attribution metric; it needs gradio (pip install gradio).")

import evaluate  # noqa: E402
from evaluate.utils import launch_gradio_widget  # noqa: E402

module = evaluate.load(str(Path(__file__).resolve().with_name("motif_attribution.py")))
launch_gradio_widget(module)
