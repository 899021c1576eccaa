"""gmc: a compiler for deep generative models.

    VAE = gmc.compile_file("examples/vae.gm")   # a torch.nn.Module subclass
    code = gmc.to_python("examples/vae.gm")     # its generated source
    gmc.check("examples/vae.gm")                # warnings; raises gmc.GmcError with located errors
"""
from __future__ import annotations

from pathlib import Path

from gmc.compiler.diagnostics import GmcError

__version__ = "0.1.0"
__all__ = ["GmcError", "check", "compile_file", "compile_source", "display", "equations", "evaluate", "explain",
           "graph", "latex", "mcmc", "mcmc_summary", "to_python", "__version__"]


def check(path: str | Path) -> list:
    """Parse and check a .gm file; raises GmcError listing every error.

    Returns the warnings, a list of :class:`gmc.compiler.diagnostics.Diagnostic` (unused
    declarations; empty for a clean file). ``w.render(source, filename)`` is the transcript
    ``gmc check`` prints; ``w.kind``, ``w.span`` and ``w.message`` are its parts."""
    from gmc.compiler import driver

    return driver.check_source(*driver.read_source(path))[1]


def compile_source(text: str, name: str | None = None, filename: str = "<string>") -> type:
    """Compile .gm source text to a torch.nn.Module subclass (named ``name`` if given)."""
    from gmc.compiler import driver

    return driver.compile_class(text, filename, name)[1]


def compile_file(path: str | Path, name: str | None = None) -> type:
    """Compile a .gm file to a torch.nn.Module subclass."""
    from gmc.compiler import driver

    text, filename = driver.read_source(path)
    return compile_source(text, name, filename)


def to_python(path: str | Path) -> str:
    """The generated module's source text for a .gm file."""
    from gmc.compiler import driver

    return driver.python_source(driver.compile_model(*driver.read_source(path)))


def latex(path: str | Path, derived: bool = False) -> str:
    """LaTeX of a .gm file's factorizations and losses, one equation per line; with
    ``derived=True``, the losses after simplification with closed forms expanded."""
    from gmc.compiler import driver

    model = driver.compile_model(*driver.read_source(path))
    return driver.derived_latex(model) if derived else driver.latex(model)


def explain(path: str | Path) -> str:
    """Each rewrite and closed-form derivation gmc applies to a .gm file, with its source."""
    from gmc.compiler import driver

    return driver.explain(driver.compile_model(*driver.read_source(path)))


def equations(model, loss: str | None = None, *, derived: bool = False):
    """A model's (or one loss's) equations, rendered by Jupyter and matplotlib: see :mod:`gmc.notebook`."""
    from gmc.notebook import equations as build

    return build(model, loss, derived=derived)


def display(model, loss: str | None = None, *, derived: bool = False) -> None:
    """Show a model's (or one loss's) equations as math in Jupyter; print the LaTeX elsewhere."""
    from gmc.notebook import display as show

    show(model, loss, derived=derived)


def graph(model):
    """The graphical model of a .gm path, compiled class or instance (:mod:`gmc.graphical`):
    ``gmc.graph("examples/vae.gm").save("vae.png")``."""
    from gmc.graphical import graph as build

    return build(model)


def mcmc(path=None, data=None, **options):
    """NUTS over a model's global latents: an ``arviz.InferenceData`` (see :func:`gmc.inference.mcmc`)."""
    from gmc import inference

    return inference.mcmc(path, data, **options)


def mcmc_summary(idata) -> str:
    """The stansummary-style table of :func:`mcmc`'s result (mean, sd, R-hat, ESS, divergences)."""
    from gmc import inference

    return inference.summary(idata)


def evaluate(path=None, **options) -> dict:
    """Held-out log p(x) of a trained model by AIS or IWAE (see :func:`gmc.evaluation.evaluate`)."""
    from gmc import evaluation

    return evaluation.evaluate(path, **options)
