"""Every source folder is a package listed in pyproject.toml, so a non-editable install has it."""
import pathlib
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_every_package_folder_is_listed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {pathlib.Path(path) for path in config["package-dir"].values()}
    found = {init.parent.relative_to(ROOT) for top in ("gmc", "dsl", "compiler", "runtime")
             for init in (ROOT / top).rglob("__init__.py")}
    assert found == folders
    assert set(config["packages"]) == set(config["package-dir"])
