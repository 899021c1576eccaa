"""Compare output with a golden file, or rewrite it under ``pytest --update-golden``."""
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"
ROOT = Path(__file__).parent.parent


def assert_golden(actual: str, path: Path, update: bool) -> None:
    if update or not path.exists():
        if not update:
            raise AssertionError(f"missing golden file {path}; run pytest --update-golden and review it")
        path.write_text(actual, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"output differs from {path.relative_to(ROOT)}; run pytest --update-golden to accept"
