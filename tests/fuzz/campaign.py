"""A fuzz run: cases through the worker pool, counts per class, and findings minimized
(one per distinct failure signature, see :func:`.pipeline.signature`)."""
from __future__ import annotations

import collections
import time

from .minimize import minimize
from .mutate import mutated_case, seed_corpus
from .pipeline import BUG_CLASSES, signature
from .workers import Pool


def _rerun(pool: Pool, kind: str, text: str, index: int) -> dict:
    """The result of ``text`` run again alone (a program with the torch seed of case ``index``)."""
    return next(pool.run([(index, kind, text if kind == "mutate" else (text, index))]))[1]


def _confirm_hang(pool: Pool, kind: str, text: str, index: int) -> bool:
    """A second run of a hung case, alone: the machine may just have been busy."""
    return _rerun(pool, kind, text, index)["class"] == "hang"


def _minimized(pool: Pool, kind: str, text: str, wanted: str, budget: int, index: int) -> str:
    def fails(candidate: str) -> bool:
        return signature(_rerun(pool, kind, candidate, index)) == wanted

    return minimize(text, fails, budget)


def _add(groups: dict, result: dict, index: int, text: str) -> None:
    group = groups.setdefault(signature(result), {"signature": signature(result), "count": 0, "cases": [],
                                                  "result": result, "input": text})
    group["count"] += 1
    group["cases"].append(index)


def run_campaign(mode: str, n: int, seed: int = 0, jobs: int = 1, timeout: float = 2.0,
                 minimize_budget: int = 200, progress=None) -> dict:
    """Run ``n`` cases of ``mode`` ("mutate", "programs" or "differential"); returns a JSON-ready report:
    ``counts`` per class, ``findings`` (signature, count, example case, minimized input).

    A case over the timeout is run again alone; only if it times out again is it a ``hang``,
    otherwise it is counted ``slow`` (not a failure: the machine was busy)."""
    corpus = seed_corpus() if mode == "mutate" else None
    texts: dict[int, str] = {}

    def requests():
        for index in range(n):
            if mode == "mutate":
                _, text, _ = mutated_case(seed, index, corpus)
                texts[index] = text
                yield index, "mutate", text
            else:
                yield index, "generate_and_run" if mode == "programs" else "differential", (seed, index)

    counts: collections.Counter = collections.Counter()
    groups: dict[str, dict] = {}
    hangs: dict[int, str] = {}
    slowest = (0.0, None)
    started = time.monotonic()
    with Pool(jobs, timeout) as pool:
        for done, (index, result, seconds) in enumerate(pool.run(requests()), 1):
            text = result.pop("text", None) or texts.get(index, "")
            if mode != "mutate" and result["class"] == "hang":
                from .programs import program_case

                text = program_case(seed, index).text
            texts.pop(index, None)
            counts[result["class"]] += 1
            if result["class"] not in ("hang", "crash"):
                slowest = max(slowest, (seconds, index), key=lambda s: s[0])
            if result["class"] == "hang":
                hangs[index] = text
            elif result["class"] in BUG_CLASSES:
                _add(groups, result, index, text)
            if progress and done % 500 == 0:
                progress(f"{done}/{n} {dict(counts)} {time.monotonic() - started:.0f}s")
        cases_seconds = time.monotonic() - started
        kind = "mutate" if mode == "mutate" else "program"
        for index, text in sorted(hangs.items()):
            if _confirm_hang(pool, kind, text, index):
                _add(groups, {"class": "hang"}, index, text)
            else:  # the machine was busy: a slow case, not a hang
                counts["hang"] -= 1
                counts["slow"] += 1
        counts = +counts
        for group in groups.values():
            if group["result"]["class"] == "hang":
                continue  # each try costs the whole timeout and a fresh worker: reduce by hand
            group["minimized"] = _minimized(pool, kind, group["input"], group["signature"], minimize_budget,
                                            group["cases"][0])
    return {"mode": mode, "n": n, "seed": seed, "timeout_s": timeout, "seconds": round(time.monotonic() - started, 1),
            "cases_seconds": round(cases_seconds, 1),
            "slowest_ok_case": {"seconds": round(slowest[0], 2), "index": slowest[1]},
            "counts": dict(counts), "findings": sorted(groups.values(), key=lambda g: -g["count"])}
