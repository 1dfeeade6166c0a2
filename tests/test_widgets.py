"""The derivation widget, headless: state set as a front end would set it.

``toggle.set_state({"index": …})`` is what a browser sends when a button is
clicked; the derivation's own output (``w.shown``, which the widget
re-publishes) and the widget's dimension panel must follow, without the
engine differentiating or checking again.
"""

from __future__ import annotations

import html
import re

import numpy as np
import pytest
from cells import CS224N as CS224N_CELL

import matcalc_magic as mm
import matcalc_magic.calculus.derivative as derivative_module
from matcalc_magic import api
from matcalc_magic import claims as claims_module
from matcalc_magic.display import Binding, CellOutput
from matcalc_magic.payload import default_sizes
from matcalc_magic.widgets import PLAIN, DerivationWidget

WX = "W : m x n\nx : n\n∂(W x)/∂x\n"
CS224N = CS224N_CELL + "claim ∂J/∂W = ((U^T (ŷ - y)) ⊙ relu'(z)) x^T\n"
LAYOUT_INDEX = {name: i for i, name in enumerate(mm.LAYOUTS)}


def make(text: str, layout: str = "shape", binding: Binding | None = None, check: bool = True, **kw):
    d = mm.derive(text, layout)
    checks = [r.check() for r in d] if check else None
    out = CellOutput(d, layout, checks=checks, claims=claims_module.gather(d), binding=binding, **kw)
    return DerivationWidget(out)


@pytest.fixture
def engine_calls(monkeypatch):
    """Counts every call into the engine that would derive or check again."""
    calls = {"derive_one": 0, "check": 0, "gather": 0, "derive": 0}

    def counting(name, original):
        def wrapper(*a, **k):
            calls[name] += 1
            return original(*a, **k)
        return wrapper

    monkeypatch.setattr(derivative_module, "derive_one", counting("derive_one", derivative_module.derive_one))
    monkeypatch.setattr(api.Result, "check", counting("check", api.Result.check))
    monkeypatch.setattr(claims_module, "gather", counting("gather", claims_module.gather))
    monkeypatch.setattr(api, "derive", counting("derive", api.derive))
    return calls


def reset(calls: dict) -> None:
    for k in calls:
        calls[k] = 0


NONE = {"derive_one": 0, "check": 0, "gather": 0, "derive": 0}


def click(w: DerivationWidget, layout: str) -> None:
    """What the front end sends when a toggle button is clicked."""
    w.toggle.set_state({"index": LAYOUT_INDEX[layout]})


def page(w: DerivationWidget) -> str:
    """The HTML the derivation's output shows now."""
    return w.shown.bundle()["text/html"]


def results(w: DerivationWidget) -> list[str]:
    """The HTML of each result in the derivation's output, in order."""
    return re.findall(r'<div class="mcm-derivation".*?</span></div></div>', page(w))


SECTIONS = ('<div class="mcm-header"', '<div class="mcm-derivation"', '<div class="mcm-claims"',
            '<div class="mcm-steps"', '<pre class="mcm-code"')


def section(w: DerivationWidget, cls: str) -> str:
    """One part of the output: from its opening tag to the next part's."""
    body = page(w)
    start = body.find(f'class="{cls}"')
    if start < 0:
        return ""
    ends = [body.find(marker, start + 1) for marker in SECTIONS]
    ends = [e for e in ends if e > start]
    return body[start:min(ends) if ends else len(body)]


def rhs_of(w: DerivationWidget, i: int = 0) -> str:
    latex = html.unescape(re.search(r'data-latex="([^"]*)"', results(w)[i]).group(1))
    return latex.split(" = ", 1)[1]


# ====================================================================== the layout toggle
def test_toggle_switches_numerator_and_denominator_without_rederiving(engine_calls):
    w = make(WX, "numerator")
    # building it derived and checked once (so the counters do see the engine) …
    assert engine_calls == {"derive_one": 1, "check": 1, "gather": 1, "derive": 1}
    reset(engine_calls)
    assert w.layout == "numerator" and rhs_of(w) == "W"
    click(w, "denominator")
    assert w.layout == "denominator"
    assert rhs_of(w) == "W^{\\top}"
    assert "$$\\frac{\\partial \\left(W x\\right)^{\\top}}{\\partial x} = W^{\\top}$$" in results(w)[0]
    assert ">n×m</span>" in results(w)[0]
    click(w, "numerator")
    assert rhs_of(w) == "W" and ">m×n</span>" in results(w)[0]
    assert engine_calls == NONE  # … and switching layouts never again


def test_every_output_changes_with_the_layout(engine_calls):
    w = make(CS224N, "shape", code=True)
    assert engine_calls["derive_one"] == 5  # five requests; the claim is about ∂J/∂W, derived once for both
    reset(engine_calls)
    before = {
        "results": results(w),
        "claims": section(w, "mcm-claims"),
        "code": section(w, "mcm-code"),
        "subterms": w.subterms_view.value,
        "header": section(w, "mcm-header"),
        "bundle": w.shown.bundle(),
    }
    click(w, "numerator")
    after = results(w)
    assert len(after) == len(before["results"]) == 5
    for old, new in zip(before["results"], after):
        assert old != new
    # numerator layout: ∂J/∂Uᵀ = h (ŷ - y)ᵀ
    assert rhs_of(w, 0) == "h \\left(\\hat{y} - y\\right)^{\\top}"
    assert before["claims"] and section(w, "mcm-claims") != before["claims"]
    assert "the transpose of the correct result" in section(w, "mcm-claims")  # the claim was the shape answer
    assert before["code"] and section(w, "mcm-code") != before["code"]
    assert w.subterms_view.value != before["subterms"]
    assert section(w, "mcm-header") != before["header"]
    assert "numerator layout (Jacobian formulation)" in section(w, "mcm-header")
    bundle = w.shown.bundle()
    for mime in ("text/plain", "text/html", "text/latex"):
        assert bundle[mime] != before["bundle"][mime]
    assert "∂J/∂Uᵀ = h (ŷ - y)ᵀ" in bundle["text/plain"]
    assert engine_calls == NONE


def test_every_layout_renders_and_views_are_cached(engine_calls):
    w = make(CS224N)
    reset(engine_calls)
    for layout in mm.LAYOUTS:
        click(w, layout)
        assert all(f'data-layout="{layout}"' in v for v in results(w))
        assert page(w) == w.output.html(layout)
    r = w.output.results[2]
    first = r.view("index")
    click(w, "shape")
    click(w, "index")
    assert r.view("index") is first  # the engine's cached view, not a new one
    assert "\\sum_{a} U_{ai}" in results(w)[2]
    assert engine_calls == NONE


def test_setting_the_layout_from_python():
    w = make(WX)
    w.layout = "denominator"
    assert w.toggle.get_state()["index"] == LAYOUT_INDEX["denominator"]
    assert rhs_of(w) == "W^{\\top}"
    with pytest.raises(mm.MatcalcError):
        w.layout = "sideways"


# ====================================================================== dimensions
def concrete_cells(view_html: str) -> list[str]:
    return re.findall(r'class="mcm-concrete-shape">([^<]*)<', view_html)


def symbolic_cells(view_html: str) -> list[str]:
    return re.findall(r'class="mcm-sym-shape">([^<]*)<', view_html)


def test_dimension_panel_lists_symbols_and_subterms():
    w = make(CS224N)
    # declared x W b1 U b2 y, defined z h θ ŷ J, with sizes k=3, m=4, n=5 by default
    assert default_sizes(w.output) == {"k": 3, "m": 4, "n": 5}
    assert symbolic_cells(w.symbols_view.value) == ["n×1", "m×n", "m×1", "k×m", "k×1", "k×1",
                                                   "m×1", "m×1", "k×1", "k×1", "1×1"]
    assert concrete_cells(w.symbols_view.value) == ["5×1", "4×5", "4×1", "3×4", "3×1", "3×1",
                                                   "4×1", "4×1", "3×1", "3×1", "1×1"]
    assert "$\\hat{y}$" in w.symbols_view.value and "defined" in w.symbols_view.value
    # the selected result (∂J/∂U) and its sub-terms
    v = w.output.results[0].view("shape")
    terms = v.subterms()
    assert symbolic_cells(w.subterms_view.value) == ["k×m"] + ["×".join(t[2]) for t in terms]
    assert concrete_cells(w.subterms_view.value)[:3] == ["3×4", "3×4", "3×1"]
    w.selector.value = 2  # ∂J/∂W
    assert symbolic_cells(w.subterms_view.value)[0] == "m×n"
    assert "relu" in w.subterms_view.value
    assert w.subterms_view.value.count("✓ checked numerically (3 random points, tol 1e-6)") == 1


def test_size_sliders_update_the_concrete_shapes_live(engine_calls):
    w = make(CS224N)
    reset(engine_calls)
    w.selector.value = 2  # ∂J/∂W = ((Uᵀ (ŷ - y)) ⊙ relu′(z)) xᵀ
    assert concrete_cells(w.subterms_view.value)[0] == "4×5"
    w.sliders["m"].set_state({"value": 7})  # as the front end sends it
    assert concrete_cells(w.subterms_view.value)[0] == "7×5"
    assert "7×5" in concrete_cells(w.symbols_view.value)  # W
    w.sliders["n"].value = 2
    assert concrete_cells(w.subterms_view.value)[0] == "7×2"
    assert concrete_cells(w.symbols_view.value)[0] == "2×1"  # x
    # symbolic shapes do not move
    assert symbolic_cells(w.subterms_view.value)[0] == "m×n"
    assert engine_calls == NONE


def test_sliders_start_at_the_users_array_sizes():
    from matcalc_magic.api import bind

    d = mm.derive(WX)
    env, sizes = bind(d.cell, {"W": np.ones((6, 2)), "x": np.ones(2)})
    w = make(WX, binding=Binding(env, sizes, ["W", "x"]))
    assert {k: s.value for k, s in w.sliders.items()} == {"m": 6, "n": 2}
    assert concrete_cells(w.subterms_view.value)[0] == "6×2"
    assert "sizes from your namespace (W, x): m = 6, n = 2" in section(w, "mcm-header")


def test_toggle_updates_the_dimension_panel():
    w = make(WX, "numerator")
    assert symbolic_cells(w.subterms_view.value)[0] == "m×n"
    click(w, "denominator")
    assert symbolic_cells(w.subterms_view.value)[0] == "n×m"
    assert concrete_cells(w.subterms_view.value)[0] == "4×3"


# ====================================================================== repr and bundle
def test_repr_and_bundles_are_deterministic():
    from matcalc_magic.payload import DERIVATION_MIME, WIDGET_MIME

    a, b = make(CS224N), make(CS224N)
    assert a.model_id != b.model_id
    assert repr(a) == repr(b) == "DerivationWidget(layout='shape', results=[∂J/∂U, ∂J/∂b2, ∂J/∂W, ∂J/∂b1, ∂J/∂x])"
    wa, wb = a._repr_mimebundle_(), b._repr_mimebundle_()
    assert wa["application/vnd.jupyter.widget-view+json"]["model_id"] == a.model_id
    assert wa["text/plain"] == wb["text/plain"] == PLAIN and wa[WIDGET_MIME] == wb[WIDGET_MIME]
    # the derivation's output: no model id anywhere, the same for the same cell
    sa, sb = a.shown.bundle(), b.shown.bundle()
    assert sa == sb
    assert a.model_id not in repr(sa)
    assert sa["text/plain"] == a.output.plain("shape")
    assert 'class="mcm-derivation"' in sa["text/html"] and sa[DERIVATION_MIME]["layout"] == "shape"


def test_bundle_follows_the_current_layout():
    from matcalc_magic.payload import DERIVATION_MIME

    w = make(WX, "numerator")
    click(w, "denominator")
    data = w.shown.bundle()
    assert "∂(W x)ᵀ/∂x = Wᵀ" in data["text/plain"]
    assert "W^{\\top}" in data["text/latex"]
    assert data[DERIVATION_MIME]["layout"] == "denominator"
    assert data[DERIVATION_MIME]["views"]["denominator"]["text/plain"] == data["text/plain"]


def test_widget_through_the_magic():
    from IPython.testing import globalipapp
    from IPython.utils.capture import capture_output

    globalipapp.start_ipython()  # once per process; later calls return None
    ip = globalipapp.get_ipython()  # rebound to the shell's own get_ipython by start_ipython
    ip.run_line_magic("load_ext", "matcalc_magic")
    magics = ip.magics_manager.registry["MatcalcMagics"]
    saved = magics.widgets
    magics.widgets = "always"
    try:
        with capture_output() as cap:
            result = ip.run_cell("%%mderive --layout numerator --steps --code\n" + WX)
    finally:
        magics.widgets = saved
    assert result.success
    shown, widget = cap.outputs
    w = magics.last_widget
    assert isinstance(w, DerivationWidget) and w.shown is magics.last_shown
    assert widget.data["application/vnd.jupyter.widget-view+json"]["model_id"] == w.model_id
    assert shown.data["text/plain"] == w.output.plain("numerator")
    assert 'class="mcm-steps"' in page(w) and 'class="mcm-code"' in page(w)
    with capture_output():
        click(w, "denominator")
    assert "W.T" in section(w, "mcm-code")
