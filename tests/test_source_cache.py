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
