"""The live widget of a derivation (ipywidgets 8), beside its output.

The derivation itself is a plain output (:class:`~matcalc_magic.display.Shown`:
a static bundle, plus the payload the JupyterLab extension renders with its
own toggle), so it survives saving, export and a dead kernel.  Beside it,
while a kernel runs, :class:`DerivationWidget` gives front ends without the
extension (VS Code, Colab, JupyterLab or Notebook 7 without it)

* a layout toggle that re-publishes that output in the chosen layout
  (``update_display``) from the engine's cached views — it never re-derives
  and never re-checks — so the saved notebook keeps the layout last chosen;
* a dimension-tracking panel: each declared and defined symbol and each
  sub-term of the selected result with its shape, symbolically and at
  concrete sizes, with one slider per size symbol (defaults from the arrays
  in the namespace when there are any, else small distinct sizes), and the
  numeric-check badge of the selected result.

Its output carries ``application/vnd.matcalc.widget+json``, by which the
extension hides it (the extension's renderer already does all of this without
a kernel) and the server extension leaves it out of a saved notebook, which
would otherwise show "model not found" for it (:mod:`matcalc_magic.saving`).
"""

from __future__ import annotations

from html import escape

import ipywidgets as W

from . import layouts as L
from .display import LAYOUT_NAMES, MUTED_STYLE, CellOutput, Shown, concrete_text, shape_text
from .payload import TOGGLE_LABELS, WIDGET_MIME, default_sizes, symbol_rows, term_rows

_TABLE = 'style="border-collapse:collapse;font-size:90%;margin:0.2em 0"'
_TD = 'style="padding:0.15em 0.8em 0.15em 0;text-align:left;vertical-align:middle"'
_TH = f'style="padding:0.15em 0.8em 0.15em 0;text-align:left;{MUTED_STYLE};font-weight:normal"'
#: the widget output's text, where no widget can be shown
PLAIN = "layout toggle and dimension panel of the derivation above (live while its kernel runs)"


class DerivationWidget(W.VBox):
    """A layout toggle for a shown derivation, a dimension panel and size sliders."""

    def __init__(self, output: CellOutput, layout: str | None = None, shown: Shown | None = None, **kwargs):
        self.output = output
        self.shown = shown if shown is not None else Shown(output, layout)
        self._memo: dict = {}  # rendered tables by (what, layout, sizes); the derivation never changes
        results = output.results
        start = L.check_layout(layout or self.shown.layout)

        self.toggle = W.ToggleButtons(
            options=[(TOGGLE_LABELS[x], x) for x in L.LAYOUTS], value=start,
            tooltips=[L.DESCRIPTIONS[x] for x in L.LAYOUTS], description="layout",
            style={"button_width": "auto"})
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
        super().__init__([self.toggle, self.dims_panel], **kwargs)
        self.add_class("mcm-widget")

        self.toggle.observe(self._on_layout, names="value")
        self.selector.observe(self._on_dims, names="value")
        for s in self.sliders.values():
            s.observe(self._on_dims, names="value")
        if self.shown.layout != start:
            self.shown.switch(start)
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
        self.shown.switch(self.layout)
        self._render_terms()

    def _on_dims(self, change) -> None:
        self._render_dims()

    def _render_dims(self) -> None:
        self._render_symbols()
        self._render_terms()

    def _sizes_key(self) -> tuple:
        return tuple((name, s.value) for name, s in self.sliders.items())

    def _render_symbols(self) -> None:
        key = ("symbols", self._sizes_key())
        if key not in self._memo:
            sizes = self.sizes
            rows = [self._row(f"${latex}$", kind, shape, sizes) for latex, kind, shape in symbol_rows(self.output)]
            self._memo[key] = (
                f'<div><b>Dimensions</b> <span style="{MUTED_STYLE};font-size:85%">'
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
        rows = [self._row(f"${escape(latex, quote=False)}$", kind, shape, sizes)
                for latex, kind, shape in term_rows(self.output, i, layout)]
        note = ""
        if len(rows) == 1:
            note = (f'<div style="{MUTED_STYLE};font-size:85%">in {LAYOUT_NAMES[layout]} this result has '
                    "no matrix sub-terms</div>")
        badge = f'<div class="mcm-term-badge">{self.output.badge(i).html()}</div>'
        return (f'{badge}<table class="mcm-subterms" {_TABLE}><tr><th {_TH}>term</th><th {_TH}></th>'
                f"<th {_TH}>shape</th><th {_TH}>at these sizes</th></tr>{''.join(rows)}</table>{note}")

    @staticmethod
    def _row(math: str, kind: str, shape, sizes: dict) -> str:
        return (f'<tr><td {_TD}>{math}</td><td {_TD}><span style="{MUTED_STYLE}">{escape(kind)}</span></td>'
                f'<td {_TD} class="mcm-sym-shape">{escape(shape_text(shape))}</td>'
                f'<td {_TD} class="mcm-concrete-shape">{escape(concrete_text(shape, sizes) or "—")}</td></tr>')

    # ------------------------------------------------------------------ output
    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs) or {}
        data["text/plain"] = PLAIN
        data[WIDGET_MIME] = {"version": 1}
        return data

    def __repr__(self) -> str:
        requests = ", ".join(r.request.text for r in self.output.results)
        return f"DerivationWidget(layout={self.layout!r}, results=[{requests}])"
