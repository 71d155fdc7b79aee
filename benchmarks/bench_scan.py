"""Scan speed and agreement: regsim's scan vs memelite's fimo vs MEME's FIMO (pymemesuite).

Speed unit: **motif-positions per second** = (number of motifs) x (number of sequence positions,
i.e. the summed sequence lengths) / (wall-clock seconds of one call), both strands scanned in that
one call, p < 1e-4, the call returning its hit tables. Same definition for both tools.

Both tools get the same inputs: the embedded Oct4 + MafK peak sequences (7,797 x 200 bp,
upper-cased) as integer codes / one-hot, and the JASPAR2024 CORE vertebrates motifs (latest
versions). memelite receives the motifs' probabilities after FIMO's pseudocount (0.1, uniform
background), so both score the same matrices. Both run on the same number of threads
(``--threads``, numba threads for memelite), after a warm-up call that compiles their kernels;
the timed calls alternate between the tools, and medians are printed with their same-run ratio,
for wall-clock time and for CPU time (all threads; less sensitive to other load on the machine).

Agreement is measured on hit sets keyed by (motif, sequence, start, strand): Jaccard index of
the hits at p < 1e-4, and the recall of each tool's p < 1e-5 hits in the other's p < 1e-4 hits.
pymemesuite never scans the last window of a sequence (``range(length - width)``), so hits
starting at ``L - w`` are left out of every comparison with it. ``--fimo-motifs N`` runs
pymemesuite on every (879 / N)-th motif only (it needs about 3 minutes for all of them on 2 cores).

Peers (benchmark-only, installed by ``make bench-deps``/the ``test`` extra): memelite==0.5.0,
pymemesuite==0.1.0a4.

Run: ``python benchmarks/bench_scan.py [--repeats 5] [--threads 2] [--fimo-motifs all]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import numba

from regsim.dataset_builder.build import EMBEDDED, EMBEDDED_NEGATIVES, EMBEDDED_POSITIVES
from regsim.dataset_builder.inputs import read_fasta


def read_sequences() -> list[str]:
    return [s for name in (EMBEDDED_POSITIVES, EMBEDDED_NEGATIVES) for s in read_fasta(EMBEDDED.joinpath(name)).sequences]


def regsim_hits(table) -> dict:
    return {(int(r.motif_index), int(r.sequence_index), int(r.start), r.strand): float(r.p_value) for r in table.itertuples(index=False)}


def memelite_hits(frames) -> dict:
    hits = {}
    for k, frame in enumerate(frames):
        for seq, start, strand, p in zip(frame["sequence_name"], frame["start"], frame["strand"], frame["p-value"]):
            hits[(k, int(seq), int(start), strand)] = float(p)
    return hits


def fimo_hits(motifs, sequences, threshold) -> dict:
    from pymemesuite import common as pc
    from pymemesuite.fimo import FIMO

    alphabet = pc.Alphabet.dna()
    bg = pc.Background.from_uniform(alphabet)
    records = [pc.Sequence(s, name=str(i).encode()) for i, s in enumerate(sequences)]
    fimo = FIMO(both_strands=True, threshold=threshold, max_stored_scores=10**9)
    hits = {}
    for k, motif in motifs:
        frequencies = pc.Matrix(motif.with_pseudocount().T.tolist())
        pm = pc.Motif(alphabet, frequencies=frequencies, name=motif.id.encode(), accession=motif.id.encode())
        for e in fimo.score_motif(pm, records, bg).matched_elements:
            start = e.start - 1 if e.strand == "+" else e.stop - 1
            hits[(k, int(e.source.accession), start, e.strand)] = e.pvalue
    return hits


def agreement(a: dict, b: dict) -> tuple[float, float, float]:
    """(Jaccard at the scan threshold, recall of a's p<1e-5 hits in b, recall of b's in a)."""
    ka, kb = set(a), set(b)
    jaccard = len(ka & kb) / max(len(ka | kb), 1)
    strong_a = {k for k, p in a.items() if p < 1e-5}
    strong_b = {k for k, p in b.items() if p < 1e-5}
    return jaccard, len(strong_a & kb) / max(len(strong_a), 1), len(strong_b & ka) / max(len(strong_b), 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--fimo-motifs", default="all", help="'all', 'none', or N: run pymemesuite on every (879/N)-th motif")
    args = parser.parse_args(argv)

    import warnings

    from memelite import fimo as memelite_fimo

    from regsim.dataset_builder.motifs import load_motifs
    from regsim.dataset_builder.core.sequences import encode_integers, one_hot_from_integers
    from regsim.dataset_builder.scan import scan

    warnings.filterwarnings("ignore", message=".*cannot reach p <")
    numba.set_num_threads(args.threads)
    sequences = read_sequences()
    motifs = load_motifs("jaspar:JASPAR2024:CORE:vertebrates")
    codes = encode_integers(sequences)
    one_hot = one_hot_from_integers(codes)
    pwms = {m.id: m.with_pseudocount() for m in motifs}
    positions = codes.size
    work = len(motifs) * positions
    print(f"{len(motifs)} motifs x {len(sequences)} sequences x {codes.shape[1]} bp = {work:.3g} motif-positions per call, {args.threads} threads")

    # Warm-up: JIT compilation (or cache loading) of both tools.
    scan(motifs[:3], codes[:20], n_threads=args.threads)
    memelite_fimo({k: pwms[k] for k in list(pwms)[:3]}, one_hot[:20])

    times = {"regsim": [], "memelite": []}
    cpu = {"regsim": [], "memelite": []}
    ours = theirs = None
    for _ in range(args.repeats):
        t, c = time.perf_counter(), time.process_time()
        ours = scan(motifs, codes, threshold=1e-4, n_threads=args.threads)
        times["regsim"].append(time.perf_counter() - t)
        cpu["regsim"].append(time.process_time() - c)
        t, c = time.perf_counter(), time.process_time()
        theirs = memelite_fimo(pwms, one_hot, threshold=1e-4)
        times["memelite"].append(time.perf_counter() - t)
        cpu["memelite"].append(time.process_time() - c)
    med = {k: statistics.median(v) for k, v in times.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    for name in ("regsim", "memelite"):
        runs = ", ".join(f"{x:.2f}" for x in times[name])
        print(
            f"{name:9s} median {med[name]:.3f} s wall ({work / med[name]:.3g} motif-positions/s), "
            f"{med_cpu[name]:.3f} s CPU  runs: {runs}"
        )
    print(f"speed ratio regsim / memelite (same run, medians): {med['memelite'] / med['regsim']:.2f}x wall, {med_cpu['memelite'] / med_cpu['regsim']:.2f}x CPU time")

    ours_hits = regsim_hits(ours)
    meme_hits = memelite_hits(theirs)
    zero_p = sum(1 for p in meme_hits.values() if p == 0)
    zeb1 = next(i for i, m in enumerate(motifs) if m.id == "MA0103.4")
    zeb1_zero = sum(1 for k, p in meme_hits.items() if p == 0 and k[0] == zeb1)
    print(f"hits at p < 1e-4: regsim {len(ours_hits)}, memelite {len(meme_hits)} (memelite p == 0: {zero_p}, of which MA0103.4: {zeb1_zero}); regsim min p = {min(ours_hits.values()):.3g}")
    j, r1, r2 = agreement(ours_hits, meme_hits)
    print(f"regsim vs memelite: Jaccard@1e-4 {j:.4f}, recall of regsim p<1e-5 in memelite {r1:.4f}, of memelite p<1e-5 in regsim {r2:.4f}")

    if args.fimo_motifs != "none":
        step = 1 if args.fimo_motifs == "all" else max(1, len(motifs) // int(args.fimo_motifs))
        chosen = list(enumerate(motifs))[::step]
        keep = {k for k, _ in chosen}
        length = codes.shape[1]
        widths = [m.width for m in motifs]

        def comparable(hits):
            return {k: p for k, p in hits.items() if k[0] in keep and k[2] < length - widths[k[0]]}

        t = time.perf_counter()
        reference = fimo_hits(chosen, sequences, 1e-4)
        print(f"pymemesuite FIMO on {len(chosen)} motifs: {time.perf_counter() - t:.1f} s, {len(reference)} hits (last windows excluded)")
        for name, hits in (("regsim", ours_hits), ("memelite", meme_hits)):
            j, r1, r2 = agreement(comparable(hits), reference)
            print(f"{name:9s} vs FIMO: Jaccard@1e-4 {j:.4f}, recall of FIMO p<1e-5 hits {r2:.4f}, of {name} p<1e-5 hits in FIMO {r1:.4f}")


if __name__ == "__main__":
    main()
