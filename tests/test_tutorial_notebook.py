"""docs/tutorial.ipynb runs from top to bottom in a fresh kernel (nbclient), and its cells show
what the tutorial says they show: the class's HTML view, its LaTeX, the graph and a figure."""
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.mark.slow  # a fresh kernel importing torch, and three epochs of training
def test_the_tutorial_notebook_executes():
    nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (pip install -e '.[dev]')")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (pip install -e '.[dev]')")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install -e '.[dev]')")
    notebook = nbformat.read(ROOT / "docs" / "tutorial.ipynb", as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "docs")}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    shown = [o.get("data", {}) for o in outputs if o.output_type in ("execute_result", "display_data")]
    assert any("<table>" in d.get("text/html", "") and "<svg" in d["text/html"] for d in shown)  # VAE
    assert any(d.get("text/latex", "").startswith("$$\\begin{array}") for d in shown)  # equations / VAE
    assert any(d.get("image/svg+xml") for d in shown)  # gmc.graph(VAE)
    assert any(d.get("image/png") for d in shown)  # the sampled digits
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "epoch 3: train" in printed and "'x': (16, 64)" in printed
