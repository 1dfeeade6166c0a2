"""The live widget of a derivation (ipywidgets 8).

:class:`DerivationWidget` shows every result of a
:class:`~matcalc_magic.display.CellOutput` with

* a layout toggle that re-renders every result, claim, step list and code
  block from the engine's cached views — it never re-derives and never
  re-checks;
* a dimension-tracking panel: each declared and defined symbol and each
  sub-term of the selected result with its shape, symbolically and at
  concrete sizes;
* one slider per size symbol (defaults from the arrays in the namespace when
  there are any, else small distinct sizes) that updates the concrete column
  live;
* the numeric-check badge of the selected result.

Its mime bundle is the widget view *plus* the static bundle of its current
state (``text/plain``, ``text/html``, ``text/latex``), so front ends without a
widget manager (nbconvert without widget state, a terminal) still show the
derivation and nbval can compare the deterministic parts.
"""

from __future__ import annotations

from html import escape

import ipywidgets as W

from . import layouts as L
from .display import (
    LAYOUT_NAMES,
    MUTED_COLOR,
    CellOutput,
    concrete_text,
    fix_latex,
    shape_text,
)

_TABLE = 'style="border-collapse:collapse;font-size:90%;margin:0.2em 0"'
_TD = 'style="padding:0.15em 0.8em 0.15em 0;text-align:left;vertical-align:middle"'
_TH = f'style="padding:0.15em 0.8em 0.15em 0;text-align:left;color:{MUTED_COLOR};font-weight:normal"'

#: labels of the toggle (the values are the layout names)
TOGGLE_LABELS = {"numerator": "numerator", "denominator": "denominator", "shape": "shape (CS224n)",
                 "index": "index", "vec": "vec"}


def default_sizes(output: CellOutput) -> dict[str, int]:
    """Size name → int: from the user's arrays where bound, else 3, 4, 5, … in
    name order (distinct, so a transpose shows)."""
    cell = output.derivation.cell
    bound = {str(k): v for k, v in output.binding.sizes.items()}
    out, used, candidate = {}, set(bound.values()), 3
    for name in sorted(cell.dims):
        if name in bound:
            out[name] = bound[name]
            continue
        while candidate in used:
            candidate += 1
        out[name] = candidate
        used.add(candidate)
    return out


def subterm_shapes(view) -> list:
    """Symbolic shapes of ``view.subterms()``, in the same order."""
    expr = view.expr
    if expr is None:
        return []
    labels = view.result.labels
    out, seen = [], set()

    def walk(e, depth):
        if e in seen or depth > 3:
            return
        seen.add(e)
        if e.op not in ("const", "broadcast"):
            out.append(e.shape)
        if e in labels or e.op in ("var", "const", "eye", "ones", "zeros"):
            return
        for a in e.args:
            walk(a, depth + 1)

    walk(expr, 0)
    return out


class DerivationWidget(W.VBox):
    """A derivation with a layout toggle, a dimension panel and size sliders."""

    def __init__(self, output: CellOutput, layout: str | None = None, **kwargs):
        self.output = output
        self._memo: dict = {}  # rendered tables by (what, layout, sizes); the derivation never changes
        results = output.results
        start = L.check_layout(layout or output.layout)

        self.toggle = W.ToggleButtons(
            options=[(TOGGLE_LABELS[x], x) for x in L.LAYOUTS], value=start,
            tooltips=[L.DESCRIPTIONS[x] for x in L.LAYOUTS], description="layout",
            style={"button_width": "auto"})
        # the results, claims, steps and code: the static HTML of the current layout
        self.body = W.HTMLMath()

        self.selector = W.Dropdown(options=[(r.request.text, i) for i, r in enumerate(results)],
                                   value=0 if results else None, description="sub-terms of",
                                   style={"description_width": "auto"})
        self.sliders = {}
        for name, value in default_sizes(output).items():
            self.sliders[name] = W.IntSlider(value=value, min=1, max=max(12, 2 * value), description=name,
                                             continuous_update=True, style={"description_width": "initial"},
                                             layout=W.Layout(width="15em"))
        self.symbols_view = W.HTMLMath()
        self.subterms_view = W.HTMLMath()
        sizes_box = W.HBox(list(self.sliders.values()), layout=W.Layout(flex_flow="row wrap"))
        self.dims_panel = W.VBox([self.symbols_view, sizes_box, self.selector, self.subterms_view],
                                 layout=W.Layout(border="1px solid var(--jp-border-color2, #ddd)",
                                                 padding="0.3em 0.6em", margin="0.4em 0 0 0"))
        self.dims_panel.add_class("mcm-dims")
        super().__init__([self.toggle, self.body, self.dims_panel], **kwargs)
        self.add_class("mcm-widget")

        self.toggle.observe(self._on_layout, names="value")
        self.selector.observe(self._on_dims, names="value")
        for s in self.sliders.values():
            s.observe(self._on_dims, names="value")
        self._render_layout()
        self._render_dims()

    # ------------------------------------------------------------------ state
    @property
    def layout(self) -> str:
        return self.toggle.value

    @layout.setter
    def layout(self, value: str) -> None:
        self.toggle.value = L.check_layout(value)

    @property
    def sizes(self) -> dict:
        """Size symbol → int, from the sliders."""
        cell = self.output.derivation.cell
        return {cell.dims[name]: s.value for name, s in self.sliders.items()}

    # ------------------------------------------------------------------ rendering
    def _on_layout(self, change) -> None:
        self._render_layout()
        self._render_terms()

    def _on_dims(self, change) -> None:
        self._render_dims()

    def _render_layout(self) -> None:
        self.body.value = self.output.html(self.layout)

    def _render_dims(self) -> None:
        self._render_symbols()
        self._render_terms()

    def _sizes_key(self) -> tuple:
        return tuple((name, s.value) for name, s in self.sliders.items())

    def _render_symbols(self) -> None:
        key = ("symbols", self._sizes_key())
        if key not in self._memo:
            sizes = self.sizes
            cell = self.output.derivation.cell
            from .render.names import name_latex

            rows = []
            for kind, table in (("declared", cell.variables), ("defined", cell.definitions)):
                for name, node in table.items():
                    rows.append(self._row(f"${name_latex(name)}$", kind, node.shape, sizes))
            self._memo[key] = (
                f'<div><b>Dimensions</b> <span style="color:{MUTED_COLOR};font-size:85%">'
                "symbolic, and at the sizes of the sliders</span></div>"
                f'<table class="mcm-symbols" {_TABLE}><tr><th {_TH}>symbol</th><th {_TH}></th>'
                f"<th {_TH}>shape</th><th {_TH}>at these sizes</th></tr>{''.join(rows)}</table>")
        self.symbols_view.value = self._memo[key]

    def _render_terms(self) -> None:
        out = self.output
        if not out.results:
            self.subterms_view.value = ""
            return
        i, layout = self.selector.value, self.layout
        key = ("terms", i, layout, self._sizes_key())
        if key not in self._memo:
            self._memo[key] = self._terms_html(i, layout)
        self.subterms_view.value = self._memo[key]

    def _terms_html(self, i: int, layout: str) -> str:
        sizes = self.sizes
        view = self.output.results[i].view(layout)
        terms = view.subterms()
        shapes = subterm_shapes(view)
        rows = [self._row(f"${escape(fix_latex(view.lhs_latex), quote=False)}$", f"result ({LAYOUT_NAMES[layout]})",
                          self.output.symbolic_shape(i, layout), sizes)]
        for k, (text, latex, shape) in enumerate(terms):
            sym = shapes[k] if len(shapes) == len(terms) else None
            rows.append(self._row(f"${escape(fix_latex(latex), quote=False)}$", "term",
                                  sym if sym is not None else shape, sizes, text_shape=shape if sym is None else None))
        note = ""
        if not terms:
            note = (f'<div style="color:{MUTED_COLOR};font-size:85%">in {LAYOUT_NAMES[layout]} this result has '
                    "no matrix sub-terms</div>")
        badge = f'<div class="mcm-term-badge">{self.output.badge(i).html()}</div>'
        return (f'{badge}<table class="mcm-subterms" {_TABLE}><tr><th {_TH}>term</th><th {_TH}></th>'
                f"<th {_TH}>shape</th><th {_TH}>at these sizes</th></tr>{''.join(rows)}</table>{note}")

    @staticmethod
    def _row(math: str, kind: str, shape, sizes: dict, text_shape=None) -> str:
        if text_shape is not None:
            symbolic, at = "×".join(text_shape) or "scalar", "—"
        else:
            symbolic = shape_text(shape)
            at = concrete_text(shape, sizes) or "—"
        return (f"<tr><td {_TD}>{math}</td><td {_TD}><span style=\"color:{MUTED_COLOR}\">{escape(kind)}</span></td>"
                f'<td {_TD} class="mcm-sym-shape">{escape(symbolic)}</td>'
                f'<td {_TD} class="mcm-concrete-shape">{escape(at)}</td></tr>')

    # ------------------------------------------------------------------ output
    def static_bundle(self) -> dict:
        """The static mime bundle of the current state."""
        return self.output.bundle(self.layout)

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs) or {}
        data.update(self.static_bundle())
        return data

    def __repr__(self) -> str:
        requests = ", ".join(r.request.text for r in self.output.results)
        return f"DerivationWidget(layout={self.layout!r}, results=[{requests}])"
