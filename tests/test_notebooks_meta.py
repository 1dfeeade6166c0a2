"""Checks on the lecture notebooks themselves (their outputs are compared by nbval).

* the nine notebooks exist, are stored executed from a clean kernel (every code
  cell has outputs, execution counts 1, 2, 3, … in order), and read as lecture
  notes (a title, and more Markdown prose than a caption here and there);
* each has at least its share of ``%%mderive`` cells and of ``claim`` lines;
  the CS224n notebook checks at least ten of the note's formulas;
* no stored output holds a Python traceback or a failed check, except the
  cells marked ``# NBVAL_RAISES_EXCEPTION`` (and tagged ``raises-exception``,
  so "Run All" in JupyterLab goes on past them), whose output is a claim's
  diagnosis;
* the plain derivation files ``notebooks/derivations/*.txt`` run through the
  ``mderive`` command with ``--check`` (exit status 0), and their claims hold.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
DERIVATIONS = sorted((NOTEBOOKS_DIR / "derivations").glob("*.txt"))

#: notebook -> (minimum %%mderive cells, minimum claim lines)
NOTEBOOKS = {
    "01_layouts_from_two_questions.ipynb": (8, 8),
    "02_cs224n_gradients.ipynb": (10, 10),
    "03_ng_deep_learning.ipynb": (5, 15),
    "04_ng_machine_learning.ipynb": (7, 10),
    "05_matrix_cookbook_tour.ipynb": (12, 15),
    "06_cs231n_layers.ipynb": (8, 15),
    "07_word2vec.ipynb": (5, 10),
    "08_attention.ipynb": (5, 12),
    "09_statistics_gradients.ipynb": (8, 12),
}
#: notebooks that keep a live widget (layout toggle, dimension panel)
WITH_WIDGETS = {"01_layouts_from_two_questions.ipynb", "02_cs224n_gradients.ipynb", "03_ng_deep_learning.ipynb"}
#: notebooks with a deliberately false claim
WITH_FALSE_CLAIMS = {"01_layouts_from_two_questions.ipynb", "09_statistics_gradients.ipynb"}

RAISES = "# NBVAL_RAISES_EXCEPTION"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def load(name: str):
    return nbformat.read(str(NOTEBOOKS_DIR / name), as_version=4)


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def magic_line(cell) -> str:
    """The first line that is not a comment."""
    lines = [ln for ln in cell.source.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    return lines[0].lstrip() if lines else ""


def is_mderive(cell) -> bool:
    return magic_line(cell).startswith(("%%mderive", "%mderive"))


def claim_lines(cell) -> list[str]:
    return [ln for ln in re.split(r"[\n;]", cell.source) if ln.strip().startswith("claim ")]


def marked_to_raise(cell) -> bool:
    return cell.source.lstrip().startswith(RAISES)


def output_text(output) -> str:
    """Every piece of text in one stored output."""
    parts = []
    if output.output_type == "stream":
        parts.append(output.text)
    elif output.output_type == "error":
        parts += [output.ename, output.evalue, *output.traceback]
    else:
        for mime, value in output.get("data", {}).items():
            if mime.startswith("text/"):
                parts.append(value if isinstance(value, str) else "".join(value))
    return ANSI.sub("", "\n".join(parts))


params = pytest.mark.parametrize("name", sorted(NOTEBOOKS))


def test_the_notebooks_are_the_nine_and_only_those():
    stored = sorted(p.name for p in NOTEBOOKS_DIR.glob("*.ipynb"))
    assert stored == sorted(NOTEBOOKS)


@params
def test_reads_as_lecture_notes(name):
    nb = load(name)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), "starts with a title"
    prose = [c.source for c in nb.cells if c.cell_type == "markdown"]
    words = sum(len(re.findall(r"[A-Za-z]{2,}", s)) for s in prose)
    assert len(prose) >= 6 and words >= 900, (len(prose), words)
    # most derivations are introduced by prose, not stacked one after another
    kinds = [c.cell_type for c in nb.cells]
    runs = "".join("m" if k == "markdown" else "c" for k in kinds)
    assert "cccc" not in runs, f"four code cells in a row without any explanation: {runs}"
    assert nb.metadata["kernelspec"]["name"] == "python3"


@params
def test_derivations_and_claims(name):
    nb = load(name)
    min_cells, min_claims = NOTEBOOKS[name]
    cells = [c for c in code_cells(nb) if is_mderive(c)]
    claims = [ln for c in cells if not marked_to_raise(c) for ln in claim_lines(c)]
    assert len(cells) >= min_cells, f"{len(cells)} %%mderive cells"
    assert len(claims) >= min_claims, f"{len(claims)} true claims"
    assert code_cells(nb)[0].source.startswith("%load_ext matcalc_magic")


def test_cs224n_checks_at_least_ten_claims():
    nb = load("02_cs224n_gradients.ipynb")
    claims = [ln for c in code_cells(nb) for ln in claim_lines(c)]
    assert len(claims) >= 10
    # the note's own forms of the five gradients are among them
    for form in ("δ1^T h^T", "δ1^T", "δ2^T x^T", "δ2^T", "(δ2 W)^T"):
        assert any(ln.rstrip().endswith("= " + form) for ln in claims), form


@params
def test_stored_outputs_come_from_one_clean_run(name):
    nb = load(name)
    cells = code_cells(nb)
    counts = [c.execution_count for c in cells]
    assert counts == list(range(1, len(cells) + 1)), f"not one clean run in order: {counts}"
    for i, cell in enumerate(cells):
        assert cell.outputs, f"code cell {i} has no stored output:\n{cell.source}"


@params
def test_no_traceback_outside_the_deliberate_failures(name):
    nb = load(name)
    raising = 0
    for cell in code_cells(nb):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        text = "\n".join(output_text(o) for o in cell.outputs)
        assert "Traceback (most recent call last)" not in text, cell.source
        assert "Error displaying widget" not in text
        if marked_to_raise(cell):
            raising += 1
            assert "raises-exception" in cell.metadata.get("tags", []), "tag it so Run All goes on"
            assert [e.ename for e in errors] == ["ClaimFailed"], cell.source
            assert "✗" in text and "derived:" in text
        else:
            assert not errors, f"unexpected error in:\n{cell.source}\n{text}"
            assert "✗" not in text, f"a failed check or claim in:\n{cell.source}\n{text}"
            if is_mderive(cell):
                assert "✓" in text, cell.source
    assert (raising > 0) == (name in WITH_FALSE_CLAIMS)


@params
def test_math_outputs_and_widgets(name):
    nb = load(name)
    widgets = 0
    for cell in code_cells(nb):
        if not is_mderive(cell):
            continue
        data = {}
        for o in cell.outputs:
            data.update(o.get("data", {}))
        assert {"text/plain", "text/latex", "text/html"} <= set(data), cell.source
        assert "$$" in data["text/html"] and "\\begin{aligned}" in data["text/latex"]
        if WIDGET_VIEW in data:
            widgets += 1
        else:
            assert "--no-widget" in magic_line(cell), "a widget only where it helps"
    assert (widgets > 0) == (name in WITH_WIDGETS), widgets


def test_the_derivation_files_exist():
    names = {p.name for p in DERIVATIONS}
    assert "cs224n.txt" in names and len(names) >= 3


@pytest.mark.parametrize("path", DERIVATIONS, ids=[p.name for p in DERIVATIONS])
def test_derivation_file_checks(path):
    proc = subprocess.run([sys.executable, "-m", "matcalc_magic.cli", str(path), "--check"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "✓" in proc.stdout and "✗" not in proc.stdout


def test_cs224n_file_in_every_layout():
    """The README's quick-start command."""
    path = NOTEBOOKS_DIR / "derivations" / "cs224n.txt"
    proc = subprocess.run([sys.executable, "-m", "matcalc_magic.cli", str(path), "--check", "--all-layouts"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for layout in ("numerator", "denominator", "shape", "index", "vec"):
        assert f"[{layout}, " in proc.stdout
    assert proc.stdout.count("✓ max error") == 5


@pytest.mark.parametrize("path", DERIVATIONS, ids=[p.name for p in DERIVATIONS])
def test_derivation_file_claims_hold(path):
    """The command line does not judge claims; the public API does."""
    import matcalc_magic as mm
    from matcalc_magic.claims import check_claims

    derivation = mm.derive(path.read_text(encoding="utf-8"))
    verdicts = check_claims(derivation)
    assert verdicts, "each derivation file states at least one claim"
    assert all(v.ok for v in verdicts), [(v.claim_text, v.diagnosis) for v in verdicts if not v.ok]
