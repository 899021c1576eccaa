"""gmc: a compiler for deep generative models."""
__version__ = "0.1.0"
