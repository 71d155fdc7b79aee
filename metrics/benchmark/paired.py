"""Paired statistics between runs scored on the same sequences.

Every model of a dataset is scored on one set of sequences, so two runs (two methods on one model, or
one method on two architectures) differ sequence by sequence. :func:`paired_tests` gives, for every
such pair, the mean per-sequence auPRC difference, the SEM of that difference and a Wilcoxon
signed-rank p-value; :func:`verdict` turns a row into "better", "worse" or "tied", the only rule the
report's statements use.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

#: Two-sided significance level of every "better"/"worse" statement.
ALPHA = 0.05

COLUMNS = ["dataset", "arch", "seed", "method_a", "method_b", "n", "mean_diff", "sem_diff", "p_value"]


def run_name(method: str, reference: str) -> str:
    return f"{method}__{reference}"


def paired_difference(a, b) -> dict:
    """Paired statistics of ``a - b`` over the sequences where both are defined (None/NaN skipped).

    Returns
    -------
    dict
        ``n``, ``mean_diff``, ``sem_diff`` (sample standard deviation / sqrt(n); NaN for n < 2) and
        ``p_value`` (two-sided Wilcoxon signed-rank, scipy's default handling of zero differences;
        1.0 when every difference is zero, NaN when n = 0).
    """
    from scipy.stats import wilcoxon

    a = np.asarray([np.nan if v is None else v for v in a], dtype=np.float64)
    b = np.asarray([np.nan if v is None else v for v in b], dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired runs must score the same sequences, got {a.shape} and {b.shape}")
    diff = (a - b)[~(np.isnan(a) | np.isnan(b))]
    n = len(diff)
    if n == 0:
        return {"n": 0, "mean_diff": np.nan, "sem_diff": np.nan, "p_value": np.nan}
    sem = float(diff.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
    p = 1.0 if not np.any(diff) else float(wilcoxon(diff).pvalue)
    return {"n": n, "mean_diff": float(diff.mean()), "sem_diff": sem, "p_value": p}


def paired_tests(per_sequence: dict) -> pd.DataFrame:
    """Every pair of runs of one model, and every run between two architectures of the same seed.

    Parameters
    ----------
    per_sequence : dict
        ``(dataset, arch, seed, method, reference) -> per-sequence auPRCs`` (same order of sequences for
        every key of a dataset).

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS`; ``method_a``/``method_b`` are ``method__reference``; ``mean_diff`` = a - b.
        Rows between architectures have ``arch`` = ``"<arch a> - <arch b>"`` and the same run on both sides.
    """
    rows = []
    models = dict.fromkeys((d, a, s) for d, a, s, _, _ in per_sequence)
    for dataset, arch, seed in models:
        runs = [(m, r) for d, a, s, m, r in per_sequence if (d, a, s) == (dataset, arch, seed)]
        for (ma, ra), (mb, rb) in itertools.combinations(runs, 2):
            stats = paired_difference(per_sequence[(dataset, arch, seed, ma, ra)],
                                      per_sequence[(dataset, arch, seed, mb, rb)])
            rows.append({"dataset": dataset, "arch": arch, "seed": seed, "method_a": run_name(ma, ra),
                         "method_b": run_name(mb, rb), **stats})
    for (dataset, arch_a, seed), (dataset_b, arch_b, seed_b) in itertools.combinations(models, 2):
        if dataset != dataset_b or seed != seed_b:
            continue
        for d, a, s, m, r in per_sequence:
            if (d, a, s) == (dataset, arch_a, seed) and (dataset, arch_b, seed, m, r) in per_sequence:
                stats = paired_difference(per_sequence[(dataset, arch_a, seed, m, r)],
                                          per_sequence[(dataset, arch_b, seed, m, r)])
                rows.append({"dataset": dataset, "arch": f"{arch_a} - {arch_b}", "seed": seed,
                             "method_a": run_name(m, r), "method_b": run_name(m, r), **stats})
    return pd.DataFrame(rows, columns=COLUMNS)


def lookup(paired: pd.DataFrame, dataset: str, arch: str, seed, a: tuple, b: tuple) -> dict | None:
    """The paired row of run ``a`` minus run ``b`` (flipped if stored as ``b - a``); None if absent.

    For two architectures pass ``arch="basset - beluga"`` and the same run as ``a`` and ``b``.
    """
    name_a, name_b = run_name(*a), run_name(*b)
    base = paired[(paired["dataset"] == dataset) & (paired["seed"] == seed)]
    row = base[(base["arch"] == arch) & (base["method_a"] == name_a) & (base["method_b"] == name_b)]
    if len(row):
        return row.iloc[0].to_dict()
    if " - " in arch:
        first, second = arch.split(" - ")
        flipped = base[(base["arch"] == f"{second} - {first}") & (base["method_a"] == name_a)]
    else:
        flipped = base[(base["arch"] == arch) & (base["method_a"] == name_b) & (base["method_b"] == name_a)]
    if not len(flipped):
        return None
    row = flipped.iloc[0].to_dict()
    row["mean_diff"] = -row["mean_diff"]
    return row


def verdict(row: dict | None, alpha: float = ALPHA) -> str:
    """``"better"`` (a > b, p < alpha), ``"worse"`` (a < b, p < alpha), ``"tied"``, or ``"n/a"``."""
    if row is None or not np.isfinite(row.get("p_value", np.nan)):
        return "n/a"
    if row["p_value"] < alpha:
        return "better" if row["mean_diff"] > 0 else "worse"
    return "tied"
