"""The batch steps of a streaming build and the process pool that runs them in order.

A build is two passes over the real records, each a sequence of batches (``units``):

1. :func:`tally_batch` scans one batch with every motif and returns only the per-motif hit counts and
   centre-weight units (integers, so they add up exactly in any order);
2. :func:`simulate_batch` re-scans one batch of real positives or background records with the retained
   motifs, simulates its sequences, annotates them and returns their rows as Arrow tables per split,
   with the compact per-row statistics the card needs.

:func:`run_ordered` runs the units in worker processes (forked, so the real sequences are shared, not
copied) and yields their results in unit order with a bounded number in flight, so memory is bounded by
a few batches and the output does not depend on the number of processes.
"""

from __future__ import annotations

import multiprocessing
from collections import deque

import numpy as np

from .enrichment import hit_tallies
from .format import SPLIT_ORDER, rows_table
from .scan import scan, scan_positions
from .simulate import INSTANCE_COLUMNS, instance_table, simulate_negatives, simulate_positives

#: What the workers read: set by :func:`run_ordered` before the fork (read-only afterwards).
_SHARED: dict = {}


def pack(codes: np.ndarray) -> np.ndarray:
    """``(N, L)`` codes 0..3 at 2 bits a base: ``(N, ceil(L / 4))`` uint8, a quarter of the memory."""
    n, length = codes.shape
    padded = np.zeros((n, -(-length // 4) * 4), dtype=np.uint8)
    padded[:, :length] = codes
    quads = padded.reshape(n, -1, 4)
    return quads[..., 0] | (quads[..., 1] << 2) | (quads[..., 2] << 4) | (quads[..., 3] << 6)


def unpack(packed: np.ndarray, length: int) -> np.ndarray:
    """Inverse of :func:`pack`: ``(N, length)`` uint8 codes."""
    shifts = np.array([0, 2, 4, 6], dtype=np.uint8)
    codes = (packed[..., None] >> shifts) & 3
    return np.ascontiguousarray(codes.reshape(len(packed), -1)[:, :length])


def _init_worker(n_threads: int) -> None:
    import numba

    numba.set_num_threads(max(1, min(n_threads, numba.config.NUMBA_NUM_THREADS)))


def run_ordered(function, units, shared: dict, *, num_proc: int, n_threads: int):
    """Yield ``function(unit)`` for every unit, in order, computed by ``num_proc`` processes.

    Parameters
    ----------
    function : callable
        A module-level function of one unit, reading :data:`_SHARED`.
    units : list
    shared : dict
        Arrays and settings the function reads (inherited by the forked workers).
    num_proc : int
        1 runs everything in this process.
    n_threads : int
        numba / scan threads per process.
    """
    _SHARED.clear()
    _SHARED.update(shared, n_threads=n_threads)
    try:
        if num_proc <= 1 or len(units) <= 1:
            import numba

            before = numba.get_num_threads()
            numba.set_num_threads(max(1, min(n_threads, numba.config.NUMBA_NUM_THREADS)))
            try:
                for unit in units:
                    yield function(unit)
            finally:
                numba.set_num_threads(before)
            return
        context = multiprocessing.get_context("fork")
        with context.Pool(num_proc, initializer=_init_worker, initargs=(n_threads,)) as pool:
            pending = deque()
            for unit in units:
                pending.append(pool.apply_async(function, (unit,)))
                if len(pending) >= 2 * num_proc:  # bounded: results wait for the writer, not the reverse
                    yield pending.popleft().get()
            while pending:
                yield pending.popleft().get()
    finally:
        _SHARED.clear()


def tally_batch(unit) -> np.ndarray:
    """Pass 1: hit tallies (:func:`hit_tallies`) of records ``start:stop`` of the ``kind`` codes
    (``"positive"`` or ``"background"``) with every motif."""
    kind, start, stop = unit
    s = _SHARED
    ready = s["prepared"]
    codes = unpack(s[f"{kind}_codes"][start:stop], s["width"])
    rows, motif_index, starts = scan_positions(ready, codes, n_threads=s["n_threads"])
    return hit_tallies(motif_index, starts, starts + ready.widths[motif_index], width=s["width"], n_motifs=len(ready))


def simulate_batch(unit) -> dict:
    """Pass 2: simulate, annotate and tabulate one batch ``(kind, start, stop)``.

    ``kind`` is ``"positive"`` (records of ``positive_codes``) or ``"negative"`` (of
    ``background_codes``). Returns ``tables`` (split -> Arrow table of its rows, in record order),
    ``labels``, ``splits`` (indices into :data:`SPLIT_ORDER`), per row its ``masked`` bases, instance
    ``counts`` and ``implanted`` instances, ``carriers`` (per retained motif, the negative and positive rows
    carrying it) and ``dropped``: the card's statistics add up batch by batch.
    """
    kind, start, stop = unit
    s = _SHARED
    ready, seed = s["prepared"], s.get("seed")
    columns = ["sequence_index", *INSTANCE_COLUMNS[:-1]]
    index = np.arange(start, stop)
    if kind == "simple":
        sim = s["simulated"]
        simulated = sim.codes[start:stop]
        of_batch = sim.implanted[(sim.implanted["sequence_index"] >= start) & (sim.implanted["sequence_index"] < stop)]
        return tabulate(simulated, of_batch.assign(sequence_index=of_batch["sequence_index"] - start),
                        ids=sim.ids[start:stop], sources=sim.sources[start:stop], backbones=sim.backbones[start:stop],
                        labels=sim.labels[start:stop], splits=sim.splits[start:stop], ready=ready,
                        threshold=s["threshold"], n_threads=s["n_threads"]) | {"dropped": 0}
    if kind == "positive":
        codes = unpack(s["positive_codes"][start:stop], s["width"])
        hits = scan(ready, codes, n_threads=s["n_threads"])[columns]
        kept, simulated, implanted = simulate_positives(codes, index, hits, random_state=seed)
        records = index[kept]
        ids = [f"pos-{i:06d}" for i in records]
        sources = s["positive_sources"].take(records).to_pylist()
        backbones = sources
        splits = s["positive_splits"][records]
        dropped = len(codes) - len(kept)
    else:
        codes = unpack(s["background_codes"][start:stop], s["width"])
        hits = scan(ready, codes, n_threads=s["n_threads"])[columns]
        partners = s["partners"][start:stop]
        simulated = simulate_negatives(unpack(s["positive_codes"][partners], s["width"]), codes, index, hits,
                                       random_state=seed)
        implanted = hits
        ids = [f"neg-{i:06d}" for i in index]
        sources = s["background_sources"].take(index).to_pylist()
        backbones = s["positive_sources"].take(partners).to_pylist()
        splits = s["background_splits"][start:stop]
        dropped = 0
    return tabulate(simulated, implanted, ids=ids, sources=sources, backbones=backbones,
                    labels=np.full(len(simulated), 1 if kind == "positive" else 0), splits=splits,
                    ready=ready, threshold=s["threshold"], n_threads=s["n_threads"]) | {"dropped": dropped}


def tabulate(codes, implanted, *, ids, sources, backbones, labels, splits, ready, threshold, n_threads) -> dict:
    """Annotate simulated sequences (re-scan) and turn them into per-split Arrow tables and statistics."""
    table, mask = instance_table(codes, ready, implanted, threshold=threshold, n_threads=n_threads)
    split_index = np.array([SPLIT_ORDER.index(x) for x in splits], dtype=np.int8)
    motif_number = {m.id: k for k, m in enumerate(ready.motifs)}
    rows = table["sequence_index"].to_numpy(dtype=np.int64)
    tables = {}
    for k, split in enumerate(SPLIT_ORDER):
        members = np.flatnonzero(split_index == k)
        if len(members) == 0:
            continue
        renumber = np.full(len(codes), -1, dtype=np.int64)
        renumber[members] = np.arange(len(members))
        of_split = table[np.isin(rows, members)]
        tables[split] = rows_table({
            "id": [ids[i] for i in members],
            "sequence": codes[members],
            "label": labels[members],
            "motifs": of_split.assign(sequence_index=renumber[of_split["sequence_index"].to_numpy(dtype=np.int64)]),
            "motif_mask": mask[members],
            "source": [sources[i] for i in members],
            "backbone": [backbones[i] for i in members],
        })
    implanted_flags = table["implanted"].to_numpy(dtype=bool)
    motif = table["motif_id"].map(motif_number).to_numpy(dtype=np.int64)
    carrier = np.unique(rows * len(ready.motifs) + motif)  # (row, motif) pairs, once each
    carriers = np.zeros((len(ready.motifs), 2), dtype=np.int64)
    np.add.at(carriers, (carrier % len(ready.motifs), np.asarray(labels)[carrier // len(ready.motifs)]), 1)
    return {
        "tables": tables,
        "labels": np.asarray(labels, dtype=np.int8),
        "splits": split_index,
        "masked": mask.sum(axis=1, dtype=np.int64).astype(np.int32),
        "counts": np.bincount(rows, minlength=len(codes)).astype(np.int32),
        "implanted": np.bincount(rows[implanted_flags], minlength=len(codes)).astype(np.int32),
        "carriers": carriers,
    }
