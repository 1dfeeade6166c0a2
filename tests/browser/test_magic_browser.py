"""The %%mderive magic in a real JupyterLab (headless Chromium, see conftest.py).

A notebook loads the extension and derives ∂(W x)/∂x; its output must be
typeset by MathJax, and clicking the layout toggle the JupyterLab extension
renders must change it (W in numerator layout, Wᵀ in denominator layout),
with the dimension panel following.  The static output (--no-widget) must be
typeset too, and a false claim must stop "Run All" with its diagnosis and no
Python traceback.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

WX = "W : m x n\nx : n\n∂(W x)/∂x"
LOAD = "%load_ext matcalc_magic"
SCREENSHOT = "/tmp/magic.png"

# the text MathJax exposes for a typeset equation (its assistive MathML)
MATH_TEXT = "el => { const m = el.querySelector('mjx-assistive-mml math'); return m ? m.textContent : null; }"


def derivation(out, layout: str):
    """The typeset result of the given layout inside a cell output."""
    return out.locator(f'.mcm-derivation[data-layout="{layout}"]').first


def typeset(loc, timeout: int = 60_000) -> None:
    loc.locator("mjx-container").first.wait_for(state="visible", timeout=timeout)


def test_math_and_layout_toggle(open_notebook):
    nb = open_notebook([LOAD, "%%mderive --layout numerator\n" + WX])
    nb.run_all()
    out = nb.output(1)
    live = out.locator(".mcm-live")
    live.wait_for(state="visible", timeout=60_000)
    # the live ipywidget beside it is not shown: the extension's renderer does its work
    assert out.locator(".mcm-widget").count() == 0

    # numerator layout: ∂(W x)/∂xᵀ = W, typeset by MathJax
    num = derivation(live, "numerator")
    typeset(num)
    assert num.get_attribute("data-latex") == "\\frac{\\partial \\left(W x\\right)}{\\partial x^{\\top}} = W"
    text = num.evaluate(MATH_TEXT)
    assert text.replace(" ", "").endswith("=W"), text
    assert num.locator("mjx-c.mjx-c22A4").count() == 1  # one ⊤, on x in ∂xᵀ
    assert "m×n" in num.locator(".mcm-shape").inner_text()
    assert "✓ checked numerically (3 random points, tol 1e-6)" in num.locator(".mcm-badge").inner_text()

    # click "denominator": ∂(W x)ᵀ/∂x = Wᵀ
    buttons = live.locator("button.mcm-layout-button")
    buttons.filter(has_text="denominator").click()
    den = derivation(live, "denominator")
    typeset(den)
    assert den.get_attribute("data-latex") == ("\\frac{\\partial \\left(W x\\right)^{\\top}}{\\partial x}"
                                               " = W^{\\top}")
    text = den.evaluate(MATH_TEXT)
    assert text.replace(" ", "").endswith("=W⊤"), text
    assert den.locator("mjx-c.mjx-c22A4").count() == 2  # (W x)ᵀ and Wᵀ
    assert "n×m" in den.locator(".mcm-shape").inner_text()
    assert live.locator('.mcm-derivation[data-layout="numerator"]').count() == 0
    assert buttons.filter(has_text="denominator").get_attribute("aria-pressed") == "true"
    # the dimension panel followed: the result is n×m = 4×3 at the default sizes (m = 3, n = 4)
    assert "4×3" in live.locator(".mcm-subterms .mcm-concrete-shape").first.inner_text()
    # and the output's data: a saved notebook keeps the layout last chosen
    plain = nb.evaluate("nb.content.widgets[1].model.outputs.get(0).data['text/plain']")
    assert "∂(W x)ᵀ/∂x = Wᵀ" in plain
    nb.page.wait_for_timeout(500)  # let MathJax finish laying out before the picture
    live.scroll_into_view_if_needed()
    nb.page.screenshot(path=SCREENSHOT, full_page=True)

    # and back
    buttons.filter(has_text="numerator").click()
    back = derivation(live, "numerator")
    typeset(back)
    assert back.evaluate(MATH_TEXT).replace(" ", "").endswith("=W")


def test_static_output_is_typeset(open_notebook):
    nb = open_notebook([LOAD, "%%mderive --no-widget --layout denominator\n" + WX])
    nb.run_all()
    out = nb.output(1)
    d = derivation(out, "denominator")
    d.wait_for(state="attached", timeout=60_000)
    typeset(d)
    assert out.locator(".mcm-widget, .mcm-live").count() == 0
    assert d.evaluate(MATH_TEXT).replace(" ", "").endswith("=W⊤")
    assert d.get_attribute("data-latex").endswith(" = W^{\\top}")
    # raw "$$" must not be left over anywhere: MathJax took all of it
    assert "$$" not in out.inner_text()


def test_false_claim_stops_run_all_without_a_traceback(open_notebook):
    cells = [LOAD, "%%mderive\nx : n\nW : m x n\ny = W x\nJ = y^T y\n∂J/∂W\nclaim ∂J/∂W = y x^T", "after = 1"]
    nb = open_notebook(cells)
    nb.wait_for_kernel_idle()
    nb.activate()
    nb.command("notebook:run-all-cells")
    error = nb.output(1).locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    error.first.wait_for(state="visible", timeout=90_000)
    nb.wait_for_kernel_idle()
    text = error.first.inner_text()
    assert "ClaimFailed: 1 false claim" in text
    assert "off by a constant factor 2" in text
    assert "Traceback" not in text and "File " not in text
    # the verdict was displayed before the cell failed
    typeset(nb.output(1).locator(".mcm-derivation").first)
    assert "✗ off by a constant factor 2" in nb.output(1).inner_text()
    # Run All stopped: the next cell never ran
    nb.page.wait_for_timeout(1000)
    assert nb.evaluate("nb.content.widgets[2].model.executionCount") is None
