"""Card templates (jinja2): ``dataset_card.md.j2`` for datasets, ``model_card.md.j2`` for models.

Cards are always generated from data by the code that owns them (:mod:`regsim.dataset_builder.dataset_card`,
:mod:`regsim.models.model_card`); this package only ships and locates the templates.
"""

from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parent


def read_template(name: str) -> str:
    """The text of the template ``name`` (e.g. ``"dataset_card.md.j2"``)."""
    return (TEMPLATE_DIR / name).read_text(encoding="utf-8")
