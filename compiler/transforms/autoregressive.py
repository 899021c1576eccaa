"""Masked autoregressive layers with MADE conditioners: MAF (Papamakarios et al. 2017) scores
data in one pass and samples in D; IAF (Kingma et al. 2016) samples in one pass and has no
cheap inverse. Formulas in ``gmc.runtime.flows.autoregressive``. Options: ``hidden``,
``depth`` (the MADE's width and number of hidden layers)."""
from gmc.compiler.transforms.registry import OptionSpec, TransformSpec, register

_OPTIONS = (OptionSpec("hidden", "int", 64), OptionSpec("depth", "int", 2))

MAF = register(TransformSpec(
    "MAF", "real", "real", False, "Papamakarios et al. 2017, section 3.1; MADE: Germain et al. 2015", min_size=2,
    options=_OPTIONS, runtime_kind="maf", learned=True, latex=r"\mathrm{MAF}"))
IAF = register(TransformSpec(
    "IAF", "real", "real", False, "Kingma et al. 2016, eq. 10-11; MADE: Germain et al. 2015", min_size=2,
    cheap_inverse=False,
    why_no_inverse="an IAF layer inverts only one coordinate per pass (D passes); use MAF to score data",
    options=_OPTIONS, runtime_kind="iaf", learned=True, latex=r"\mathrm{IAF}"))
