"""Unique Python identifiers that keep the user's names where they can."""
from __future__ import annotations

import builtins
import keyword
import re

#: Names generated code relies on: modules, ``self`` and the builtins it calls.
RESERVED = {"self", "torch", "F", "math", "rt", "n"} | set(dir(builtins))


class Namespace:
    """Hands out identifiers: ``fresh("z")`` is ``z``, then ``z_1``, ``z_2``..."""

    def __init__(self, taken=()):
        self.taken = set(RESERVED) | set(taken)

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
        """Take ``name`` exactly (a method argument); it must be free."""
        assert name not in self.taken or name == "n", name
        self.taken.add(name)
        return name
