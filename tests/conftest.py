import pytest


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden expectations from the current output (review the diff)")


@pytest.fixture
def update_golden(request) -> bool:
    return request.config.getoption("--update-golden")


@pytest.fixture
def float64():
    """Every tensor of a test is float64; the default dtype is restored afterwards so that
    other modules keep float32. Modules opt in with ``pytestmark = pytest.mark.usefixtures("float64")``."""
    import torch

    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


@pytest.fixture(autouse=True, scope="session")
def _source_cache_of_this_session(tmp_path_factory):
    """The command line's generated-source cache (gmc.compiler.source_cache) goes to a folder
    of this test session, not the user's ~/.cache/gmc; subprocesses inherit it."""
    import os

    previous = os.environ.get("GMC_CACHE_DIR")
    os.environ["GMC_CACHE_DIR"] = str(tmp_path_factory.mktemp("gmc-cache"))
    yield
    if previous is None:
        os.environ.pop("GMC_CACHE_DIR", None)
    else:
        os.environ["GMC_CACHE_DIR"] = previous
