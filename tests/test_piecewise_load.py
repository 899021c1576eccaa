"""Large generated modules are compiled in pieces (gmc.runtime.piecewise): the class must be the
one a single exec gives -- same members, names, line numbers and results."""
import inspect
import math
import sys
import traceback
from pathlib import Path

import pytest
import torch

from gmc.compiler import driver
from gmc.runtime import loader, piecewise

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from chain import chain_gm, joint_signature  # noqa: E402


@pytest.fixture
def small_pieces(monkeypatch):
    monkeypatch.setattr(piecewise, "THRESHOLD", 0)
    monkeypatch.setattr(piecewise, "PIECE_CHARS", 2000)


def _members(cls):
    return {k: v for k, v in vars(cls).items() if k not in ("__module__", "__qualname__", "__doc__", "__init__")}


def test_pieces_give_the_class_one_exec_gives(small_pieces):
    n = 30
    model = driver.compile_model(chain_gm(n))
    source = driver.python_source(model)
    assert len(piecewise._split(source)[3]) > 3  # really in several pieces
    whole = {"__name__": "whole"}
    with pytest.MonkeyPatch.context() as patch:  # one exec of the whole text, as before pieces
        patch.setattr(piecewise, "THRESHOLD", len(source) + 1)
        piecewise.exec_source(source, "<whole>", whole)
    ours = loader.load_class(source, model.name, "chain.gm")
    assert isinstance(vars(ours)["log_p_x3_given_x2"], piecewise._Lazy)  # not compiled until used
    assert inspect.signature(ours.log_p_x3_given_x2).parameters.keys() == {"self", "x3", "x2"}
    assert inspect.isfunction(vars(ours)["log_p_x3_given_x2"])  # replaced by the function itself
    piecewise.load_all(ours)
    reference = whole[model.name]
    assert _members(ours).keys() == _members(reference).keys()
    assert list(vars(ours)) != []
    for name, value in _members(reference).items():
        mine = vars(ours)[name]
        if inspect.isfunction(value):
            assert mine.__qualname__ == value.__qualname__
            assert mine.__code__.co_firstlineno == value.__code__.co_firstlineno
            assert [line for _, _, line in mine.__code__.co_lines()] == [line for _, _, line in value.__code__.co_lines()]
            assert mine.__code__.co_code == value.__code__.co_code
            assert mine.__globals__["__name__"] == ours.__module__
        else:
            assert mine == value
    x = torch.randn(4, n, dtype=torch.float64).cumsum(1)
    values = {f"x{i}": x[:, i] for i in range(n)}
    got = ours().double().log_prob(joint_signature(n), **values)
    want = reference().double().log_prob(joint_signature(n), **values)
    assert torch.equal(got, want)


def test_tracebacks_show_the_generated_line(small_pieces):
    model = driver.compile_model(chain_gm(12))
    cls = loader.load_class(driver.python_source(model), model.name, "chain.gm")
    with pytest.raises(TypeError) as info:
        cls().log_p_x5_given_x4("not a tensor", torch.zeros(3))
    frame = traceback.extract_tb(info.tb)[-1]
    assert frame.name == "log_p_x5_given_x4" and "x5" in frame.line


def test_a_layout_the_split_cannot_take_falls_back_to_one_exec(small_pieces):
    # a string over several lines: its lines could look like members
    source = ('import math\n\n\nclass M:\n    K = """\n    def f(self):\n"""\n\n    def g(self):\n'
              '        return math.pi\n')
    assert piecewise._split(source) is None
    namespace = {"__name__": "generated"}
    piecewise.exec_source(source, "<m>", namespace)
    assert namespace["M"]().g() == 3.141592653589793 and "def f" in namespace["M"].K
    assert isinstance(vars(namespace["M"])["g"], type(lambda: 0))


def test_members_read_through_a_subclass_and_as_class_attributes(small_pieces):
    source = "import math\n\n\nclass M:\n    K = {'a': 1}\n\n    def f(self, k=2.0):\n        return k * math.pi\n"
    namespace = {"__name__": "generated"}
    piecewise.exec_source(source, "<m>", namespace)

    class Sub(namespace["M"]):
        pass

    assert Sub().f() == 2.0 * math.pi and Sub.K == {"a": 1} and namespace["M"].f.__qualname__ == "M.f"
