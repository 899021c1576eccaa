"""examples/hmm_nile.gm on statsmodels' Nile series: gmc's exact log-likelihood (forward
algorithm) and forward-backward marginals equal hmmlearn's GaussianHMM with the same
parameters, in float64, to 1e-8 (no fitting here: fixed parameters near the fitted ones)."""
import importlib.util
import math
from pathlib import Path

import pytest
import torch

import gmc

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("statsmodels.datasets.nile")
pytest.importorskip("hmmlearn.hmm")


def _example():
    spec = importlib.util.spec_from_file_location("hmm_nile", ROOT / "examples" / "hmm_nile.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_nile_log_likelihood_and_marginals_equal_hmmlearn():
    example = _example()
    years, volume = example.nile()
    assert len(volume) == 100 and years[0] == 1871 and years[-1] == 1970
    mean, sd = float(volume.mean()), float(volume.std())
    x = torch.as_tensor((volume - mean) / sd)[None]
    model = gmc.compile_file(ROOT / "examples" / "hmm_nile.gm")().double()
    with torch.no_grad():
        model.init_logits.copy_(torch.tensor([2.0, -1.0]))
        model.trans_logits.copy_(torch.tensor([[3.0, -0.5], [-4.0, 4.0]]))
        model.mu.copy_(torch.tensor([1.2, -0.5]))
        model.log_sd.copy_(torch.tensor([-0.3, -0.4]))
        ours = float(model.log_prob("p(x)", x=x)[0]) - len(volume) * math.log(sd)  # volume's units
        marginals = model.posterior_marginals("p(x)", x=x)[0]
    theirs = example.hmmlearn_model(model, mean, sd)
    reference = theirs.score(volume[:, None])
    assert abs(ours - reference) < 1e-8 * abs(reference)
    assert float((marginals - torch.as_tensor(theirs.predict_proba(volume[:, None]))).abs().max()) < 1e-8
    # the two regimes, as the parameters put them: high flow first, low flow after 1899
    assert marginals[: list(years).index(1890), 0].min() > 0.5 and marginals[list(years).index(1910):, 1].min() > 0.5
