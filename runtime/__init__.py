"""What generated modules import: stable primitives, built-in nets, the model base class.

Generated code uses ``from gmc import runtime as rt`` and names only what is exported here.
Exports load on first use (PEP 562), so ``gmc.runtime.errors`` can be imported by the
command line without importing torch.
"""
import importlib

_EXPORTS = {
    "DataError": "errors", "TrainingError": "errors", "UserError": "errors",
    "FactorInfo": "model", "GeneratedModel": "model", "LossInfo": "model",
    "MLP": "nets", "user_net": "nets", "log1pexp": "stable",
    "kumaraswamy_icdf": "sampling", "open_unit": "sampling", "standard_exponential": "sampling",
    "standard_gamma": "sampling", "standard_laplace": "sampling", "standard_logistic": "sampling",
    "sample_beta": "sampling", "standard_student_t": "sampling", "weibull": "sampling",
    "dirichlet": "sampling_discrete", "multinomial_counts": "sampling_discrete",
    "one_hot_categorical": "sampling_discrete", "poisson": "sampling_discrete",
    "relaxed_bernoulli": "sampling_discrete", "relaxed_categorical": "sampling_discrete",
    "log1mexp": "stable", "log_bernoulli": "stable", "bernoulli_nll": "stable", "scaled": "stable", "xmul": "stable", "kl_div": "divergences",
    "lgamma_gap": "divergences",
    "GameInfo": "adversarial", "PlayerInfo": "adversarial",
    "flow_layers": "flows", "planar": "flows",
    "leave_one_out": "estimators", "mmd": "estimators", "renyi_bound": "estimators",
    "chain_log_likelihood": "chains", "chain_posterior_marginals": "chains", "sample_chain": "chains",
    "time_steps": "chains", "GRUCell": "cells", "LSTMCell": "cells",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gmc.runtime' has no attribute '{name}'")
    value = getattr(importlib.import_module(f"gmc.runtime.{module}"), name)
    globals()[name] = value
    return value
