"""The lecture notebooks exported with ``jupyter nbconvert --to html``.

What nbconvert writes is what nbviewer and most readers of a shared notebook
see.  Each derivation is derived again from its cell's text, through the
public API, and every result's and every claim's LaTeX must stand in the
exported page as display math for MathJax to typeset (``$$…$$``, escaped as
HTML), in the cell's layout, beside its shape and check badge — never a
widget placeholder in its stead.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest
from IPython.core.magic_arguments import parse_argstring

import matcalc_magic as mm
from matcalc_magic.claims import check_claims
from matcalc_magic.display import fix_latex
from matcalc_magic.magics import MatcalcMagics, _split_options

nbformat = pytest.importorskip("nbformat")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def derivation_cells(nb):
    """(layout, derivation text) of every %%mderive / %mderive cell."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        lines = cell.source.splitlines()
        first = next((k for k, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")), None)
        if first is None or not lines[first].startswith(("%%mderive", "%mderive")):
            continue
        magic, _, line = lines[first].partition(" ")
        options, rest = _split_options(line)
        layout = parse_argstring(MatcalcMagics.mderive, options).layout or "shape"
        text = "\n".join(lines[first + 1:]) if magic == "%%mderive" else rest.replace(";", "\n")
        yield layout, text


def display_math(latex: str) -> str:
    return "$$" + html.escape(fix_latex(latex), quote=False) + "$$"


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict:
    """Notebook name → its page, from the command line as a user runs it."""
    out = tmp_path_factory.mktemp("html")
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", "--output-dir", str(out),
                    *map(str, NOTEBOOKS)], check=True, capture_output=True, timeout=600)
    return {p.name: (out / (p.stem + ".html")).read_text(encoding="utf-8") for p in NOTEBOOKS}


@pytest.mark.parametrize("source", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_derivation_is_in_the_exported_page(source, exported):
    page = exported[source.name]
    nb = nbformat.read(str(source), as_version=4)
    cells = list(derivation_cells(nb))
    assert cells, "a lecture notebook derives something"
    results = claims = 0
    for layout, text in cells:
        d = mm.derive(text, layout)
        for r in d:
            view = r.view(layout)
            assert display_math(view.latex) in page, f"{source.name}: {r.request.text} ({layout}) not exported"
            results += 1
        for v in check_claims(d, layout):
            assert display_math(v.claim_latex) in page, f"{source.name}: {v.claim_text} not exported"
            claims += 1
    # each result with its shape and badge, as the notebook shows it; no widget stands in for one
    assert page.count('class="mcm-derivation"') == results
    assert len(re.findall(r'class="mcm-claim mcm-(ok|failed)"', page)) == claims
    assert page.count("✓ checked numerically") >= results
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            assert "application/vnd.jupyter.widget-view+json" not in data or \
                "application/vnd.matcalc.widget+json" in data, "a derivation inside a widget's output"
