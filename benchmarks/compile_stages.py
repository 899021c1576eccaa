"""Time each compiler stage on one .gm text: parse, lower, check, generate (simplify, LaTeX, codegen), load.

    python benchmarks/compile_stages.py 1000      # the N-factor chain of benchmarks/chain.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def stage_times(text: str) -> dict[str, float]:
    """Seconds per stage of compiling ``text`` to a loaded class (one run)."""
    from gmc.compiler import driver
    from gmc.compiler.checks import check
    from gmc.compiler.lower import lower
    from gmc.dsl.parser import parse

    out = {}
    t = time.perf_counter()
    program = parse(text, "chain.gm")
    out["parse"] = time.perf_counter() - t
    t = time.perf_counter()
    model = lower(program)
    out["lower"] = time.perf_counter() - t
    t = time.perf_counter()
    model = check(model)
    out["check"] = time.perf_counter() - t
    t = time.perf_counter()
    source = driver.python_source(model)
    out["generate"] = time.perf_counter() - t
    t = time.perf_counter()
    driver.load(source, model)
    out["load"] = time.perf_counter() - t
    out["lines of generated code"] = source.count("\n")
    return out


def main():
    from chain import chain_gm

    import gmc
    gmc.compile_source(chain_gm(3))  # imports and the parser's tables, once
    for n in map(int, sys.argv[1:] or ["1000"]):
        times = stage_times(chain_gm(n))
        print(f"N={n}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in times.items()))


if __name__ == "__main__":
    main()
