"""Delta debugging (Zeller & Hildebrandt 2002, ddmin) of a failing source, by lines then tokens."""
from __future__ import annotations

from .mutate import tokens


def ddmin(parts: list[str], fails, budget: int) -> tuple[list[str], int]:
    """A 1-minimal-ish sublist of ``parts`` on which ``fails("".join(sub))`` still holds.

    ``budget``: at most this many calls of ``fails``; returns (parts, calls used)."""
    calls = 0
    granularity = 2
    while len(parts) >= 2 and calls < budget:
        chunk = max(1, len(parts) // granularity)
        reduced = False
        for start in range(0, len(parts), chunk):
            if calls >= budget:
                break
            complement = parts[:start] + parts[start + chunk:]
            calls += 1
            if complement and fails("".join(complement)):
                parts = complement
                granularity = max(granularity - 1, 2)
                reduced = True
                break
        if not reduced:
            if chunk == 1:
                break
            granularity = min(len(parts), granularity * 2)
    return parts, calls


def minimize(text: str, fails, budget: int = 300) -> str:
    """``text`` reduced line by line, then token by token, while ``fails`` holds."""
    lines, used = ddmin(text.splitlines(keepends=True), fails, budget)
    parts, _ = ddmin(tokens("".join(lines)), fails, budget - used)
    return "".join(parts)
