"""`regsim build` at genome scale: time and peak memory per stage, memory bound, process speed-up.

Subcommands (run them in this order; every big one under ``flock /tmp/regsim-heavy.lock``):

``genome --out DIR``
    Writes a synthetic genome (``--genome-mb``, default 120 Mb: i.i.d. bases at 41 % GC in 10-Mb
    chromosomes) with peak files in the paper's proportions: ``--positives`` (default 100,000)
    narrowPeak summits tiled on the first chromosomes, each window carrying 1-3 sampled instances of
    five JASPAR motifs (Pou5f1::Sox2, GATA1, CTCF, SPI1, FOXA1) within 100 bp of the summit; and
    ``--background`` (default 750,000) BED regions on the remaining chromosomes, carrying a planted
    instance in 10 % of them. The A549 set of the paper has 119,132 positives and 890,156 background
    regions.
``build --data DIR``
    Runs mode A (``--genome --positives --background``, 400 bp, default motifs: 879 JASPAR
    matrices) in this process with ``--num-proc``; prints every stage's wall time and the peak
    memory of this process and its workers during the stage (proportional set size summed over the
    process tree, sampled every 0.2 s, so pages shared by the forked workers count once).
    ``--fraction F`` builds from the first F of each peak file (a smaller run of the same genome).
``memory --data DIR --sizes 20000,160000``
    Mode B FASTA of N sequences (N/2 positive and N/2 background windows of the genome, 400 bp) built
    with the default motifs in a fresh process each; prints peak RSS (``ru_maxrss``, of the build
    process and of its largest worker) and the ratio of the largest to the smallest size.
``speedup --data DIR --sequences 20000``
    The same mode B build with ``--num-proc 1`` and ``--num-proc 2``, interleaved ``--repeats``
    times; prints median wall times and their ratio, and checks the outputs are byte-identical.

Run: ``python benchmarks/bench_build.py genome --out /tmp/bench-genome`` then the others with
``--data /tmp/bench-genome``.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

WIDTH = 400
PLANTED = ["MA0142", "MA0035", "MA0139", "MA0080", "MA0148"]  # Pou5f1::Sox2, GATA1, CTCF, SPI1, FOXA1
CHROM_MB = 10


def write_genome(args) -> None:
    from regsim.dataset_builder.motifs import load_motifs
    from regsim.dataset_builder.simple import sample_site

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    motifs = load_motifs("jaspar:JASPAR2024:ids=" + ",".join(PLANTED))
    n_chroms = max(2, int(np.ceil(args.genome_mb / CHROM_MB)))
    chrom_len = int(args.genome_mb * 1e6 / n_chroms)
    spacing = WIDTH + 100
    per_chrom = chrom_len // spacing - 2
    n_pos_chroms = int(np.ceil(args.positives / per_chrom))
    if n_pos_chroms >= n_chroms:
        raise SystemExit(f"--genome-mb {args.genome_mb} is too small for {args.positives} tiled positives")
    gc = 0.41
    probabilities = np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])
    started = time.perf_counter()
    positives, background = [], []
    with open(out / "genome.fa", "w") as fasta:
        for c in range(n_chroms):
            name = f"chr{c + 1}"
            codes = rng.choice(4, size=chrom_len, p=probabilities).astype(np.uint8)
            if c < n_pos_chroms:
                first = c * per_chrom
                for k in range(min(per_chrom, args.positives - first)):
                    summit = spacing * (k + 1) + WIDTH // 2
                    for _ in range(rng.integers(1, 4)):
                        site = sample_site(motifs[rng.integers(len(motifs))].probabilities, rng)
                        at = summit + rng.integers(-100, 100 - len(site))
                        codes[at : at + len(site)] = site if rng.random() < 0.5 else (3 - site)[::-1]
                    positives.append((name, summit - 150, summit + 150, summit))
            else:
                starts = rng.integers(0, chrom_len - WIDTH, size=args.background // (n_chroms - n_pos_chroms) + 1)
                for start in starts:
                    if rng.random() < 0.1:
                        site = sample_site(motifs[rng.integers(len(motifs))].probabilities, rng)
                        at = start + rng.integers(0, WIDTH - len(site))
                        codes[at : at + len(site)] = site
                    background.append((name, int(start), int(start) + WIDTH))
            letters = np.frombuffer(b"ACGT", dtype=np.uint8)[codes]
            lines = np.full((len(letters) // 60, 61), ord("\n"), dtype=np.uint8)
            lines[:, :60] = letters[: len(lines) * 60].reshape(-1, 60)
            fasta.write(f">{name}\n")
            fasta.write(lines.tobytes().decode())
            tail = letters[len(lines) * 60 :]
            if len(tail):
                fasta.write(tail.tobytes().decode() + "\n")
    background = background[: args.background]
    with open(out / "positives.narrowPeak", "w") as f:
        for i, (chrom, start, end, summit) in enumerate(positives):
            f.write(f"{chrom}\t{start}\t{end}\tpeak{i}\t1000\t.\t10\t10\t10\t{summit - start}\n")
    with open(out / "background.bed", "w") as f:
        for chrom, start, end in background:
            f.write(f"{chrom}\t{start}\t{end}\n")
    print(json.dumps({"genome_mb": n_chroms * chrom_len / 1e6, "chromosomes": n_chroms,
                      "positives": len(positives), "background": len(background),
                      "seconds": round(time.perf_counter() - started, 1)}))


class _TreeMemory(threading.Thread):
    """Peak proportional set size (PSS) of this process and its children, by stage."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stage, self.peaks, self.running = "start", {}, True

    @staticmethod
    def _pss(pid) -> int:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith("Pss:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _tree(self) -> list[int]:
        pids, todo = [], [os.getpid()]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            try:
                for task in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{task}/children") as handle:
                        todo += [int(c) for c in handle.read().split()]
            except OSError:
                pass
        return pids

    def run(self):
        while self.running:
            total = sum(self._pss(p) for p in self._tree())
            self.peaks[self.stage] = max(self.peaks.get(self.stage, 0), total)
            time.sleep(0.2)


class _StageTee:
    """Stdout that records when each ``[elapsed] stage`` line of the build was printed."""

    def __init__(self, stream, memory):
        # The build reads its inputs in a child process, whose stage line this process does not see.
        self.stream, self.memory = stream, memory
        self.lines = [(time.perf_counter(), "reading the inputs (child process)")]
        memory.stage = self.lines[0][1]

    def write(self, text):
        for line in text.splitlines():
            if line.startswith("[") and "s] " in line and not line.split("s] ", 1)[1].startswith("note:"):
                stage = line.split("s] ", 1)[1]
                self.lines.append((time.perf_counter(), stage))
                self.memory.stage = stage
        return self.stream.write(text)

    def flush(self):
        self.stream.flush()


def _subset(path: Path, fraction: float, target: Path) -> Path:
    if fraction >= 1:
        return path
    lines = path.read_text().splitlines(keepends=True)
    target.write_text("".join(lines[: int(len(lines) * fraction)]))
    return target


def build(args) -> None:
    from regsim.dataset_builder.build import BuildSettings, build_dataset

    data = Path(args.data)
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    positives = _subset(data / "positives.narrowPeak", args.fraction, out.parent / "positives.subset.narrowPeak")
    background = _subset(data / "background.bed", args.fraction, out.parent / "background.subset.bed")
    memory = _TreeMemory()
    tee = _StageTee(sys.stdout, memory)
    memory.start()
    started = time.perf_counter()
    sys.stdout = tee
    try:
        result = build_dataset(out, BuildSettings(genome=str(data / "genome.fa"), positives=str(positives),
                                                  background=str(background), width=WIDTH),
                               num_proc=args.num_proc, batch_size=args.batch_size, verbose=True)
    finally:
        sys.stdout = tee.stream
        memory.running = False
        memory.join()
    ended = time.perf_counter()
    marks = tee.lines + [(ended, "end")]
    print(f"\n{'stage':<72} {'seconds':>8} {'peak GiB':>9}")
    for (t0, stage), (t1, _) in zip(marks, marks[1:]):
        print(f"{stage[:72]:<72} {t1 - t0:8.1f} {memory.peaks.get(stage, 0) / 2**30:9.2f}")
    rows = sum(r["total"] for r in result.split_sizes.values())
    print(json.dumps({"rows": rows, "seconds": round(ended - started, 1),
                      "peak_gib": round(max(memory.peaks.values()) / 2**30, 2),
                      "ru_maxrss_self_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
                      "ru_maxrss_children_gib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20, 2),
                      "num_proc": args.num_proc, "batch_size": args.batch_size,
                      "split_sizes": result.split_sizes}))


def _mode_b_inputs(data: Path, n: int, folder: Path) -> tuple[Path, Path]:
    """n/2 positive and n/2 background windows of the genome as FASTA (first records of each file)."""
    import pyfaidx

    fasta = pyfaidx.Fasta(str(data / "genome.fa"), as_raw=True)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, source in (("pos.fa", "positives.narrowPeak"), ("neg.fa", "background.bed")):
        with open(data / source) as peaks, open(folder / name, "w") as out:
            for i, line in zip(range(n // 2), peaks):
                fields = line.split("\t")
                chrom, start = fields[0], int(fields[1])
                if len(fields) >= 10:
                    start = start + int(fields[9]) - WIDTH // 2
                out.write(f">{chrom}:{start}-{start + WIDTH}\n{fasta[chrom][start:start + WIDTH]}\n")
        paths.append(folder / name)
    return paths[0], paths[1]


_ONE_BUILD = """
import resource, sys, time
from regsim.dataset_builder.build import BuildSettings, build_dataset
pos, neg, out, num_proc, batch = sys.argv[1:6]
t = time.perf_counter()
build_dataset(out, BuildSettings(positives_fasta=pos, negatives_fasta=neg), num_proc=int(num_proc),
              batch_size=int(batch), verbose=False)
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def _one_build(pos, neg, out, num_proc, batch_size) -> tuple[float, float, float]:
    shutil.rmtree(out, ignore_errors=True)
    done = subprocess.run([sys.executable, "-c", _ONE_BUILD, str(pos), str(neg), str(out), str(num_proc),
                           str(batch_size)], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr)
    seconds, own, children = done.stdout.split()[-3:]
    return float(seconds), int(own) / 2**20, int(children) / 2**20


def memory(args) -> None:
    data, work = Path(args.data), Path(args.work)
    peaks = {}
    for n in [int(x) for x in args.sizes.split(",")]:
        pos, neg = _mode_b_inputs(data, n, work / f"inputs-{n}")
        seconds, own, children = _one_build(pos, neg, work / f"out-{n}", args.num_proc, args.batch_size)
        peaks[n] = own
        print(json.dumps({"sequences": n, "seconds": round(seconds, 1), "peak_rss_gib": round(own, 3),
                          "largest_worker_rss_gib": round(children, 3), "num_proc": args.num_proc,
                          "batch_size": args.batch_size}))
    sizes = sorted(peaks)
    print(json.dumps({"ratio_largest_to_smallest": round(peaks[sizes[-1]] / peaks[sizes[0]], 3)}))


def speedup(args) -> None:
    data, work = Path(args.data), Path(args.work)
    pos, neg = _mode_b_inputs(data, args.sequences, work / f"inputs-{args.sequences}")
    times = {1: [], 2: []}
    for _ in range(args.repeats):
        for num_proc in (1, 2):
            times[num_proc].append(_one_build(pos, neg, work / f"speed-{num_proc}", num_proc, args.batch_size)[0])
    same = all(filecmp.cmp(p, work / "speed-2" / p.relative_to(work / "speed-1"), shallow=False)
               for p in (work / "speed-1").rglob("*.parquet"))
    one, two = statistics.median(times[1]), statistics.median(times[2])
    print(json.dumps({"sequences": args.sequences, "num_proc_1_s": [round(t, 1) for t in times[1]],
                      "num_proc_2_s": [round(t, 1) for t in times[2]], "speedup": round(one / two, 2),
                      "parquet_identical": same}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("genome")
    g.add_argument("--out", required=True)
    g.add_argument("--genome-mb", type=float, default=120)
    g.add_argument("--positives", type=int, default=100_000)
    g.add_argument("--background", type=int, default=750_000)
    g.add_argument("--seed", type=int, default=0)
    b = sub.add_parser("build")
    b.add_argument("--data", required=True)
    b.add_argument("--out", default="/tmp/bench-build/out")
    b.add_argument("--fraction", type=float, default=1.0)
    for p in (b, sub.add_parser("memory"), sub.add_parser("speedup")):
        p.add_argument("--num-proc", type=int, default=2)
        p.add_argument("--batch-size", type=int, default=2000)
    m, s = sub.choices["memory"], sub.choices["speedup"]
    for p in (m, s):
        p.add_argument("--data", required=True)
        p.add_argument("--work", default="/tmp/bench-build")
    m.add_argument("--sizes", default="20000,160000")
    s.add_argument("--sequences", type=int, default=20_000)
    s.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    {"genome": write_genome, "build": build, "memory": memory, "speedup": speedup}[args.command](args)


if __name__ == "__main__":
    main()
