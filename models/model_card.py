"""Model cards generated from a trained model folder: ``render_model_card`` / ``write_model_card``.

Everything in the card comes from the folder (``config.json``, the weights, ``eval_results.json``,
``training_log.json``): the model-index evaluation results, the training data with its version and
checksums, the hyper-parameters and per-epoch log, the layer table. The text lives in the jinja2
template ``model_card.md.j2`` in :mod:`regsim.cards`; the YAML header is built with ``huggingface_hub.ModelCardData``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from regsim.cards import read_template

ARCHITECTURE_REFERENCES = {
    "basset": "after Basset (Kelley, Snoek & Rinn, Genome Research 2016)",
    "beluga": "after DeepSEA Beluga (Zhou et al., Nature Genetics 2018)",
    "reference": "that shows what the data allow (one convolution of 64 x 15 bp, global max pooling, 32 hidden units)",
    "tiny": "for tests",
}


def render_model_card(
    model_dir: str | os.PathLike, *, model_name: str | None = None, template: str | os.PathLike | None = None
) -> str:
    """The model card (``README.md`` text) of a model folder written by ``regsim train``.

    Parameters
    ----------
    model_dir : str or path
        Folder with ``config.json``, ``model.safetensors``, ``eval_results.json`` and ``training_log.json``.
    model_name : str, optional
        Name shown in the card; default: the folder's name.
    template : str or path, optional
        Jinja2 template; default ``model_card.md.j2`` of :mod:`regsim.cards`.

    Returns
    -------
    str
    """
    import jinja2
    from huggingface_hub import ModelCard

    model_dir = Path(model_dir)
    context = _card_context(model_dir, model_name or model_dir.name)
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    environment.filters["fmt"] = _format_number
    template_text = Path(template).read_text(encoding="utf-8") if template else read_template("model_card.md.j2")
    text = environment.from_string(template_text).render(**context)
    ModelCard(text)  # validates the YAML header
    return text


def write_model_card(model_dir: str | os.PathLike, *, model_name: str | None = None) -> Path:
    """Render the card of ``model_dir`` into ``model_dir/README.md`` and return that path."""
    path = Path(model_dir) / "README.md"
    path.write_text(render_model_card(model_dir, model_name=model_name), encoding="utf-8")
    return path


def write_gkmsvm_card(model_dir: str | os.PathLike, *, model_name: str | None = None) -> Path:
    """Render the card of a gkm-SVM folder (:mod:`models.gkmsvm`) into ``model_dir/README.md``."""
    import jinja2
    from huggingface_hub import ModelCard

    model_dir = Path(model_dir)
    model_name = model_name or model_dir.name
    config = json.loads((model_dir / "config.json").read_text())
    results = json.loads((model_dir / "eval_results.json").read_text())
    log = json.loads((model_dir / "training_log.json").read_text())
    data = log["data"]
    card_data, dataset_title = _card_data(model_name, data, results, library=None,
                                         tags=["regsim", "genomics", "dna", "regulatory-genomics", "gkm-svm",
                                               "attribution-benchmark"])
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    environment.filters["fmt"] = _format_number
    text = environment.from_string(read_template("gkmsvm_card.md.j2")).render(
        card_data=card_data, model_name=model_name, config=config, results=results, data=data,
        dataset_title=dataset_title, hyper=log["hyperparameters"], subsample=log["subsample"], software=log["software"])
    ModelCard(text)  # validates the YAML header
    path = model_dir / "README.md"
    path.write_text(text, encoding="utf-8")
    return path


def _card_data(model_name: str, data: dict, results: dict, *, library, tags: list[str]):
    """The YAML header (model-index results on test and validation) and the dataset's title."""
    from huggingface_hub import EvalResult, ModelCardData

    dataset_type = data["hub_repo_id"] or data["dataset_name"]
    dataset_title = data["pretty_name"] or data["dataset_name"]
    revision = f"v{data['version']}" if data["hub_repo_id"] and data["version"] else None
    dataset_args = {k: v for k, v in (("version", data["version"]), ("manifest_sha256", data["manifest_sha256"])) if v}
    common = {
        "task_type": "text-classification",
        "task_name": "Binary classification of regulatory DNA sequences",
        "dataset_type": dataset_type,
        "dataset_name": dataset_title,
        "dataset_config": data["config"],
        "dataset_revision": revision,
        "dataset_args": dataset_args or None,
    }
    eval_results = [
        EvalResult(**common, dataset_split="test", metric_type="roc_auc", metric_name="test auROC", metric_value=results["test_auroc"]),
        EvalResult(**common, dataset_split="test", metric_type="average_precision", metric_name="test auPRC", metric_value=results["test_auprc"]),
        EvalResult(**common, dataset_split="validation", metric_type="average_precision", metric_name="validation auPRC", metric_value=results["validation_auprc"]),
    ]
    card_data = ModelCardData(
        model_name=model_name,
        library_name=library,
        license="mit",
        tags=tags,
        datasets=[data["hub_repo_id"]] if data["hub_repo_id"] else None,
        metrics=["roc_auc", "average_precision"],
        eval_results=eval_results,
    )
    return card_data.to_yaml(), dataset_title


def _card_context(model_dir: Path, model_name: str) -> dict:
    from .configuration_regcnn import RegCNNConfig

    config = json.loads((model_dir / "config.json").read_text())
    results = json.loads((model_dir / "eval_results.json").read_text())
    log = json.loads((model_dir / "training_log.json").read_text())
    data, hyper = log["data"], log["hyperparameters"]
    preset = config.get("preset") or "custom"
    card_data, dataset_title = _card_data(model_name, data, results, library="transformers",
                                          tags=["regsim", "genomics", "dna", "regulatory-genomics", "cnn",
                                                "attribution-benchmark", preset])
    regcnn_config = RegCNNConfig.from_pretrained(model_dir)
    layers, n_params = _layer_table(regcnn_config)
    return {
        "card_data": card_data,
        "model_name": model_name,
        "preset": preset,
        "architecture_reference": ARCHITECTURE_REFERENCES.get(preset, "with a custom layer recipe"),
        "config": config,
        "results": results,
        "data": data,
        "dataset_title": dataset_title,
        "hyper": hyper,
        "history": log["history"],
        "software": log["software"],
        "layers": layers,
        "n_params": n_params,
        "receptive_fields": {
            which: dict(zip(("offset", "width", "stride"), regcnn_config.receptive_field(block)))
            for which, block in (("first_conv", 0), ("last_conv", -1))
        },
    }


def _layer_table(config) -> tuple[list[dict], int]:
    """Every leaf module in call order with its output shape ``(C, L)`` and parameter count."""
    import torch

    from .modeling_regcnn import RegCNNForSequenceClassification

    with torch.random.fork_rng():  # leave the caller's random stream alone
        model = RegCNNForSequenceClassification(config).eval()
    rows, hooks = [], []
    for name, module in model.named_modules():
        if next(module.children(), None) is None:
            def record(module, inputs, output, name=name):
                rows.append({
                    "name": name,
                    "layer": _describe(module),
                    "output": "x".join(str(d) for d in output.shape[1:]),
                    "parameters": sum(p.numel() for p in module.parameters(recurse=False)),
                })
            hooks.append(module.register_forward_hook(record))
    with torch.no_grad():
        model.logits(torch.zeros(1, 4, model.config.sequence_length))
    for hook in hooks:
        hook.remove()
    return rows, sum(p.numel() for p in model.parameters())


def _describe(module) -> str:
    """A short description of a leaf module, e.g. ``Conv1d(4, 150, kernel 19, padding same)``."""
    from torch import nn

    if isinstance(module, nn.Conv1d):
        padding = module.padding if isinstance(module.padding, str) else module.padding[0]
        return f"Conv1d({module.in_channels}, {module.out_channels}, kernel {module.kernel_size[0]}, padding {padding})"
    if isinstance(module, nn.BatchNorm1d):
        return f"BatchNorm1d({module.num_features})"
    if isinstance(module, nn.MaxPool1d):
        return f"MaxPool1d({module.kernel_size})"
    if isinstance(module, nn.Dropout):
        return f"Dropout({module.p})"
    if isinstance(module, nn.Linear):
        return f"Linear({module.in_features}, {module.out_features})"
    return f"{type(module).__name__}()"


def _format_number(value, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)
