"""Compiled kernels behind :mod:`dataset_builder.pvalues` and :mod:`dataset_builder.scan`.

Private: call :func:`dataset_builder.scan.scan` and :func:`dataset_builder.pvalues.score_pvalues`.
The public kernels have one explicit signature each and ``cache=True``, so the JIT compiles them
once per machine (6 to 9 s of CPU) and later imports load them from the cache (under 1 s). Scores are integers
(FIMO's scaled matrix), so the scan is exact: no float tolerance, and no dependence on the order
in which windows or motifs are visited.

How the scan finds hits quickly (``scan_motif``). Every sequence position gets the base-4 code of
the ``K = 7`` letters starting there (``kmer_codes``). A window's score is bounded from above by
the exact score of a block of K consecutive positions, read from a table indexed by that code,
plus the best possible score of every other position. The bound is exact arithmetic, never an
approximation: only windows whose bound reaches the integer cutoff are scored column by column.

- One-block test: for each code, one byte says whether the bound reaches the cutoff on either
  strand (both strands share the block's positions, so one lookup tests both).
- Two- or three-block test, for motifs whose one-block test would pass more than 3% of windows
  (long or low-information motifs): two or three adjacent blocks, each table entry holding the
  forward score in its low and the reverse score in its high 16 bits, summed per window.

Windows are tested 32 at a time into a bit mask, and only the set bits are visited again. An N
has code 0 in the k-mer codes (harmless: the bound only admits windows to the exact score) and an
unreachable score in the exact score, so a window containing an N is never a hit, as in FIMO.
"""

from __future__ import annotations

import numba
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

#: Letters per k-mer code; a one-block table has 4**K one-byte entries (16 KiB, stays in L1).
K = 7
_N_CODES = 4**K
#: Windows tested together by the first test, into one bit mask.
_LANE = 32
#: A motif whose one-block test passes more than this fraction of the 4**K codes is first
#: tested on two or three blocks (chosen by measurement on the JASPAR benchmark).
_ONE_BLOCK_RATE = 0.03
ONE_BLOCK_RATE = _ONE_BLOCK_RATE
#: Motifs scanned together by :func:`scan_group` (one pass bit each in a byte).
GROUP_SIZE = 8
#: Added to a window's exact score for each N it covers: no window with an N reaches a cutoff.
_N_SCORE = -(1 << 24)


@numba.njit("float64[::1](int32[:, ::1], float64[::1], int64, int64)", cache=True, nogil=True)
def pvalue_table(scaled, bg, rng, floor):
    """``P(score >= s)`` for ``s`` in ``floor .. w * rng`` (NaN below ``floor``).

    MEME's ``get_pdf_table`` and ``get_pv_lookup``: the additions happen in MEME's order (per
    column, letters A, C, G, T, scores ascending), so the table is bitwise MEME's. MEME skips zero
    entries and this loop adds them (``+0.0`` leaves a sum unchanged); it visits only the partial
    scores that are reachable and can still end at ``floor`` or above, which leaves every entry
    from ``floor`` up unchanged (``floor = 0`` computes the whole table).
    """
    w = scaled.shape[1]
    size = w * rng + 1
    pdf = np.zeros(size)
    old = np.zeros(size)
    pdf[0] = 1.0
    best_rest = np.zeros(w + 1, dtype=np.int64)
    for i in range(w - 1, -1, -1):
        best_rest[i] = best_rest[i + 1] + max(max(scaled[0, i], scaled[1, i]), max(scaled[2, i], scaled[3, i]))
    lo = 0
    hi = 0
    for i in range(w):
        mn = min(min(scaled[0, i], scaled[1, i]), min(scaled[2, i], scaled[3, i]))
        mx = max(max(scaled[0, i], scaled[1, i]), max(scaled[2, i], scaled[3, i]))
        lo = max(lo, floor - best_rest[i])
        if lo <= hi:
            for k in range(lo, hi + 1):
                old[k] = pdf[k]
            for k in range(lo, hi + mx + 1):
                pdf[k] = 0.0
            for j in range(4):
                shift = np.uint64(scaled[j, i])
                b = bg[j]
                for k in range(np.uint64(lo), np.uint64(hi + 1)):
                    pdf[k + shift] += old[k] * b
        lo += mn
        hi += mx
    start = max(floor, 0)
    for i in range(size - 2, start - 1, -1):
        p = pdf[i] + pdf[i + 1]
        pdf[i] = 1.0 if p > 1.0 else p
    for i in range(min(start, size)):
        pdf[i] = np.nan
    return pdf


@numba.njit("uint16[::1](uint8[::1])", cache=True, nogil=True)
def kmer_codes(flat):
    """Base-4 code of the K letters starting at each position of flattened ``(N, L)`` codes.

    ``code[i] = sum_d letter[i + d] * 4**d`` with N (4) read as 0; positions past the end read 0.
    Returns ``N * L + K + _LANE`` codes: a block starting anywhere in a window can be read, and
    so can a group of _LANE windows that runs past the last one.
    """
    total = flat.shape[0]
    codes = np.zeros(total + K + _LANE, dtype=np.uint16)
    c = 0
    mask = _N_CODES - 1
    # Rolling code from the right: code[i] = letter[i] + 4 * code[i + 1] (truncated to K letters).
    for i in range(total - 1, -1, -1):
        v = flat[i]
        if v > 3:
            v = 0
        c = ((c << 2) | v) & mask
        codes[i] = c
    return codes


@numba.njit("void(uint8[::1], int64[::1], int64[::1], int64[::1], int64[::1], uint8[::1])", cache=True, nogil=True)
def matched_letters(flat, positions, widths, strands, offsets, out):
    """Write the letters of each hit (reverse complement when ``strands`` is 1) at ``out[offsets]``."""
    letters = np.frombuffer(b"ACGTN", dtype=np.uint8)
    complement = np.frombuffer(b"TGCAN", dtype=np.uint8)
    for h in range(positions.shape[0]):
        p = positions[h]
        w = widths[h]
        o = offsets[h]
        if strands[h] == 0:
            for j in range(w):
                out[o + j] = letters[min(flat[p + j], 4)]
        else:
            for j in range(w):
                out[o + j] = complement[min(flat[p + w - 1 - j], 4)]


@numba.njit(cache=True, nogil=True)
def _strand_matrices(scaled):
    """``(w, 5)`` int32 scores by window position for A, C, G, T, N (N: unreachable), for the
    forward strand and for the reverse complement."""
    w = scaled.shape[1]
    m_f = np.empty((w, 5), dtype=np.int32)
    m_r = np.empty((w, 5), dtype=np.int32)
    for j in range(w):
        for b in range(4):
            m_f[j, b] = scaled[b, j]
            m_r[j, b] = scaled[3 - b, w - 1 - j]
        m_f[j, 4] = _N_SCORE
        m_r[j, 4] = _N_SCORE
    return m_f, m_r


@numba.njit(cache=True, nogil=True)
def _column_max(m, j):
    return max(max(m[j, 0], m[j, 1]), max(m[j, 2], m[j, 3]))


@numba.njit(cache=True, nogil=True)
def _block_scores(m, off, width, table):
    """``table[c]`` = score of window positions ``off ..`` for the K letters of code ``c``.

    Digits at or past ``width`` weigh 0 (they read letters outside the block).
    """
    table[0] = 0
    size = 1
    for d in range(K - 1, -1, -1):
        for t in range(size - 1, -1, -1):
            v = table[t]
            for b in range(3, -1, -1):
                add = m[off + d, b] if d < width else 0
                table[t * 4 + b] = v + add
        size *= 4


@numba.njit(cache=True, nogil=True)
def _best_run(gaps, taken, width):
    """Start of the free run of ``width`` positions with the largest summed gap (-1 if none)."""
    best_off, best = -1, -np.inf
    for o in range(gaps.shape[0] - width + 1):
        g = 0.0
        free = True
        for j in range(o, o + width):
            if taken[j]:
                free = False
                break
            g += gaps[j]
        if free and g > best:
            best, best_off = g, o
    return best_off


@numba.njit(cache=True, nogil=True)
def _exact(flat, x, m, w):
    """Integer score of the window starting at flat position ``x`` (N positions: unreachable)."""
    s = 0
    for j in range(w):
        s += m[j, flat[x + np.uint64(j)]]
    return s


# The row loops index with unsigned integers: numba adds a negative-index check to every signed
# index it cannot prove non-negative, which doubled the cost of a table lookup here.


@numba.njit(cache=True, nogil=True)
def _check_window(flat, x, base, r, w, m_f, m_r, forward, reverse, cutoff, out, count):
    """Score window ``x`` exactly on the strands asked for and record those reaching ``cutoff``."""
    for strand in range(2):
        if forward if strand == 0 else reverse:
            score = _exact(flat, x, m_f if strand == 0 else m_r, w)
            if score >= cutoff:
                out[count, 0] = r
                out[count, 1] = np.int64(x - base)
                out[count, 2] = strand
                out[count, 3] = score
                count += 1
    return count


@numba.njit(cache=True, nogil=True)
def _rows_one_block(flat, length, codes, w, m_f, m_r, n_strands, flags, off, cutoff, out, row0, n):
    """Scan rows ``row0 ..`` with the one-block first test; returns (hits written, next row).

    Windows are tested _LANE at a time into a bit mask, so that only the windows that pass are
    visited again.
    """
    n_windows = np.uint64(length - w + 1)
    lane = np.uint64(_LANE)
    one = np.uint64(1)
    block = codes[off:]
    forward = n_strands > 0
    reverse = n_strands == 2
    count = 0
    r = row0
    while r < n and out.shape[0] - count >= n_strands * (length - w + 1):
        base = np.uint64(r) * np.uint64(length)
        x = base
        end = base + n_windows
        while x + lane <= end:
            bits = np.uint32(0)
            for v in range(_LANE):
                bits |= np.uint32(flags[block[x + np.uint64(v)]]) << np.uint32(v)
            while bits:
                y = x + np.uint64(trailing_zeros(bits))
                count = _check_window(flat, y, base, r, w, m_f, m_r, forward, reverse, cutoff, out, count)
                bits &= bits - np.uint32(1)
            x += lane
        while x < end:
            if flags[block[x]]:
                count = _check_window(flat, x, base, r, w, m_f, m_r, forward, reverse, cutoff, out, count)
            x += one
        r += 1
    return count, r


@numba.njit(cache=True, nogil=True)
def _rows_packed(flat, length, codes, w, m_f, m_r, n_strands, t0, t1, t2, o1, o2, need_f, need_r, cutoff, out, row0, n):
    """Scan rows ``row0 ..`` with the two/three-block first test; returns (hits, next row).

    ``t0``, ``t1``, ``t2`` are the blocks' packed tables (``t2`` unused for a two-block test);
    ``codes`` starts at the first block, ``o1``, ``o2`` are the other blocks' offsets from it.
    A strand passes when ``need - 1 - bound < 0``; the sign bits of both strands are or-ed.
    """
    n_windows = np.uint64(length - w + 1)
    lane = np.uint64(_LANE)
    c1 = codes[o1:]
    c2 = codes[o2:]
    third = o2 != 0
    nf = need_f - 1
    nr = need_r - 1
    count = 0
    r = row0
    while r < n and out.shape[0] - count >= n_strands * (length - w + 1):
        base = np.uint64(r) * np.uint64(length)
        x = base
        end = base + n_windows
        while x <= end:
            last = x + lane > end
            bits = np.uint32(0)
            for v in range(_LANE):
                y = x + np.uint64(v)
                t = np.int64(t0[codes[y]]) + t1[c1[y]]
                if third:
                    t += t2[c2[y]]
                bits |= np.uint32(((nf - (t & 0xFFFF)) | (nr - (t >> 16))) >> 63 & 1) << np.uint32(v)
            if last:
                bits &= np.uint32((1 << np.int64(end - x)) - 1)
            while bits:
                y = x + np.uint64(trailing_zeros(bits))
                t = np.int64(t0[codes[y]]) + t1[c1[y]]
                if third:
                    t += t2[c2[y]]
                count = _check_window(flat, y, base, r, w, m_f, m_r, (t & 0xFFFF) > nf, (t >> 16) > nr, cutoff, out, count)
                bits &= bits - np.uint32(1)
            if last:
                break
            x += lane
        r += 1
    return count, r


@numba.njit(cache=True, nogil=True)
def _motif_setup(scaled, n_strands):
    """Per-strand score matrices, each position's gap (best minus mean, summed over the strands
    scanned) and each strand's best total score."""
    w = scaled.shape[1]
    m_f, m_r = _strand_matrices(scaled)
    best_f = 0
    best_r = 0
    gaps = np.zeros(w)
    for j in range(w):
        best_f += _column_max(m_f, j)
        best_r += _column_max(m_r, j)
        for s in range(n_strands):
            m = m_f if s == 0 else m_r
            gaps[j] += _column_max(m, j) - (m[j, 0] + m[j, 1] + m[j, 2] + m[j, 3]) / 4.0
    return m_f, m_r, gaps, best_f, best_r


@numba.njit(cache=True, nogil=True)
def _one_block(m_f, m_r, n_strands, gaps, best_f, best_r, cutoff, flags, bit):
    """Or ``bit`` into ``flags[c]`` for every code ``c`` whose one-block bound reaches ``cutoff``.

    The block is the run of ``min(K, w)`` positions with the largest summed gap. Returns its first
    position and the number of codes that pass.
    """
    w = m_f.shape[0]
    width = min(K, w)
    off = _best_run(gaps, np.zeros(w, dtype=np.bool_), width)
    scores = np.empty(_N_CODES, dtype=np.int32)
    passed = np.zeros(_N_CODES, dtype=np.bool_)
    for s in range(n_strands):
        m = m_f if s == 0 else m_r
        rest = best_f if s == 0 else best_r
        for j in range(off, off + width):
            rest -= _column_max(m, j)
        _block_scores(m, off, width, scores)
        for c in range(_N_CODES):
            if scores[c] + rest >= cutoff:
                passed[c] = True
    n_pass = 0
    for c in range(_N_CODES):
        if passed[c]:
            flags[c] |= bit
            n_pass += 1
    return off, n_pass


@numba.njit("float64(int32[:, ::1], int64, boolean)", cache=True, nogil=True)
def one_block_pass_rate(scaled, cutoff, both_strands):
    """Fraction of k-mer codes that pass a motif's one-block test (its uniform-background rate)."""
    n_strands = 2 if both_strands else 1
    m_f, m_r, gaps, best_f, best_r = _motif_setup(scaled, n_strands)
    flags = np.zeros(_N_CODES, dtype=np.uint8)
    _, n_pass = _one_block(m_f, m_r, n_strands, gaps, best_f, best_r, cutoff, flags, np.uint8(1))
    return n_pass / _N_CODES


@numba.njit(
    "int64[:, ::1](uint8[::1], int64, uint16[::1], int32[:, ::1], int64[::1], int64[::1], boolean)",
    cache=True,
    nogil=True,
)
def scan_group(flat, length, codes, scaled_all, col_starts, cutoffs, both_strands):
    """Windows of up to 8 motifs whose integer score is ``>= cutoff``, with their one-block tests.

    Motif ``g`` has the columns ``col_starts[g] .. col_starts[g + 1] - 1`` of ``scaled_all``. Each
    motif's test reads the code at a fixed offset from its window's start, so the code at
    sequence position ``y`` tests the window starting at ``y - off[g]`` of every motif at once:
    one byte per code holds the pass bits of the 8 motifs, and each position costs one lookup
    for all of them.

    Returns
    -------
    (hits, 5) int64: motif (index in the group), row, start, strand, integer score; unordered.
    """
    n_motifs = cutoffs.shape[0]
    n = flat.shape[0] // length if length > 0 else 0
    n_strands = 2 if both_strands else 1
    max_w = 0
    for g in range(n_motifs):
        max_w = max(max_w, col_starts[g + 1] - col_starts[g])
    widths = np.empty(n_motifs, dtype=np.int64)
    offs = np.empty(n_motifs, dtype=np.int64)
    mats = np.zeros((n_motifs, 2, max_w, 5), dtype=np.int32)
    combined = np.zeros(_N_CODES, dtype=np.uint8)
    for g in range(n_motifs):
        scaled = np.ascontiguousarray(scaled_all[:, col_starts[g] : col_starts[g + 1]])
        widths[g] = scaled.shape[1]
        m_f, m_r, gaps, best_f, best_r = _motif_setup(scaled, n_strands)
        offs[g], _ = _one_block(m_f, m_r, n_strands, gaps, best_f, best_r, cutoffs[g], combined, np.uint8(1 << g))
        for j in range(widths[g]):
            for b in range(5):
                mats[g, 0, j, b] = m_f[j, b]
                mats[g, 1, j, b] = m_r[j, b]

    capacity = max(1024, 2 * n_strands * n_motifs * length)
    out = np.empty((capacity, 5), dtype=np.int64)
    count = 0
    lane = np.uint64(_LANE)
    row_length = np.uint64(length)
    for r in range(n):
        if capacity - count < n_strands * n_motifs * length:
            bigger = np.empty((2 * capacity, 5), dtype=np.int64)
            for i in range(count):
                for j in range(5):
                    bigger[i, j] = out[i, j]
            out = bigger
            capacity *= 2
        base = np.uint64(r) * row_length
        y = base
        end = base + row_length
        while y < end:
            bits = np.uint32(0)
            for v in range(_LANE):
                bits |= np.uint32(combined[codes[y + np.uint64(v)]] != 0) << np.uint32(v)
            if y + lane > end:
                bits &= np.uint32((1 << np.int64(end - y)) - 1)
            while bits:
                yy = y + np.uint64(trailing_zeros(bits))
                members = np.uint32(combined[codes[yy]])
                while members:
                    g = trailing_zeros(members)
                    members &= members - np.uint32(1)
                    start = np.int64(yy - base) - offs[g]
                    if start < 0 or start > length - widths[g]:
                        continue
                    x = base + np.uint64(start)
                    for s in range(n_strands):
                        score = _exact(flat, x, mats[g, s], widths[g])
                        if score >= cutoffs[g]:
                            out[count, 0] = g
                            out[count, 1] = r
                            out[count, 2] = start
                            out[count, 3] = s
                            out[count, 4] = score
                            count += 1
                bits &= bits - np.uint32(1)
            y += lane
    return out[:count]


@numba.njit(
    "int64[:, ::1](uint8[::1], int64, uint16[::1], int32[:, ::1], int64, boolean)",
    cache=True,
    nogil=True,
)
def scan_motif(flat, length, codes, scaled, cutoff, both_strands):
    """All windows of one motif whose integer score is ``>= cutoff``, on one or both strands.

    Parameters
    ----------
    flat : (N * L,) uint8 codes of N sequences of length L (A=0, C=1, G=2, T=3, other 4)
    length : L
    codes : uint16 k-mer codes of ``flat`` from :func:`kmer_codes`
    scaled : (4, w) int32 FIMO integer matrix of the forward strand
    cutoff : smallest integer score reported
    both_strands : also scan the reverse complement

    Returns
    -------
    (hits, 4) int64: row, start, strand (0 '+', 1 '-'), integer score; ordered by row, start,
    strand.

    Notes
    -----
    The first test bounds a window's score from above by the exact score of one block of
    positions (or two or three blocks) plus the best score of every other position; only
    windows whose bound reaches ``cutoff`` on some strand are scored exactly. Both strands share
    the blocks' positions, so one k-mer code serves both.
    """
    n = flat.shape[0] // length if length > 0 else 0
    w = scaled.shape[1]
    if w > length or n == 0:
        return np.empty((0, 4), dtype=np.int64)
    n_strands = 2 if both_strands else 1
    m_f, m_r, gaps, total_max_f, total_max_r = _motif_setup(scaled, n_strands)
    taken = np.zeros(w, dtype=np.bool_)
    flags = np.zeros(_N_CODES, dtype=np.uint8)
    off, n_pass = _one_block(m_f, m_r, n_strands, gaps, total_max_f, total_max_r, cutoff, flags, np.uint8(1))
    packed = w > K and n_pass > _ONE_BLOCK_RATE * _N_CODES

    if packed:
        # Two or three adjacent blocks of K positions: the run with the largest summed gap.
        n_first = 2 if w < 3 * K else 3
        span = min(w, n_first * K)
        start = _best_run(gaps, taken, span)
        offs = np.empty(3, dtype=np.int64)
        widths = np.zeros(3, dtype=np.int64)
        offs[2] = start
        for b in range(n_first):
            offs[b] = start + b * K
            widths[b] = min(K, start + span - offs[b])
        tables = np.zeros((3, _N_CODES), dtype=np.int32)
        block = np.empty(_N_CODES, dtype=np.int32)
        need = np.zeros(2, dtype=np.int64)
        for s in range(2):
            m = m_f if s == 0 else m_r
            rest = total_max_f if s == 0 else total_max_r
            for b in range(n_first):
                _block_scores(m, offs[b], widths[b], block)
                for j in range(offs[b], offs[b] + widths[b]):
                    rest -= _column_max(m, j)
                for c in range(_N_CODES):
                    tables[b, c] += block[c] << (16 * s)
            need[s] = cutoff - rest
        if not both_strands:
            need[1] = 1 << 40

    n_windows = length - w + 1
    out = np.empty((max(1024, 4 * n_strands * n_windows), 4), dtype=np.int64)
    total = 0
    row = 0
    while row < n:
        if packed:
            count, row = _rows_packed(
                flat, length, codes[offs[0]:], w, m_f, m_r, n_strands, tables[0], tables[1], tables[2],
                offs[1] - offs[0], offs[2] - offs[0], need[0], need[1], cutoff, out[total:], row, n,
            )
        else:
            count, row = _rows_one_block(flat, length, codes, w, m_f, m_r, n_strands, flags, off, cutoff, out[total:], row, n)
        total += count
        if row < n:
            bigger = np.empty((2 * out.shape[0], 4), dtype=np.int64)
            for i in range(total):
                for j in range(4):
                    bigger[i, j] = out[i, j]
            out = bigger
    return out[:total]
