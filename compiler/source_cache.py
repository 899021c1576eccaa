"""On-disk cache of generated module source, for the command line's `train` and `sample`.

Generating a module (simplify, derive closed forms, LaTeX, codegen) needs sympy: about a second
of imports and derivations for a VAE, on every `gmc train`. The source depends only on the
program text, its file name, the model name and the compiler itself, so it is cached under a
SHA-256 of all four: the compiler enters as a fingerprint of its own source files (``compiler/``
and ``dsl/``, grammar included), gmc's version and sympy's, so any change to them misses the
cache. Parsing and checking still run on every call; only the generated text is reused, and the
cached module is loaded exactly as a fresh one would be.

Where: ``$GMC_CACHE_DIR``, else ``$XDG_CACHE_HOME/gmc``, else ``~/.cache/gmc``. ``GMC_NO_CACHE=1``
turns it off. A cache that cannot be read or written is skipped silently: it only saves time.
"""
from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable
from importlib import metadata
from pathlib import Path


def cache_dir() -> Path | None:
    """The cache folder, or None when caching is turned off."""
    if os.environ.get("GMC_NO_CACHE"):
        return None
    if os.environ.get("GMC_CACHE_DIR"):
        return Path(os.environ["GMC_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gmc"


@functools.lru_cache(maxsize=1)
def compiler_fingerprint() -> str:
    """SHA-256 over the compiler's source files (path and bytes, in sorted order), gmc's
    version and sympy's version."""
    import gmc
    from gmc import compiler, dsl

    digest = hashlib.sha256()
    for package in (compiler, dsl):
        root = Path(next(iter(package.__path__)))
        for path in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".lark")):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(gmc.__version__.encode() + b"\0" + _version("sympy").encode())
    return digest.hexdigest()


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


def cached_source(text: str, filename: str, name: str | None, generate: Callable[[], str],
                  refresh: bool = False) -> str:
    """The generated source for (``text``, ``filename``, ``name``): read from the cache, or
    made by ``generate()`` and stored (written to a temporary file, then renamed, so a
    concurrent reader never sees half a module). ``refresh``: generate and store even when
    an entry exists (the caller found it damaged)."""
    folder = cache_dir()
    if folder is None:
        return generate()
    # surrogatepass: a file name that is not UTF-8 (os.fsdecode's lone surrogates) still hashes
    key = hashlib.sha256("\0".join((compiler_fingerprint(), filename, name or "", text))
                         .encode("utf-8", "surrogatepass")).hexdigest()
    path = folder / f"{key}.py"
    if not refresh:
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            pass
    source = generate()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f"{key}.{os.getpid()}.tmp"
        partial.write_text(source, encoding="utf-8")
        os.replace(partial, path)
    except OSError:
        pass
    return source
