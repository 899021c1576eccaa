"""Unique Python identifiers that keep the user's names where they can."""
from __future__ import annotations

import builtins
import keyword
import re

from gmc.compiler.names import GENERATED_NAMES, SAMPLE_COUNT

#: Names a fresh local never takes: the generated code's own names and every builtin.
RESERVED = GENERATED_NAMES | {SAMPLE_COUNT} | set(dir(builtins))


class Namespace:
    """Hands out identifiers: ``fresh("z")`` is ``z``, then ``z_1``, ``z_2``..."""

    def __init__(self, taken=()):
        self.taken = set(RESERVED) | set(taken)
        self.claimed: set[str] = set()

    def fresh(self, base: str) -> str:
        base = re.sub(r"\W+", "_", base).strip("_") or "v"
        if base[0].isdigit():
            base = "v_" + base
        if keyword.iskeyword(base):
            base += "_"
        name, i = base, 0
        while name in self.taken:
            i += 1
            name = f"{base}_{i}"
        self.taken.add(name)
        return name

    def claim(self, name: str) -> str:
        """Take ``name`` exactly (a method argument). The checks of :mod:`gmc.compiler.names`
        keep keywords and the generated code's own names out; a builtin the generated code
        never calls (``input``) may be shadowed. ``n`` is a variable or the sample count."""
        assert name == SAMPLE_COUNT or (name not in self.claimed and name not in GENERATED_NAMES
                               and not keyword.iskeyword(name)), name
        self.claimed.add(name)
        self.taken.add(name)
        return name
