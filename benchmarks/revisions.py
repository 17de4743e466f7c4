"""Before and after in one run: a benchmark measured for two git revisions, interleaved (A B A B ...).

    python benchmarks/revisions.py BASE [--head REV] [--benchmark gateway_cost] [--runs 4] [--requests 2000]

Checks BASE (and HEAD, default the working tree) out with ``git worktree`` into a temporary folder, then runs the
benchmark script of the *working tree* against each revision's ``src`` in turn (same script, same machine, same
minutes: drift and noise fall on both sides alike) and compares every numeric result the benchmark saves as the
median over runs, as after/before ratios. This is how "no lower than today's, measured in the same run" is
checked (issues 20 and 21: ``authorization_decisions_per_second``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GIT = shutil.which("git") or "/usr/bin/git"


def run_once(script: Path, src: Path, requests: int, results: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{ROOT / 'benchmarks'}", "XACCT_BENCH_RESULTS": str(results)}
    subprocess.run(
        [sys.executable, str(script), "--requests", str(requests)],
        check=True,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    saved = json.loads((results / f"{script.stem}.json").read_text())
    return {k: float(v) for k, v in saved.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the revision before (a commit, tag or branch)")
    parser.add_argument("--head", default=None, help="the revision after (default: the working tree)")
    parser.add_argument("--benchmark", default="gateway_cost", help="a script in benchmarks/ (default gateway_cost)")
    parser.add_argument("--runs", type=int, default=4, help="runs per revision, interleaved (default 4)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="one run of a few requests: checks the script works")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.requests = 1, 40
    script = ROOT / "benchmarks" / f"{args.benchmark}.py"
    if not script.is_file():
        parser.error(f"no benchmark {script.name} in benchmarks/")
    with tempfile.TemporaryDirectory(prefix="xacct-revisions-") as tmp:
        trees: dict[str, Path] = {}
        for label, rev in (("before", args.base), ("after", args.head)):
            if rev is None:
                trees[label] = ROOT / "src"
                continue
            checkout = Path(tmp) / label
            subprocess.run([GIT, "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(checkout), rev], check=True)
            trees[label] = checkout / "src"
        try:
            measured: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
            for run in range(args.runs):
                for label in ("before", "after") if run % 2 == 0 else ("after", "before"):
                    results = Path(tmp) / f"results-{label}-{run}"
                    results.mkdir()
                    measured[label].append(run_once(script, trees[label], args.requests, results))
                    print(f"run {run + 1}/{args.runs} {label}: done", flush=True)
        finally:
            for label in ("before", "after"):
                if trees[label] != ROOT / "src":
                    subprocess.run(
                        [GIT, "-C", str(ROOT), "worktree", "remove", "--force", str(trees[label].parent)], check=False
                    )
    keys = sorted(set(measured["before"][0]) & set(measured["after"][0]))
    summary = {}
    print(f"\n{args.benchmark}: median of {args.runs} interleaved runs, {args.base} -> {args.head or 'working tree'}")
    for key in keys:
        before = statistics.median(r[key] for r in measured["before"])
        after = statistics.median(r[key] for r in measured["after"])
        ratio = after / before if before else float("nan")
        summary[key] = {"before": before, "after": after, "after_to_before": ratio}
        print(f"  {key:40s} {before:14,.3f} -> {after:14,.3f}  ({ratio:.3f}x)")
    out = (
        Path(os.environ.get("XACCT_BENCH_RESULTS") or ROOT / "benchmarks" / "results")
        / f"revisions_{args.benchmark}.json"
    )
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"base": args.base, "head": args.head, "runs": args.runs, **summary}, indent=2))
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
