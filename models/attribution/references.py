"""Reference (baseline) sequences for DeepLIFT, DeepSHAP and Integrated Gradients.

Named references, for sequences ``X`` ``(N, 4, L)``:

- ``zeros``: all-zero input, one reference per sequence.
- ``base_freq``: the mean base composition of the scored set (A, C, G, T frequencies over every
  A/C/G/T position of ``X``), the same ``(4,)`` vector at every position; one reference.
- ``gc_matched``: each sequence's own background composition, ``((1-g)/2, g/2, g/2, (1-g)/2)``
  with ``g`` its G+C fraction, at every position; one reference.
- ``shuffled``: ``n`` dinucleotide shuffles of each sequence (:mod:`dataset_builder.dinucleotide_shuffle`,
  exact and uniform), drawn from per-sequence seeds ``sequence_seeds(random_state, i)`` of the
  sequence's index ``i`` in ``X``, so the references do not depend on the batch size, and
  ``X[a:b]`` gets the references of ``X`` only if the indices are passed (``index=``).
  ``shuffled10``, ``shuffled50``, ... name a count explicitly.

An array works too: ``(4,)`` composition, ``(4, L)`` one reference for all, ``(N, 4, L)`` one per
sequence, or ``(N, R, 4, L)`` ``R`` per sequence.
"""

from __future__ import annotations

import re

import numpy as np

from regsim.dataset_builder.core.errors import UserError
from regsim.dataset_builder.core.seeding import random_key

from ._common import validate_inputs

REFERENCE_NAMES = ("zeros", "base_freq", "gc_matched", "shuffled")
DEFAULT_N_REFS = 20
_SHUFFLED_N = re.compile(r"^shuffled(\d+)$")


def parse_reference(spec: str, n_refs: int = DEFAULT_N_REFS) -> tuple[str, int]:
    """Split a reference name into its kind and its number of references per sequence.

    ``"shuffled"`` -> ``("shuffled", n_refs)``; ``"shuffled50"`` -> ``("shuffled", 50)``;
    ``"zeros"``, ``"base_freq"``, ``"gc_matched"`` -> one reference.
    """
    match = _SHUFFLED_N.match(spec)
    if match:
        n = int(match.group(1))
        if n < 1:
            raise UserError(f"reference {spec!r}: the number of shuffles must be at least 1")
        return "shuffled", n
    if spec == "shuffled":
        if int(n_refs) < 1:
            raise UserError(f"n_refs must be at least 1, got {n_refs}")
        return "shuffled", int(n_refs)
    if spec in REFERENCE_NAMES:
        return spec, 1
    raise UserError(f"unknown reference {spec!r}; choose from {', '.join(REFERENCE_NAMES)} (or shuffled<N>)")


def base_composition(X: np.ndarray) -> np.ndarray:
    """``(4,)`` A, C, G, T frequencies over every A/C/G/T position of ``X`` ``(N, 4, L)`` (uniform if none)."""
    counts = np.asarray(X, dtype=np.float64).sum(axis=(0, 2))
    total = counts.sum()
    return (counts / total if total > 0 else np.full(4, 0.25)).astype(np.float32)


def gc_matched_composition(X: np.ndarray) -> np.ndarray:
    """``(N, 4)`` per-sequence composition ``((1-g)/2, g/2, g/2, (1-g)/2)``, ``g`` = G+C fraction."""
    X = np.asarray(X, dtype=np.float64)
    counts = X.sum(axis=2)
    total = counts.sum(axis=1)
    gc = np.where(total > 0, (counts[:, 1] + counts[:, 2]) / np.maximum(total, 1), 0.5)
    return np.stack([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2], axis=1).astype(np.float32)


class ReferenceSource:
    """Produces the references of any slice of ``X`` on demand, identical whatever the slicing.

    Parameters
    ----------
    references : str or array-like
        A reference name (see the module docstring) or an array.
    X : np.ndarray
        ``(N, 4, L)`` the full set of sequences being explained (the scored set).
    n_refs : int, default 20
        Shuffles per sequence for ``"shuffled"``.
    random_state : int, numpy Generator or None, default 0
        Seed of the shuffles (None: fresh entropy, not reproducible).

    Attributes
    ----------
    name : str
        The reference name (``"array"`` for an array).
    n_refs : int
        References per sequence ``R``.
    """

    def __init__(self, references, X: np.ndarray, n_refs: int = DEFAULT_N_REFS, random_state=0):
        self._X_shape = X.shape
        self._random_state = random_state
        self._array = None
        self._composition = None
        if isinstance(references, str):
            self.kind, self.n_refs = parse_reference(references, n_refs)
            self.name = references
            if self.kind == "base_freq":
                self._composition = np.broadcast_to(base_composition(X)[None, :], (X.shape[0], 4))
            elif self.kind == "gc_matched":
                self._composition = gc_matched_composition(X)
            elif self.kind == "shuffled":
                self._random_state = random_key(random_state, bits=63)
        else:
            self.kind, self.name = "array", "array"
            self._array = self._as_reference_array(references, X.shape)
            self.n_refs = self._array.shape[1]

    @staticmethod
    def _as_reference_array(references, shape) -> np.ndarray:
        n, _, length = shape
        array = np.asarray(references.detach().cpu() if hasattr(references, "detach") else references)
        if array.shape == (4,):
            array = validate_inputs(array[None, None, :, None], name="references", one_hot=False, ndim=4)
        elif array.shape == (4, length):
            array = validate_inputs(array[None, None], name="references", one_hot=False, ndim=4)
        elif array.shape == (n, 4, length):
            array = validate_inputs(array[:, None], name="references", one_hot=False, ndim=4)
        elif array.ndim == 4 and array.shape[0] == n and array.shape[2:] == (4, length) and array.shape[1] > 0:
            array = validate_inputs(array, name="references", one_hot=False, ndim=4)
        else:
            raise UserError(
                f"references of shape {array.shape} do not fit sequences of shape {shape}: give (4,), "
                f"(4, {length}), ({n}, 4, {length}) or ({n}, R, 4, {length}) with R >= 1"
            )
        return np.broadcast_to(array, (n, array.shape[1], 4, length))

    def batch(self, index: slice, X_batch: np.ndarray) -> np.ndarray:
        """References of the sequences ``X[index]`` (``X_batch``): ``(b, R, 4, L)`` float32."""
        b, _, length = X_batch.shape
        if self.kind == "array":
            return np.ascontiguousarray(self._array[index], dtype=np.float32)
        if self.kind == "zeros":
            return np.zeros((b, 1, 4, length), dtype=np.float32)
        if self.kind in ("base_freq", "gc_matched"):
            comp = self._composition[index]
            return np.ascontiguousarray(np.broadcast_to(comp[:, None, :, None], (b, 1, 4, length)), dtype=np.float32)
        from regsim.dataset_builder.dinucleotide_shuffle import dinucleotide_shuffle, sequence_seeds

        indices = np.arange(index.start, index.stop)
        seeds = sequence_seeds(self._random_state, indices)
        return dinucleotide_shuffle(X_batch, self.n_refs, seeds=seeds).astype(np.float32, copy=False)


def make_references(X, references: str = "shuffled", *, n_refs: int = DEFAULT_N_REFS, random_state=0,
                    verbose: bool = False) -> np.ndarray:
    """The references the attribution methods use for ``X``, materialised.

    Parameters
    ----------
    X : array-like
        ``(N, 4, L)`` one-hot sequences.
    references : str, default "shuffled"
        ``zeros``, ``base_freq``, ``gc_matched``, ``shuffled`` or ``shuffled<N>``.
    n_refs : int, default 20
        Shuffles per sequence for ``"shuffled"``.
    random_state : int, default 0
    verbose : bool, default False
        Unused (references are fast); kept for the common signature.

    Returns
    -------
    np.ndarray
        ``(N, R, 4, L)`` float32.
    """
    X = validate_inputs(X)
    source = ReferenceSource(references, X, n_refs=n_refs, random_state=random_state)
    return source.batch(slice(0, X.shape[0]), X)
