"""The mutation fuzzer's seed corpus and mutations (character, token, line and structure level).

Every case is a pure function of (seed, index): :func:`mutated_case` draws from a
``random.Random`` seeded with both, so a run is reproducible and independent of how cases
are spread over worker processes.
"""
from __future__ import annotations

import random
import re
from pathlib import Path

from .vocabulary import NUMBERS, VOCABULARY

ROOT = Path(__file__).resolve().parents[2]
SEED_FOLDERS = ("examples", "tests/golden/good", "tests/golden/bad", "tests/golden/warn", "tests/golden/info")
TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+|E_\{|sum_\{|int_\{|\|\||->|\*\*|\s+|.",
                   re.S)


def seed_corpus() -> list[tuple[str, str]]:
    """(name, text) of every .gm file the fuzzer starts from, in a fixed order."""
    seeds = []
    for folder in SEED_FOLDERS:
        for path in sorted((ROOT / folder).glob("*.gm")):
            seeds.append((f"{folder}/{path.name}", path.read_bytes().decode("utf-8", errors="replace")))
    return seeds


def tokens(text: str) -> list[str]:
    """``text`` split into names, numbers, multi-character operators, whitespace runs and single characters."""
    return TOKEN.findall(text)


def _span(rng: random.Random, n: int, longest: int = 8) -> tuple[int, int]:
    start = rng.randrange(n)
    return start, min(n, start + rng.randint(1, longest))


def _edit_sequence(rng: random.Random, items: list, vocabulary) -> list:
    """One random delete / duplicate / swap / insert / replace on a list of tokens or characters."""
    if not items:
        return [rng.choice(vocabulary)]
    op = rng.randrange(5)
    a, b = _span(rng, len(items))
    if op == 0:
        return items[:a] + items[b:]
    if op == 1:
        return items[:b] + items[a:b] + items[b:]
    if op == 2:
        c, d = _span(rng, len(items))
        if c < a:
            a, b, c, d = c, d, a, b
        if c < b:
            return items[:a] + items[b:]
        return items[:a] + items[c:d] + items[b:c] + items[a:b] + items[d:]
    if op == 3:
        return items[:a] + [rng.choice(vocabulary)] + items[a:]
    return items[:a] + [rng.choice(vocabulary)] + items[a + 1:]


def character_mutation(rng, text: str, corpus) -> str:
    alphabet = list("()[]{}|=+-*/@.,:_#\n 0123456789abcxyzEpqKL") + ["\x00", "\ufeff", "\u00e9", "\t"]
    return "".join(_edit_sequence(rng, list(text), alphabet))


def token_mutation(rng, text: str, corpus) -> str:
    parts = tokens(text)
    spaced = [t if t.isspace() or len(t) == 1 else f" {t} " if rng.random() < 0.3 else t for t in VOCABULARY]
    return "".join(_edit_sequence(rng, parts, spaced))


def line_mutation(rng, text: str, corpus) -> str:
    """Delete, duplicate, swap or replace lines, or splice in a line of another seed."""
    lines = text.split("\n")
    donor = rng.choice(corpus)[1].split("\n")
    return "\n".join(_edit_sequence(rng, lines, donor))


def number_mutation(rng, text: str, corpus) -> str:
    """Replace one number by an extreme or odd literal."""
    parts = tokens(text)
    numbers = [i for i, t in enumerate(parts) if t[0].isdigit()]
    if not numbers:
        return token_mutation(rng, text, corpus)
    parts[rng.choice(numbers)] = rng.choice(NUMBERS)
    return "".join(parts)


def name_mutation(rng, text: str, corpus) -> str:
    """Rename every occurrence of one identifier (keeps programs valid, so later stages get reached)."""
    parts = tokens(text)
    names = sorted({t for t in parts if t[0].isalpha() or t[0] == "_"})
    if not names:
        return token_mutation(rng, text, corpus)
    old = rng.choice(names)
    new = rng.choice([t for t in VOCABULARY if t.isidentifier()] + [old * 50, old + "_", "_" + old, old.upper()])
    return "".join(new if t == old else t for t in parts)


def repetition_mutation(rng, text: str, corpus) -> str:
    """Repeat a span, a line or a token many times (long lines, many statements)."""
    parts = tokens(text) or [" "]
    a, b = _span(rng, len(parts), 4)
    times = rng.choice((50, 300, 2000, 10000))
    return "".join(parts[:a] + parts[a:b] * times + parts[b:])


def nesting_mutation(rng, text: str, corpus) -> str:
    """Wrap a name or number in deep brackets, function calls, unary minus or powers."""
    parts = tokens(text)
    atoms = [i for i, t in enumerate(parts) if t[0].isalnum() or t[0] == "_"]
    if not atoms:
        return token_mutation(rng, text, corpus)
    i = rng.choice(atoms)
    depth = rng.choice((20, 100, 500, 3000))
    opener, closer = rng.choice((("(", ")"), ("exp(", ")"), ("-", ""), ("2 ** ", ""), ("log(", ")"),
                                 ("[", "]"), ("E_{q(z|x)}[", "]"), ("abs(", ")"), ("1 + ", ""),
                                 ("(1 * ", ")")))
    parts[i] = opener * depth + parts[i] + closer * depth
    return "".join(parts)


# Number and name mutations mostly keep a program valid, so they are drawn more often: they
# are the ones that reach code generation and import.
MUTATIONS = (character_mutation, token_mutation, token_mutation, line_mutation, number_mutation, number_mutation,
             number_mutation, name_mutation, name_mutation, name_mutation, repetition_mutation, nesting_mutation)


def mutated_case(seed: int, index: int, corpus) -> tuple[str, str, list[str]]:
    """(seed file name, mutated text, names of the mutations applied) of case ``index``."""
    rng = random.Random(f"gmc-mutate:{seed}:{index}")
    name, text = corpus[rng.randrange(len(corpus))]
    applied = []
    for _ in range(rng.choice((1, 1, 1, 1, 2, 2, 3))):
        mutation = rng.choice(MUTATIONS)
        text = mutation(rng, text, corpus)
        applied.append(mutation.__name__)
    return name, text, applied
