"""``python -m tests.fuzz mutate|programs|differential --n N --seed S --jobs J --out findings.json``

Prints the count of each class and the distinct failures (minimized); writes the whole
report as JSON with ``--out``. Exits 1 when any case is a bug, an import failure, a run
failure, a hang or a crash.
"""
from __future__ import annotations

import argparse
import json
import sys

from .campaign import run_campaign
from .pipeline import BUG_CLASSES


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("mutate", "programs", "differential"))
    parser.add_argument("--n", type=int, default=1000, help="number of cases")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds per case before it is a hang (default 2; 10 for programs, which also run)")
    parser.add_argument("--minimize-budget", type=int, default=600, help="runs spent minimizing each finding")
    parser.add_argument("--out", help="write the report (JSON) here")
    args = parser.parse_args(argv)
    timeout = args.timeout or {"mutate": 2.0, "programs": 10.0, "differential": 60.0}[args.mode]
    report = run_campaign(args.mode, args.n, args.seed, args.jobs, timeout, args.minimize_budget,
                          progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(f"{args.mode}: {report['n']} cases, seed {args.seed}, {report['cases_seconds']}s ({report['seconds']}s with minimizing); slowest passing case "
          f"{report['slowest_ok_case']['seconds']}s (#{report['slowest_ok_case']['index']})")
    for name, count in sorted(report["counts"].items()):
        print(f"  {name:15} {count}")
    for group in report["findings"]:
        print(f"\n{group['count']} x {group['signature']}  (cases {group['cases'][:5]})")
        print(f"  {group['result'].get('message', '')}")
        if "minimized" in group:
            print("  minimized: " + repr(group["minimized"])[:400])
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1, ensure_ascii=True)
    return 1 if any(report["counts"].get(c) for c in BUG_CLASSES) else 0


if __name__ == "__main__":
    sys.exit(main())
