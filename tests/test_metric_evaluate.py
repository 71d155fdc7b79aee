"""The evaluate module: loading (relative, absolute, fresh process, offline), docstring examples, parity."""

import doctest
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from regsim.metrics import score_attributions
from regsim.metrics.motif_attribution import _scoring

evaluate = pytest.importorskip("evaluate")

REPO = Path(__file__).resolve().parents[1]
MODULE_DIR = REPO / "metrics" / "motif_attribution"
HELPERS = sorted(p.name for p in MODULE_DIR.glob("_*.py") if p.name != "__init__.py")


def _helpers_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("_*.py") if p.name != "__init__.py")


@pytest.fixture
def in_repo(monkeypatch):
    monkeypatch.chdir(REPO)


@pytest.fixture
def metric(in_repo):
    return evaluate.load("metrics/motif_attribution")


def _same(a: dict, b: dict) -> bool:
    return repr(a) == repr(b)


def _random_inputs(seed=0):
    rng = np.random.default_rng(seed)
    lengths = [40, 55, 40, 61]
    predictions = [rng.standard_normal((4, n)).astype(np.float32) for n in lengths]
    masks = [(rng.random(n) < 0.25).astype(np.int64) for n in lengths]
    return predictions, masks


def test_relative_and_absolute_paths_give_the_core_result(metric):
    predictions, masks = _random_inputs()
    expected = score_attributions(predictions, masks, top_k=5)
    assert _same(metric.compute(predictions=predictions, references=masks, top_k=5), expected)
    absolute = evaluate.load(str(MODULE_DIR))
    assert _same(absolute.compute(predictions=predictions, references=masks, top_k=5), expected)


def test_every_prediction_layout_is_accepted(metric):
    rng = np.random.default_rng(3)
    per_channel = rng.standard_normal((5, 4, 30)).astype(np.float32)
    masks = (rng.random((5, 30)) < 0.3).astype(np.int64)
    expected = score_attributions(per_channel, masks)
    layouts = {
        "(N, 4, L) array": per_channel,
        "list of (L, 4)": [p.T for p in per_channel],
        "(N, L) array of channel sums": per_channel.sum(axis=1, dtype=np.float64).astype(np.float32),
    }
    for name, predictions in layouts.items():
        assert _same(metric.compute(predictions=predictions, references=masks), expected), name
    bool_masks = metric.compute(predictions=per_channel, references=masks.astype(bool))
    assert _same(bool_masks, expected)


def test_helpers_are_copied_into_the_module_cache(metric):
    loaded = sys.modules[type(metric).__module__]
    cached = Path(loaded.__file__).parent
    assert cached != MODULE_DIR
    assert _helpers_in(cached) == HELPERS
    for name in HELPERS:
        assert (cached / name).read_bytes() == (MODULE_DIR / name).read_bytes()


def test_module_is_self_contained_for_the_hub():
    from evaluate.loading import get_imports

    imports = get_imports(str(MODULE_DIR / "motif_attribution.py"))
    assert sorted(name + ".py" for kind, name, _, _ in imports if kind == "internal") == HELPERS
    assert {name for kind, name, _, _ in imports if kind == "library"} == {"datasets", "evaluate"}
    for helper in HELPERS:
        for kind, name, _, _ in get_imports(str(MODULE_DIR / helper)):
            # Helpers use numpy, the standard library and their siblings only (no regsim, no torch).
            assert (kind == "internal" and name + ".py" in HELPERS) or name in {"numpy", "__future__", "math", "dataclasses"}, (
                helper, kind, name)


def test_fresh_offline_process_with_an_empty_module_cache(tmp_path):
    predictions, masks = _random_inputs(1)
    script = (
        "import json, sys, evaluate, numpy as np\n"
        "data = json.loads(sys.stdin.read())\n"
        "metric = evaluate.load(sys.argv[1])\n"
        "out = metric.compute(predictions=[np.array(p, dtype=np.float32) for p in data['p']], references=data['r'])\n"
        "loaded = sys.modules[type(metric).__module__].__file__\n"
        "print(json.dumps({'result': repr(out), 'file': loaded}))\n"
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_EVALUATE_OFFLINE="1", HF_MODULES_CACHE=str(tmp_path / "modules"))
    payload = json.dumps({"p": [p.tolist() for p in predictions], "r": [m.tolist() for m in masks]})
    completed = subprocess.run(
        [sys.executable, "-c", script, "metrics/motif_attribution"], input=payload, cwd=REPO, env=env,
        capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    answer = json.loads(completed.stdout.strip().splitlines()[-1])
    assert answer["result"] == repr(score_attributions(predictions, masks))
    copied = Path(answer["file"]).parent
    assert str(copied).startswith(str(tmp_path / "modules"))
    assert _helpers_in(copied) == HELPERS


def test_intervals_config_and_add_batch(in_repo):
    rng = np.random.default_rng(2)
    predictions = [rng.random(30) for _ in range(6)]
    intervals = [[[2, 9]], [], [[0, 5], [20, 30]], [[10, 12]], [[3, 4]], [[25, 29]]]
    metric = evaluate.load("metrics/motif_attribution", "intervals")
    expected = score_attributions(predictions, intervals, reference_format="intervals", return_per_sequence=True)
    assert _same(metric.compute(predictions=predictions, references=intervals, return_per_sequence=True), expected)
    for start in (0, 2, 4):
        metric.add_batch(predictions=predictions[start:start + 2], references=intervals[start:start + 2])
    assert _same(metric.compute(return_per_sequence=True), expected)


def test_sequences_and_options_pass_through(metric):
    predictions = [np.arange(24, dtype=np.float32).reshape(4, 6) - 10]
    masks = [[0, 1, 1, 0, 0, 0]]
    options = {"channel_reduce": "observed", "sequences": ["ACGTNA"], "abs": False, "top_k": 2}
    assert _same(metric.compute(predictions=predictions, references=masks, **options),
                 score_attributions(predictions, masks, **options))


def test_add_batch_takes_sequences_as_compute_does(in_repo):
    rng = np.random.default_rng(3)
    predictions = [rng.normal(size=(4, 12)).astype(np.float32) for _ in range(5)]
    sequences = ["".join(rng.choice(list("ACGT"), size=12)) for _ in range(5)]
    intervals = [[[1, 4]], [[0, 6]], [[5, 12]], [[2, 3], [8, 10]], [[6, 9]]]
    options = {"channel_reduce": "observed", "return_per_sequence": True}
    metric = evaluate.load("metrics/motif_attribution", "intervals")
    expected = metric.compute(predictions=predictions, references=intervals, sequences=sequences, **options)
    assert _same(expected, score_attributions(predictions, intervals, reference_format="intervals",
                                              sequences=sequences, **options))
    for start in (0, 2, 4):
        metric.add_batch(predictions=predictions[start:start + 2], references=intervals[start:start + 2],
                         sequences=sequences[start:start + 2])
    assert _same(metric.compute(**options), expected)
    # the observed base matters: the same batches with other sequences give other scores
    for start in (0, 2, 4):
        metric.add_batch(predictions=predictions[start:start + 2], references=intervals[start:start + 2],
                         sequences=sequences[::-1][start:start + 2])
    assert not _same(metric.compute(**options), expected)
    for k in range(5):  # add() with sequence=, one example at a time
        metric.add(prediction=predictions[k], reference=intervals[k], sequence=sequences[k])
    assert _same(metric.compute(**options), expected)


def test_add_batch_sequences_for_some_batches_only_is_refused(in_repo):
    metric = evaluate.load("metrics/motif_attribution")
    metric.add_batch(predictions=[[0.1, 0.2, 0.3]], references=[[0, 1, 0]], sequences=["ACG"])
    metric.add_batch(predictions=[[0.1, 0.2, 0.3]], references=[[0, 1, 0]])
    with pytest.raises(ValueError, match="1 of 2 add_batch calls"):
        metric.compute(channel_reduce="observed")
    with pytest.raises(ValueError, match="2 predictions but 1 sequences"):
        metric.add_batch(predictions=[[0.1, 0.2, 0.3]] * 2, references=[[0, 1, 0]] * 2, sequences=["ACG"])


def test_unknown_config_is_refused(in_repo):
    with pytest.raises(KeyError, match="intervals"):
        evaluate.load("metrics/motif_attribution", "bed")


def test_bad_input_message_reaches_the_user(metric):
    with pytest.raises(ValueError, match=r"example 1: predictions contain NaN"):
        metric.compute(predictions=[[0.1, 0.2], [np.nan, 0.3]], references=[[0, 1], [1, 0]])


def _run_doctests(text: str, name: str, globs: dict) -> doctest.TestResults:
    test = doctest.DocTestParser().get_doctest(text, globs, name, None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    return runner.summarize(verbose=False)


def _kwargs_description(metric) -> str:
    return sys.modules[type(metric).__module__]._KWARGS_DESCRIPTION


def test_kwargs_examples_through_evaluate(metric):
    results = _run_doctests(_kwargs_description(metric), "kwargs via evaluate", {})
    assert results.failed == 0 and results.attempted >= 10


class _CoreAsMetric:
    """``evaluate.load`` stand-in that answers with the numpy core."""

    def __init__(self, config_name: str = "default") -> None:
        self.reference_format = "intervals" if config_name == "intervals" else "mask"

    def compute(self, *, predictions, references, **kwargs):
        return score_attributions(predictions, references, reference_format=self.reference_format, **kwargs)


def test_kwargs_examples_through_the_core(metric, monkeypatch):
    shim = types.ModuleType("evaluate")
    shim.load = lambda path, config_name="default", **_: _CoreAsMetric(config_name)
    text = _kwargs_description(metric)
    monkeypatch.setitem(sys.modules, "evaluate", shim)
    results = _run_doctests(text, "kwargs via the core", {})
    assert results.failed == 0 and results.attempted >= 10


def test_core_docstring_examples():
    results = doctest.testmod(_scoring, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert results.failed == 0 and results.attempted >= 8


def test_metric_card_examples(metric):
    results = _run_doctests((MODULE_DIR / "README.md").read_text(), "README", {})
    assert results.failed == 0 and results.attempted >= 5


def test_metric_card_header():
    yaml = pytest.importorskip("yaml")
    text = (MODULE_DIR / "README.md").read_text()
    assert text.startswith("---\n")
    header = yaml.safe_load(text.split("---\n")[1])
    assert header["app_file"] == "app.py" and header["sdk"] == "gradio"
    assert {"evaluate", "metric"} <= set(header["tags"])
    assert header["description"].strip()


def test_space_entry_point_explains_missing_gradio(tmp_path):
    code = "import sys; sys.modules['gradio'] = None; import runpy; runpy.run_path(sys.argv[1], run_name='__main__')"
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_MODULES_CACHE=str(tmp_path / "modules"))
    completed = subprocess.run([sys.executable, "-c", code, str(MODULE_DIR / "app.py")], cwd=tmp_path, env=env,
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode != 0
    assert "gradio" in completed.stderr
