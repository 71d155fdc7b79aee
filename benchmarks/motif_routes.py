"""Motif routes on the embedded default: JASPAR capped, collapsed, de novo (issue 16).

Builds the three truths (timed), prints motifs kept, coverage of positive and negative bases, contrast and
the top motifs; with ``--benchmark`` also runs a reduced ``regsim benchmark`` on each truth and prints
the method ranking (mean per-sequence auPRC; one model per truth, its own scored set, no gkm-SVM). Heavy:
run it on an otherwise idle machine.

    python benchmarks/motif_routes.py --out /tmp/routes [--benchmark --archs beluga --n-top 100 [--epochs N]]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROUTES = {
    "capped": [],
    "collapsed": ["--collapse-redundant", "--max-motifs", "0"],
    "collapsed-capped": ["--collapse-redundant"],
    "denovo": ["--motifs", "denovo"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--routes", default=",".join(ROUTES))
    parser.add_argument("--benchmark", action="store_true")
    parser.add_argument("--n-top", type=int, default=100)
    parser.add_argument("--archs", default="beluga", help="architectures of the reduced benchmark")
    parser.add_argument("--epochs", type=int, help="training epochs (default: the preset's recipe)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    regsim = [sys.executable, "-m", "regsim"]
    rankings = {}
    for route in args.routes.split(","):
        folder = out / route
        if not folder.exists():
            started = time.perf_counter()
            subprocess.run([*regsim, "build", "--out", str(folder), "--quiet", *ROUTES[route]], check=True)
            seconds = time.perf_counter() - started
        else:
            seconds = float("nan")
        manifest = json.loads((folder / "build_manifest.json").read_text())
        table = pd.read_csv(folder / "retained_motifs.tsv", sep="\t")
        kept = table[table["retained"] == "yes"]
        cov = manifest["truth_coverage"]
        top = ", ".join(f"{r.motif_name} {r.motif_id} ({r.enrichment:.2f})" for r in kept.head(3).itertuples())
        print(f"{route}: {len(kept)} motifs; coverage positive {cov['positive']:.3f} negative {cov['negative']:.3f} "
              f"contrast {cov['contrast']:.2f}; build {seconds:.1f} s; top: {top}", flush=True)
        if args.benchmark:
            report = out / f"bench-{route}"
            epochs = ["--epochs", str(args.epochs)] if args.epochs else []
            started = time.perf_counter()
            subprocess.run([*regsim, "benchmark", "--out", str(report), "--dataset", str(folder), "--no-simple",
                            "--no-gkmsvm", "--archs", args.archs, "--n-top", str(args.n_top), *epochs, "--quiet"],
                           check=True)
            print(f"{route}: reduced benchmark {time.perf_counter() - started:.0f} s", flush=True)
            results = pd.read_csv(report / "results.csv")
            rankings[route] = results.set_index("label")["auprc_mean"].sort_values(ascending=False)
    if rankings:
        table = pd.DataFrame(rankings)
        print(table.round(3).to_string())
        print((-table).rank().astype(int).to_string())


if __name__ == "__main__":
    main()
