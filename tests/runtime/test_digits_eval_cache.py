"""gmc.runtime.digits_eval keeps its trained classifier in gmc's cache folder: a later process
loads the same weights instead of training again; a damaged entry is trained again."""
import pytest
import torch

from gmc.runtime import digits_eval


@pytest.fixture
def counted_training(monkeypatch, tmp_path):
    """The real recipe's cost is avoided: training sets every parameter to the call's number."""
    calls = []

    def fake_train(net, data):
        calls.append(1)
        with torch.no_grad():
            for p in net.parameters():
                p.fill_(0.01 * len(calls))

    monkeypatch.setattr(digits_eval, "_train", fake_train)
    monkeypatch.setenv("GMC_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("GMC_NO_CACHE", raising=False)
    digits_eval.classifier.cache_clear()
    yield calls
    digits_eval.classifier.cache_clear()


def _fresh_process_classifier():
    digits_eval.classifier.cache_clear()  # what a new process starts with
    return digits_eval.classifier()


def test_the_second_process_loads_the_cached_classifier(counted_training, tmp_path):
    first, accuracy = _fresh_process_classifier()
    (entry,) = tmp_path.glob("digits_classifier_*.pt")
    second, cached_accuracy = _fresh_process_classifier()
    assert counted_training == [1]  # trained once
    assert second is not first and not second.training
    for a, b in zip(first.state_dict().values(), second.state_dict().values()):
        assert torch.equal(a, b)
    assert cached_accuracy == accuracy
    entry.write_bytes(b"not a torch file")
    damaged, _ = _fresh_process_classifier()
    assert counted_training == [1, 1]  # trained again, the entry rewritten
    assert float(damaged[0].weight[0, 0].detach()) == pytest.approx(0.02)
    assert torch.equal(_fresh_process_classifier()[0][0].weight, damaged[0].weight) and len(counted_training) == 2


def test_no_cache_trains_every_process(counted_training, tmp_path, monkeypatch):
    monkeypatch.setenv("GMC_NO_CACHE", "1")
    _fresh_process_classifier()
    _fresh_process_classifier()
    assert counted_training == [1, 1] and not list(tmp_path.iterdir())
