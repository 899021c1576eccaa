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

What is run is verified. Each entry starts with a header line ``# gmc-cache sha256=HEX``, the
SHA-256 of the cache key and the module text after that line. An entry whose digest does not
match (truncated, edited, or another module stored under this key) is generated again and
overwritten. The digest catches damage, not attacks: whoever can write the cache folder can
write a matching digest too. The defence against planted code is that the folder is used only
when it is owned by the current user and not writable by group or others (created with mode
0700); otherwise caching is skipped, with one warning per process on stderr. Temporary files
of a failed write (a full disk) are removed.
"""
from __future__ import annotations

import functools
import hashlib
import os
import stat
import sys
import tempfile
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


_HEADER = "# gmc-cache sha256="


def cached_source(text: str, filename: str, name: str | None, generate: Callable[[], str],
                  refresh: bool = False) -> str:
    """The generated source for (``text``, ``filename``, ``name``): read from the cache when
    its digest verifies, or made by ``generate()`` and stored (written to a temporary file,
    then renamed, so a concurrent reader never sees half a module). ``refresh``: generate and
    store even when an entry exists (the caller found it damaged). The returned text never
    includes the cache's header line."""
    folder = cache_dir()
    if folder is None:
        return generate()
    # surrogatepass: a file name that is not UTF-8 (os.fsdecode's lone surrogates) still hashes
    key = hashlib.sha256("\0".join((compiler_fingerprint(), filename, name or "", text))
                         .encode("utf-8", "surrogatepass")).hexdigest()
    if not _usable(folder):
        return generate()
    path = folder / f"{key}.py"
    if not refresh:
        stored = _read_verified(path, key)
        if stored is not None:
            return stored
    source = generate()
    _store(folder, path, key, source)
    return source


def _digest(key: str, source: str) -> str:
    return hashlib.sha256(key.encode() + b"\0" + source.encode("utf-8")).hexdigest()


def _read_verified(path: Path, key: str) -> str | None:
    """The entry's module text when its header's digest matches, else None."""
    try:
        stored = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    header, newline, body = stored.partition("\n")
    if not newline or not header.startswith(_HEADER) or header[len(_HEADER):] != _digest(key, body):
        return None
    return body


def _store(folder: Path, path: Path, key: str, source: str) -> None:
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{key}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(f"{_HEADER}{_digest(key, source)}\n{source}")
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _usable(folder: Path) -> bool:
    """Create ``folder`` (mode 0700) if needed; True when it is a folder owned by this user and
    not writable by group or others (on systems without ``os.getuid``: when it is a folder)."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode):
        return False
    getuid = getattr(os, "getuid", None)
    if getuid is None:
        return True
    if info.st_uid != getuid():
        _warn_once(folder, "it belongs to another user")
        return False
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        _warn_once(folder, "other users can write to it (chmod go-w fixes that)")
        return False
    return True


_warned: set[str] = set()


def _warn_once(folder: Path, reason: str) -> None:
    if str(folder) not in _warned:
        _warned.add(str(folder))
        print(f"warning: not using the source cache {folder}: {reason}", file=sys.stderr)
