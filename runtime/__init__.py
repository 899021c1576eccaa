"""What generated modules import: stable primitives, built-in nets, the model base class.

Generated code uses ``from gmc import runtime as rt`` and names only what is exported here.
Training, data loading and images live in submodules imported on demand.
"""
from gmc.runtime.errors import DataError, TrainingError, UserError
from gmc.runtime.model import FactorInfo, GeneratedModel, LossInfo
from gmc.runtime.nets import MLP, user_net
from gmc.runtime.stable import log1pexp

__all__ = ["DataError", "FactorInfo", "GeneratedModel", "LossInfo", "MLP", "TrainingError", "UserError",
           "log1pexp", "user_net"]
