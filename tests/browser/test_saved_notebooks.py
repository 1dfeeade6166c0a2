"""Derivations in saved notebooks, with and without a kernel, in every front end.

One notebook is run in JupyterLab, its layout switched to *denominator* with
the toggle the extension renders, saved, and its kernel shut down.  Then:

* reopened in JupyterLab with no kernel, every ``%%mderive`` output is typeset
  in the layout last chosen, nothing says "model not found", and the toggle
  still switches ``Wᵀ`` back to ``W`` and updates the dimension panel;
* the same file in Notebook 7, and in JupyterLab without the extension (the
  static output, in the layout last chosen; the live widget's output hidden);
* a kernel restart in a live session leaves every derivation in place;
* without the extension, the live widget's toggle re-publishes the output;
* ``jupyter nbconvert --to html`` of the saved notebook (and of notebook 02)
  shows every derivation, typeset, in the layout last chosen;
* an untrusted notebook shows the ✓ and the claim borders in their colours;
* a long claim scrolls inside its own box instead of widening the notebook.

Screenshots: ``$MATCALC_SCREENSHOT_DIR`` (default: the test's tmp dir)
``reopened_lab.png``, ``reopened_notebook7.png``, ``reopened_plain_lab.png``,
``export_saved.png``, ``export_02.png``, ``untrusted_*.png``, ``long_claim.png``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from cells import CS224N as CS224N_CELL

pytestmark = pytest.mark.browser

SAVED = "saved_derivations.ipynb"
LOAD = "%load_ext matcalc_magic"
WX = "%%mderive --layout numerator\nW : m x n\nx : n\n∂(W x)/∂x\nclaim ∂(W x)/∂x = W"
# the CS224n network with the note's δ₁, claimed as the note writes it
CS224N = "%%mderive\n" + CS224N_CELL + "δ1 = (ŷ - y)^T\nclaim ∂J/∂U = δ1^T h^T"
STATIC = "%%mderive --no-widget\nx : n\nA : n x n\n∂(x^T A x)/∂x\nclaim ∂(x^T A x)/∂x = (A + A^T) x"
CELLS = [("markdown", "# Saved derivations"), LOAD, WX, CS224N, STATIC]
DERIVATION_CELLS = (2, 3, 4)
LONG_CLAIM = """%%mderive --no-widget
X : n x m
W1 : h x n
b1 : h
W2 : 1 x h
b2 : scalar
Y : 1 x m
Z1 = W1 X + b1
A1 = tanh(Z1)
Z2 = W2 A1 + b2
A2 = sigmoid(Z2)
J = -(1/m) * sum(Y * log(A2) + (1 - Y) * log(1 - A2))
∂J/∂W1
claim ∂J/∂W1 = (1/m) * np.dot(np.dot(W2.T, sigmoid(np.dot(W2, np.tanh(np.dot(W1, X) + b1)) + b2) - Y) * (1 - np.power(np.tanh(np.dot(W1, X) + b1), 2)), X.T)"""

LECTURE_02 = Path(__file__).resolve().parents[2] / "notebooks" / "02_cs224n_gradients.ipynb"
#: MathJax 3 from the extension's node_modules: the exported pages are typeset offline
MATHJAX = Path(__file__).resolve().parents[2] / "labextension" / "node_modules" / "mathjax" / "es5" / "tex-svg-full.js"

# the text MathJax exposes for a typeset equation (its assistive MathML)
MATH_TEXT = "el => { const m = el.querySelector('mjx-assistive-mml math'); return m ? m.textContent : null; }"
TIMEOUT_MS = 60_000


def shot(tmp_path: Path, name: str) -> str:
    return str(Path(os.environ.get("MATCALC_SCREENSHOT_DIR", tmp_path)) / name)


def math_of(locator) -> str:
    """The typeset text of the first equation in ``locator``, spaces removed."""
    math = locator.locator("mjx-container").first
    math.wait_for(state="visible", timeout=TIMEOUT_MS)
    return (math.evaluate(MATH_TEXT) or "").replace(" ", "")


def no_model_not_found(page) -> None:
    text = page.locator("body").inner_text()
    assert "model not found" not in text and "Error displaying widget" not in text, text[:2000]


def every_derivation_typeset(nb) -> None:
    for i in DERIVATION_CELLS:
        out = nb.output(i)
        out.locator(".mcm-derivation mjx-container").first.wait_for(state="visible", timeout=TIMEOUT_MS)
        assert "$$" not in out.inner_text(), f"cell {i} has untypeset math"


def denominator_shown(out) -> None:
    """∂(W x)/∂x in the denominator layout: Wᵀ, n×m."""
    d = out.locator('.mcm-derivation[data-layout="denominator"]').first
    assert math_of(d).endswith("=W⊤"), math_of(d)
    assert "n×m" in d.locator(".mcm-shape").inner_text()


def open_in(lab, browser, server, name: str):
    """A new page of its own showing the notebook ``name`` of ``server``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.console_errors = []
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    return context, lab.open_file_in(page, server, name)


def shut_down_kernel(nb) -> None:
    """Shut the notebook's kernel down (once the one JupyterLab starts on opening is up)."""
    nb.wait_for_kernel_idle()
    nb.page.evaluate(
        """id => { const nb = [...window.jupyterapp.shell.widgets('main')].find(w => w.id === id);
                   return nb.sessionContext.shutdown(); }""", nb.widget_id)
    nb.wait_for("!nb.sessionContext.session")


@pytest.fixture(scope="module")
def saved(lab, browser, lab_server) -> str:
    """The notebook run in JupyterLab, switched to the denominator layout
    with the extension's toggle, saved, and its kernel shut down."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        nb = lab.open_notebook_in(page, lab_server, CELLS, SAVED)
        nb.run_all()
        every_derivation_typeset(nb)
        out = nb.output(2)
        # the extension renders the derivation with its toggle; the live widget's output is hidden
        out.locator(".mcm-live").wait_for(state="visible", timeout=TIMEOUT_MS)
        assert out.locator(".jp-OutputArea-child").count() == 2
        assert out.locator(".jp-OutputArea-child:visible").count() == 1
        out.locator('.mcm-live button[data-layout="denominator"]').click()
        denominator_shown(out)
        nb.command("docmanager:save")
        nb.wait_for("!nb.context.model.dirty && !nb.context.isDisposed")
        shut_down_kernel(nb)
    finally:
        context.close()
    return SAVED


def test_saved_file_keeps_the_derivation_in_the_layout_last_chosen(saved, lab_server):
    import nbformat

    nb = nbformat.read(str(lab_server.root_dir / saved), as_version=4)
    for i in DERIVATION_CELLS:
        # the server extension left the live widget out; the derivation is what the file keeps
        (output,) = nb.cells[i].outputs
        assert "application/vnd.jupyter.widget-view+json" not in output.data
    derivation = nb.cells[2].outputs[0].data
    assert derivation["application/vnd.matcalc.derivation+json"]["layout"] == "denominator"
    assert "∂(W x)ᵀ/∂x = Wᵀ" in derivation["text/plain"]
    assert "W^{\\top}" in derivation["text/html"] and "W^{\\top}" in derivation["text/latex"]


def test_reopened_without_a_kernel(lab, saved, browser, lab_server, tmp_path):
    context, nb = open_in(lab, browser, lab_server, saved)
    try:
        shut_down_kernel(nb)  # the reader opens it with no kernel running
        every_derivation_typeset(nb)
        no_model_not_found(nb.page)
        out = nb.output(2)
        denominator_shown(out)  # the layout last chosen
        # the claim as written, and the δ₁ of the CS224n cell as the user wrote it
        claim = nb.output(3).locator(".mcm-claim").first
        assert math_of(claim).endswith("=δ1⊤h⊤"), math_of(claim)
        # the toggle works with no kernel: back to the numerator layout
        out.locator('.mcm-live button[data-layout="numerator"]').click()
        num = out.locator('.mcm-derivation[data-layout="numerator"]').first
        assert math_of(num).endswith("=W"), math_of(num)
        assert "m×n" in num.locator(".mcm-shape").inner_text()
        assert out.locator('.mcm-live button[data-layout="numerator"]').get_attribute("aria-pressed") == "true"
        # the dimension panel follows the layout and the sliders, still with no kernel
        terms = out.locator(".mcm-subterms")
        assert terms.locator(".mcm-sym-shape").first.inner_text() == "m×n"
        assert terms.locator(".mcm-concrete-shape").first.inner_text() == "3×4"
        out.locator('.mcm-live-sizes input[data-size="m"]').fill("7")
        assert terms.locator(".mcm-concrete-shape").first.inner_text() == "7×4"
        assert nb.evaluate("!nb.sessionContext.session")
        # the output's data follows, so saving again keeps the numerator layout
        plain = nb.evaluate("nb.content.widgets[2].model.outputs.get(0).data['text/plain']")
        assert "∂(W x)/∂xᵀ = W" in plain
        lab.screenshot_notebook(nb, shot(tmp_path, "reopened_lab.png"))
    finally:
        context.close()


def test_reopened_in_notebook_7(lab, saved, browser, notebook_server, tmp_path):
    context, nb = open_in(lab, browser, notebook_server, saved)
    try:
        every_derivation_typeset(nb)
        no_model_not_found(nb.page)
        out = nb.output(2)
        denominator_shown(out)
        out.locator('.mcm-live button[data-layout="numerator"]').click()
        assert math_of(out.locator('.mcm-derivation[data-layout="numerator"]')).endswith("=W")
        lab.screenshot_notebook(nb, shot(tmp_path, "reopened_notebook7.png"))
    finally:
        context.close()


def test_reopened_without_the_extension(lab, saved, browser, plain_lab_server, tmp_path):
    context, nb = open_in(lab, browser, plain_lab_server, saved)
    try:
        every_derivation_typeset(nb)
        no_model_not_found(nb.page)
        out = nb.output(2)
        assert out.locator(".mcm-live").count() == 0  # the static output, not the extension's
        denominator_shown(out)
        assert out.locator(".jp-OutputArea-child:visible").count() == 1  # the widget's output is hidden
        lab.screenshot_notebook(nb, shot(tmp_path, "reopened_plain_lab.png"))
    finally:
        context.close()


def test_kernel_restart_keeps_every_derivation(open_notebook):
    nb = open_notebook(CELLS)
    nb.run_all()
    every_derivation_typeset(nb)
    nb.page.evaluate(
        """id => [...window.jupyterapp.shell.widgets('main')].find(w => w.id === id)
                  .sessionContext.session.kernel.restart()""", nb.widget_id)
    nb.wait_for_kernel_idle()
    every_derivation_typeset(nb)
    no_model_not_found(nb.page)
    out = nb.output(2)
    out.locator('.mcm-live button[data-layout="denominator"]').click()
    denominator_shown(out)


def test_without_the_extension_the_live_widget_switches_the_output(lab, browser, plain_lab_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        nb = lab.open_notebook_in(page, plain_lab_server, [LOAD, WX], "live_widget.ipynb")
        nb.run_all()
        out = nb.output(1)
        num = out.locator('.mcm-derivation[data-layout="numerator"]').first
        assert math_of(num).endswith("=W")
        widget = out.locator(".mcm-widget")
        widget.wait_for(state="visible", timeout=TIMEOUT_MS)
        widget.locator("button.widget-toggle-button").filter(has_text="denominator").click()
        denominator_shown(out)  # the widget re-published the derivation's output
        assert out.locator('.mcm-derivation[data-layout="numerator"]').count() == 0
        # its dimension panel followed: the result is n×m = 4×3 at the default sizes
        assert "4×3" in widget.locator(".mcm-subterms .mcm-concrete-shape").first.inner_text()
    finally:
        context.close()


@pytest.mark.parametrize("which", ["saved", "02"])
def test_html_export(which, saved, browser, lab_server, tmp_path):
    import subprocess

    source = lab_server.root_dir / saved if which == "saved" else LECTURE_02
    options = [f"--HTMLExporter.mathjax_url={MATHJAX.as_uri()}"] if MATHJAX.exists() else []
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", "--output-dir", str(tmp_path),
                    *options, str(source)], check=True, capture_output=True, timeout=300)
    page_html = (tmp_path / (source.stem + ".html")).read_text(encoding="utf-8")
    assert "model not found" not in page_html
    if which == "saved":  # the layout last chosen, and the claims as written
        assert "$$\\frac{\\partial \\left(W x\\right)^{\\top}}{\\partial x} = W^{\\top}$$" in page_html
        assert "\\delta_{1}^{\\top} h^{\\top}" in page_html
    if not MATHJAX.exists():
        pytest.skip("no local MathJax (jlpm install in labextension/) to typeset the page offline")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto((tmp_path / (source.stem + ".html")).as_uri())
        results = page.locator(".mcm-derivation")
        assert results.count() == page_html.count('class="mcm-derivation"') > 0
        for k in range(results.count()):
            results.nth(k).locator("mjx-container").first.wait_for(state="attached", timeout=TIMEOUT_MS)
        if which == "saved":
            d = page.locator('.mcm-derivation[data-layout="denominator"]').first
            assert math_of(d).endswith("=W⊤"), math_of(d)
        path = shot(tmp_path, f"export_{which}.png")
        page.screenshot(path=path, full_page=True)
        height = page.evaluate("document.documentElement.scrollHeight")
        for k, top in enumerate(range(0, height, 1200), start=1):  # and screen by screen
            page.screenshot(path=path.replace(".png", f"_{k}.png"), full_page=True,
                            clip={"x": 0, "y": top, "width": 1280, "height": min(1200, height - top)})
    finally:
        context.close()


def _untrusted(lab, server_root: Path, name: str, cells) -> None:
    """A notebook executed outside any server (nbclient), so never signed:
    the notebook a student downloads, before they run it."""
    import nbformat
    from nbclient import NotebookClient

    nb = lab.make_notebook(cells)
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    nbformat.write(nb, str(server_root / name))


@pytest.mark.parametrize("server", ["lab_server", "plain_lab_server"])
def test_untrusted_notebook_keeps_its_colours(lab, server, request, browser, server_root, tmp_path):
    name = f"untrusted_{server}.ipynb"
    _untrusted(lab, server_root, name, CELLS)
    context, nb = open_in(lab, browser, request.getfixturevalue(server), name)
    try:
        every_derivation_typeset(nb)
        assert nb.evaluate("nb.content.widgets[2].model.trusted") is False
        page = nb.page
        success = page.evaluate("""() => { const p = document.createElement('span');
            p.style.color = 'var(--jp-success-color1)'; document.body.appendChild(p);
            const c = getComputedStyle(p).color; p.remove(); return c; }""")
        wanted = {success, "rgb(26, 127, 55)"}  # the theme's success colour, or the plain one the sanitizer keeps
        text = page.evaluate("() => getComputedStyle(document.body).color")
        for i in DERIVATION_CELLS:
            out = nb.output(i)
            badge = out.locator(".mcm-derivation .mcm-badge.mcm-ok").first
            assert "✓" in badge.inner_text()
            assert badge.evaluate("e => getComputedStyle(e).color") in wanted - {text}
            claim = out.locator(".mcm-claim.mcm-ok").first
            assert claim.evaluate("e => getComputedStyle(e).borderLeftColor") in wanted
            assert claim.evaluate("e => getComputedStyle(e).borderLeftWidth") == "3px"
        page.screenshot(path=shot(tmp_path, f"untrusted_{server}.png"), full_page=True)
    finally:
        context.close()


def test_long_claim_scrolls_in_its_own_box(open_notebook, tmp_path):
    nb = open_notebook([LOAD, LONG_CLAIM])
    nb.run_all()
    out = nb.output(1)
    box = out.locator(".mcm-claim .mcm-math").first
    box.locator("mjx-container").first.wait_for(state="visible", timeout=TIMEOUT_MS)
    # the equation is wider than the notebook, and scrolls inside its box …
    widths = box.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert widths[0] > widths[1], widths
    # … which, like every part of the output, stays within the cell
    cell_right = nb.cell(1).evaluate("e => e.getBoundingClientRect().right")
    rights = out.locator(".mcm-output *").evaluate_all(
        "els => els.filter(e => !e.closest('mjx-container')).map(e => e.getBoundingClientRect().right)")
    assert max(rights) <= cell_right + 1, (max(rights), cell_right)
    assert nb.panel.evaluate("e => e.querySelector('.jp-WindowedPanel-outer, .jp-Notebook').scrollWidth"
                             " <= e.querySelector('.jp-WindowedPanel-outer, .jp-Notebook').clientWidth")
    nb.page.screenshot(path=shot(tmp_path, "long_claim.png"), full_page=True)
