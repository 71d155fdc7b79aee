"""Sequence encodings shared by the whole package.

One-hot is ``(N, 4, L)`` float32 in A, C, G, T order; integer codes are ``(N, L)`` uint8 with
A=0, C=1, G=2, T=3 and 4 for anything else (N, IUPAC codes, gaps).
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from .errors import UserError

ALPHABET = "ACGT"
_CODE = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate(ALPHABET):
    _CODE[ord(_b)] = _i
    _CODE[ord(_b.lower())] = _i
_LETTERS = np.frombuffer(b"ACGTN", dtype=np.uint8)


def encode_integers(sequences: Sequence[str] | Iterable[str]) -> np.ndarray:
    """Encode equal-length sequences as integer codes.

    Parameters
    ----------
    sequences : sequence of str
        DNA sequences of one common length ``L`` (case-insensitive).

    Returns
    -------
    np.ndarray
        ``(N, L)`` uint8, A=0, C=1, G=2, T=3, anything else 4.
    """
    sequences = list(sequences)
    if not sequences:
        return np.zeros((0, 0), dtype=np.uint8)
    length = len(sequences[0])
    for i, s in enumerate(sequences):
        if len(s) != length:
            raise UserError(f"sequence {i} has length {len(s)}, expected {length} like sequence 0")
    raw = np.frombuffer("".join(sequences).encode("ascii", "replace"), dtype=np.uint8)
    return _CODE[raw].reshape(len(sequences), length)


def decode_integers(codes: np.ndarray) -> list[str]:
    """Turn ``(N, L)`` integer codes back into upper-case strings (code 4 becomes ``N``)."""
    codes = np.asarray(codes, dtype=np.uint8)
    letters = _LETTERS[np.minimum(codes, 4)]
    return [row.tobytes().decode("ascii") for row in letters]


def one_hot_encode(sequences: Sequence[str] | Iterable[str], dtype=np.float32) -> np.ndarray:
    """One-hot encode equal-length DNA sequences.

    Parameters
    ----------
    sequences : sequence of str
        DNA sequences of one common length ``L``; non-ACGT bases become all-zero columns.
    dtype : numpy dtype, default float32

    Returns
    -------
    np.ndarray
        ``(N, 4, L)`` in A, C, G, T order.
    """
    codes = encode_integers(sequences)
    return one_hot_from_integers(codes, dtype=dtype)


def one_hot_from_integers(codes: np.ndarray, dtype=np.float32) -> np.ndarray:
    """``(N, L)`` integer codes to ``(N, 4, L)`` one-hot (code 4 gives an all-zero column)."""
    codes = np.asarray(codes)
    eye = np.zeros((5, 4), dtype=dtype)
    eye[np.arange(4), np.arange(4)] = 1
    return np.ascontiguousarray(eye[codes].transpose(0, 2, 1))


def integers_from_one_hot(one_hot: np.ndarray) -> np.ndarray:
    """``(N, 4, L)`` one-hot to ``(N, L)`` uint8 codes (all-zero columns become 4)."""
    one_hot = np.asarray(one_hot)
    codes = one_hot.argmax(axis=1).astype(np.uint8)
    codes[one_hot.sum(axis=1) == 0] = 4
    return codes


def gc_fraction(codes: np.ndarray) -> np.ndarray:
    """Per-sequence G+C fraction of ``(N, L)`` integer codes (non-ACGT bases excluded)."""
    codes = np.asarray(codes)
    acgt = (codes < 4).sum(axis=1)
    gc = ((codes == 1) | (codes == 2)).sum(axis=1)
    return gc / np.maximum(acgt, 1)
