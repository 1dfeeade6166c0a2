"""The lecture notebooks in a real JupyterLab (headless Chromium, see conftest.py).

Each notebook of ``notebooks/`` is copied into the server's root, opened as it
is stored (its cell tags included), and run with "Run All" on a fresh
python3 kernel.  Then:

* every code cell ran (cells tagged ``raises-exception`` do not stop Run All);
* error output appears exactly in the cells marked ``NBVAL_RAISES_EXCEPTION``,
  and it is a claim's diagnosis, not a Python traceback;
* every ``%%mderive`` output is typeset by MathJax, no raw ``$$`` is left, and
  the Markdown's math is typeset too;
* a screenshot of the whole notebook goes to ``/tmp/nb_<name>.png`` (and in
  screen-sized pieces to ``/tmp/nb_<name>_<k>.png``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
RUN_TIMEOUT_MS = 180_000


def _open_stored(page, lab, lab_server, source: Path):
    """Copy ``source`` into the server's root and open it, alone, as stored."""
    shutil.copy(source, lab_server.root_dir / source.name)
    return lab.open_file_in(page, lab_server, source.name)


def _marked_to_raise(cell) -> bool:
    first = cell.source.lstrip().splitlines()[0] if cell.source.strip() else ""
    return first.strip() == "# NBVAL_RAISES_EXCEPTION" or "raises-exception" in cell.metadata.get("tags", [])


@pytest.mark.parametrize("source", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_renders(page, lab, lab_server, source):
    import nbformat

    stored = nbformat.read(str(source), as_version=4)
    nb = _open_stored(page, lab, lab_server, source)
    assert nb.cell_count() == len(stored.cells)
    nb.run_all(timeout_ms=RUN_TIMEOUT_MS)

    # every code cell ran, past the deliberate failures
    counts = nb.evaluate("nb.content.widgets.map(c => c.model.type === 'code' ? c.model.executionCount : 'md')")
    assert all(c is not None for c in counts), counts

    for i, cell in enumerate(stored.cells):
        if cell.cell_type != "code":
            continue
        out = nb.output(i)
        errors = out.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        if _marked_to_raise(cell):
            assert errors.count() >= 1, f"cell {i} should fail on purpose:\n{cell.source}"
            text = errors.first.inner_text()
            assert "ClaimFailed" in text, text
            assert "Traceback" not in text and "File " not in text, text
        else:
            assert errors.count() == 0, f"cell {i} failed:\n{cell.source}\n{errors.first.inner_text()}"
        if "mderive" in cell.source.split("\n", 1)[0] or _marked_to_raise(cell):
            math = out.locator(".mcm-output mjx-container, .mcm-widget mjx-container")
            math.first.wait_for(state="visible", timeout=60_000)
            assert "$$" not in out.inner_text(), f"cell {i} has untypeset math"

    # the Markdown's math (Markdown cells and Markdown outputs) is typeset as well
    rendered = nb.panel.locator(".jp-RenderedMarkdown")
    with_math = [k for k in range(rendered.count()) if "$" in (rendered.nth(k).inner_text() or "")]
    assert not with_math, f"untypeset math left in Markdown cells {with_math}"
    assert nb.panel.locator(".jp-MarkdownCell mjx-container").count() > 0

    lab.screenshot_notebook(nb, f"/tmp/nb_{source.stem}.png")
    assert not [e for e in nb.page.console_errors if "mathjax" in e.lower()], nb.page.console_errors


@pytest.mark.parametrize("server", ["lab_server", "plain_lab_server"], ids=["extension", "no-extension"])
@pytest.mark.parametrize("source", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_stored_notebook_shows_its_math_before_running(lab, browser, source, server, request):
    """A reader who opens a notebook without running it sees the stored derivations
    typeset, in JupyterLab with and without matcalc_magic's extension."""
    import nbformat

    stored = nbformat.read(str(source), as_version=4)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        _stored_math(lab, page, request.getfixturevalue(server), source, stored, server)
    finally:
        context.close()


def _stored_math(lab, page, lab_server, source, stored, server) -> None:
    nb = _open_stored(page, lab, lab_server, source)
    derivations = [i for i, c in enumerate(stored.cells) if c.cell_type == "code" and "mderive" in c.source]
    for i in derivations:
        out = nb.output(i)
        math = out.locator("mjx-container")
        math.first.wait_for(state="attached", timeout=60_000)
        assert "Error displaying widget" not in out.inner_text() and "$$" not in out.inner_text(), f"cell {i}"
    counts = nb.evaluate("nb.content.widgets.map(c => c.model.type === 'code' ? c.model.executionCount : null)")
    assert [c for c in counts if c is not None], "stored execution counts are shown"
    # a picture of the first cell that keeps a widget, as stored: /tmp/nb_<name>_stored[_plain].png
    widgets = [i for i in derivations if "--no-widget" not in stored.cells[i].source.split("\n", 1)[0]]
    if widgets:
        nb.cell(widgets[0]).evaluate("e => e.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(1000)
        suffix = "" if server == "lab_server" else "_plain"
        page.screenshot(path=f"/tmp/nb_{source.stem}_stored{suffix}.png")
