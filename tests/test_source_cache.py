"""The command line's cache of generated source (gmc.compiler.source_cache)."""
from __future__ import annotations

import torch
from gmc.compiler import driver, source_cache

SOURCE = """
var x: real[2]
var z: real[2]
p(z) = Normal(0, 1)
p(x|z) = Normal(z, 0.5)
p(x,z) = p(x|z) p(z)
loss = -mean(log p(x,z))
"""


def _entries(folder):
    return sorted(p.name for p in folder.glob("*.py"))


def test_second_compile_reads_the_stored_source_and_behaves_the_same(tmp_path, monkeypatch):
    monkeypatch.setenv("GMC_CACHE_DIR", str(tmp_path))
    _, fresh = driver.compile_class(SOURCE, "m.gm", cached=True)
    assert len(_entries(tmp_path)) == 1
    calls = []
    monkeypatch.setattr(driver, "python_source", lambda model: calls.append(model) or "broken")
    _, again = driver.compile_class(SOURCE, "m.gm", cached=True)
    assert calls == []  # served from the cache
    x, z = torch.randn(5, 2), torch.randn(5, 2)
    assert torch.equal(fresh().log_prob("p(x,z)", x=x, z=z), again().log_prob("p(x,z)", x=x, z=z))


def test_text_file_name_and_compiler_are_all_in_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("GMC_CACHE_DIR", str(tmp_path))
    driver.compile_class(SOURCE, "m.gm", cached=True)
    driver.compile_class(SOURCE + "# edited\n", "m.gm", cached=True)
    driver.compile_class(SOURCE, "other.gm", cached=True)
    assert len(_entries(tmp_path)) == 3
    monkeypatch.setattr(source_cache, "compiler_fingerprint", lambda: "another compiler")
    driver.compile_class(SOURCE, "m.gm", cached=True)
    assert len(_entries(tmp_path)) == 4


def test_fingerprint_covers_the_compiler_sources():
    fingerprint = source_cache.compiler_fingerprint()
    assert len(fingerprint) == 64 and fingerprint == source_cache.compiler_fingerprint()


def test_damaged_entry_is_made_again(tmp_path, monkeypatch):
    monkeypatch.setenv("GMC_CACHE_DIR", str(tmp_path))
    driver.compile_class(SOURCE, "m.gm", cached=True)
    (entry,) = tmp_path.glob("*.py")
    entry.write_text("def broken(:\n")
    _, cls = driver.compile_class(SOURCE, "m.gm", cached=True)
    assert cls().log_prob("p(z)", z=torch.zeros(1, 2)).shape == (1,)
    assert "def broken" not in entry.read_text()


def test_turned_off_or_unwritable_cache_only_costs_time(tmp_path, monkeypatch):
    monkeypatch.setenv("GMC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GMC_NO_CACHE", "1")
    driver.compile_class(SOURCE, "m.gm", cached=True)
    assert not (tmp_path / "cache").exists()
    monkeypatch.delenv("GMC_NO_CACHE")
    (tmp_path / "cache").write_text("a file where the folder should be")
    _, cls = driver.compile_class(SOURCE, "m.gm", cached=True)
    assert cls().log_prob("p(z)", z=torch.zeros(1, 2)).shape == (1,)


# ---- verification: what runs is what was generated ----------------------------------------

OTHER = SOURCE.replace("Normal(z, 0.5)", "Normal(z, 2.0)")


def _counting(monkeypatch):
    """Count the calls of the code generator (a cache hit makes none)."""
    calls = []
    real = driver.python_source
    monkeypatch.setattr(driver, "python_source", lambda model: calls.append(model) or real(model))
    return calls


def _log_prob(cls):
    return cls().log_prob("p(x,z)", x=torch.ones(1, 2), z=torch.zeros(1, 2))


def test_entries_carry_a_digest_of_key_and_text(tmp_path, monkeypatch):
    monkeypatch.setenv("GMC_CACHE_DIR", str(tmp_path))
    driver.compile_class(SOURCE, "m.gm", cached=True)
    (entry,) = tmp_path.glob("*.py")
    header, body = entry.read_text().split("\n", 1)
    key = entry.stem
    import hashlib

    assert header == "# gmc-cache sha256=" + hashlib.sha256(key.encode() + b"\0" + body.encode()).hexdigest()


def test_tampered_entry_is_regenerated_and_overwritten(tmp_path, monkeypatch):
    monkeypatch.setenv("GMC_CACHE_DIR", str(tmp_path))
    _, fresh = driver.compile_class(SOURCE, "m.gm", cached=True)
    (entry,) = tmp_path.glob("*.py")
    good = entry.read_text()
    entry.write_text(good.replace("0.5", "7.5"))  # still valid Python, silently different numbers
    calls = _counting(monkeypatch)
    _, again = driver.compile_class(SOURCE, "m.gm", cached=True)
    assert len(calls) == 1 and entry.read_text() == good
    assert torch.equal(_log_prob(again), _log_prob(fresh))


def test_another_valid_module_under_the_key_is_regenerated(tmp_path, monkeypatch):
    monkeypatch.setenv("GMC_CACHE_DIR", str(tmp_path))
    _, fresh = driver.compile_class(SOURCE, "m.gm", cached=True)
    (mine,) = tmp_path.glob("*.py")
    good = mine.read_text()
    driver.compile_class(OTHER, "m.gm", cached=True)
    (other,) = [p for p in tmp_path.glob("*.py") if p != mine]
    mine.write_text(other.read_text())  # a whole, correctly digested entry of another program
    calls = _counting(monkeypatch)
    _, again = driver.compile_class(SOURCE, "m.gm", cached=True)
    assert len(calls) == 1 and mine.read_text() == good
    assert torch.equal(_log_prob(again), _log_prob(fresh))


def test_truncated_entry_that_is_still_python_is_regenerated(tmp_path, monkeypatch):
    monkeypatch.setenv("GMC_CACHE_DIR", str(tmp_path))
    driver.compile_class(SOURCE, "m.gm", cached=True)
    (entry,) = tmp_path.glob("*.py")
    good = entry.read_text()
    entry.write_text(good.split("\nclass ")[0] + "\n")  # the imports only: valid Python, no class
    compile(entry.read_text(), "entry", "exec")
    _, cls = driver.compile_class(SOURCE, "m.gm", cached=True)
    assert _log_prob(cls).shape == (1,) and entry.read_text() == good


def test_entry_without_header_is_regenerated(tmp_path, monkeypatch):
    monkeypatch.setenv("GMC_CACHE_DIR", str(tmp_path))
    driver.compile_class(SOURCE, "m.gm", cached=True)
    (entry,) = tmp_path.glob("*.py")
    good = entry.read_text()
    entry.write_text(good.split("\n", 1)[1])
    calls = _counting(monkeypatch)
    driver.compile_class(SOURCE, "m.gm", cached=True)
    assert len(calls) == 1 and entry.read_text() == good


# ---- who may write the folder -------------------------------------------------------------

def test_world_writable_folder_is_not_used(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o777)
    monkeypatch.setenv("GMC_CACHE_DIR", str(folder))
    monkeypatch.setattr(source_cache, "_warned", set())
    calls = _counting(monkeypatch)
    for _ in range(2):
        _, cls = driver.compile_class(SOURCE, "m.gm", cached=True)
        assert _log_prob(cls).shape == (1,)
    assert len(calls) == 2 and list(folder.iterdir()) == []
    warnings = [line for line in capsys.readouterr().err.splitlines() if "source cache" in line]
    assert len(warnings) == 1 and "other users can write" in warnings[0]


def test_group_writable_folder_is_not_used(tmp_path, monkeypatch):
    folder = tmp_path / "group"
    folder.mkdir()
    folder.chmod(0o770)
    monkeypatch.setenv("GMC_CACHE_DIR", str(folder))
    monkeypatch.setattr(source_cache, "_warned", set())
    driver.compile_class(SOURCE, "m.gm", cached=True)
    assert list(folder.iterdir()) == []


def test_folder_of_another_user_is_not_used(tmp_path, monkeypatch, capsys):
    import os

    folder = tmp_path / "theirs"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("GMC_CACHE_DIR", str(folder))
    monkeypatch.setattr(source_cache, "_warned", set())
    monkeypatch.setattr(os, "getuid", lambda: folder.stat().st_uid + 1)  # as seen by another user
    calls = _counting(monkeypatch)
    driver.compile_class(SOURCE, "m.gm", cached=True)
    assert len(calls) == 1 and list(folder.iterdir()) == []
    assert "belongs to another user" in capsys.readouterr().err


def test_new_cache_folder_is_private(tmp_path, monkeypatch):
    folder = tmp_path / "new" / "gmc"
    monkeypatch.setenv("GMC_CACHE_DIR", str(folder))
    driver.compile_class(SOURCE, "m.gm", cached=True)
    assert folder.stat().st_mode & 0o777 == 0o700 and len(_entries(folder)) == 1


# ---- a full disk --------------------------------------------------------------------------

def test_full_disk_leaves_no_temporary_file(tmp_path, monkeypatch):
    import errno
    import os

    real_fdopen = os.fdopen

    def full(fd, *args, **kwargs):
        f = real_fdopen(fd, *args, **kwargs)

        class Full:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                f.close()

            def write(self, data):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return Full()
    monkeypatch.setenv("GMC_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(os, "fdopen", full)
    _, cls = driver.compile_class(SOURCE, "m.gm", cached=True)
    monkeypatch.setattr(os, "fdopen", real_fdopen)
    assert _log_prob(cls).shape == (1,)
    assert list(tmp_path.iterdir()) == []
