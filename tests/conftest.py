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
