"""A derivation as data, for front ends that need no kernel to switch layouts.

``application/vnd.matcalc.derivation+json`` rides beside the static bundle
(``text/html``, ``text/latex``, ``text/plain``) of a derivation's output.  The
JupyterLab extension renders it with a layout toggle and a dimension panel
(size sliders, the shape of every symbol and sub-term) in a saved notebook
with no kernel running, in JupyterLab and Notebook 7; a switch of layout
there also rewrites the static bundle, so an export shows the layout last
chosen.  Front ends without the extension ignore it and show the bundle.

Fields (``version`` 1):

* ``layout``: the layout shown; ``layouts``: each layout's name, toggle label
  and description, in toggle order;
* ``views``: each layout's static bundle, exactly what the magic would print;
* ``sizes``: each size symbol and its starting value (the user's arrays'
  sizes when bound, else small distinct numbers);
* ``symbols``: every declared and defined name with its shape;
* ``results``: per result its request, check badge and, per layout, the rows
  of its sub-term table (the result first).

A row is ``{"latex", "kind", "shape", "dims"}``: ``shape`` is the symbolic
shape as text (``m×n``), ``dims`` each size as a polynomial in the size
symbols, ``[[coefficient, {symbol: power}], …]`` (null when a size is not
one), so a front end computes the concrete shape at any slider setting.

The live ipywidget (:mod:`matcalc_magic.widgets`) marks its own output with
``application/vnd.matcalc.widget+json``: the extension, which already gives
the derivation's output everything the widget does, hides that output, and
the server extension (:mod:`matcalc_magic.saving`) leaves it out of saved
notebooks, whose widget model dies with the kernel.
"""

from __future__ import annotations

from functools import lru_cache

import sympy

from . import layouts as L
from ._labextension import DERIVATION_MIME, WIDGET_MIME  # noqa: F401  (re-exported)
from .display import LAYOUT_NAMES, CellOutput, fix_latex, shape_text
from .shapes import complete_sizes

VERSION = 1

#: labels of the layout toggle (the values are the layout names)
TOGGLE_LABELS = {"numerator": "numerator", "denominator": "denominator", "shape": "shape (CS224n)",
                 "index": "index", "vec": "vec"}


# ====================================================================== sizes and shapes
def default_sizes(output: CellOutput) -> dict[str, int]:
    """Size name → int: from the user's arrays where bound, else 3, 4, 5, … in
    name order (distinct, so a transpose shows)."""
    dims = output.derivation.cell.dims
    sizes = complete_sizes(dims, output.binding.sizes, start=3)
    return {name: sizes[dims[name]] for name in sorted(dims)}


def symbol_rows(output: CellOutput) -> list[tuple[str, str, tuple]]:
    """(LaTeX, kind, symbolic shape) of every declared and defined name."""
    from .render.names import name_latex

    cell = output.derivation.cell
    return [(name_latex(name), kind, node.shape)
            for kind, table in (("declared", cell.variables), ("defined", cell.definitions))
            for name, node in table.items()]


def term_rows(output: CellOutput, i: int, layout: str) -> list[tuple[str, str, tuple]]:
    """(LaTeX, kind, symbolic shape) of result ``i`` in ``layout`` and of each
    of its sub-terms (:meth:`~matcalc_magic.api.View.subterm_nodes`)."""
    return output._cached(("terms", i, layout), lambda: _term_rows(output, i, layout))


def _term_rows(output: CellOutput, i: int, layout: str) -> list[tuple[str, str, tuple]]:
    from .render.latex import to_latex

    view = output.results[i].view(layout)
    rows = [(fix_latex(view.lhs_latex), f"result ({LAYOUT_NAMES[layout]})", output.symbolic_shape(i, layout))]
    rows += [(fix_latex(to_latex(e, view.names)), "term", e.shape) for e in view.subterm_nodes()]
    return rows


def dims_data(shape) -> list | None:
    """Each size of ``shape`` as ``[[coefficient, {symbol: power}], …]``, or
    None when one is not a polynomial in the size symbols."""
    dims = [_polynomial(sympy.sympify(d)) for d in shape]
    return None if any(d is None for d in dims) else dims


@lru_cache(maxsize=1024)
def _polynomial(d) -> list | None:
    symbols = sorted(d.free_symbols, key=str)
    if not symbols:
        return [[float(d), {}]]
    try:
        poly = sympy.Poly(d, *symbols)
    except sympy.PolynomialError:
        return None
    return [[float(c), {str(s): int(p) for s, p in zip(symbols, powers) if p}] for powers, c in poly.terms()]


def _row(latex: str, kind: str, shape) -> dict:
    return {"latex": latex, "kind": kind, "shape": shape_text(shape), "dims": dims_data(shape)}


# ====================================================================== the payload
def derivation_payload(output: CellOutput, layout: str) -> dict:
    """The JSON of ``application/vnd.matcalc.derivation+json`` (module docstring);
    everything but the layout shown is built once per output."""
    return {"version": VERSION, "layout": L.check_layout(layout),
            **output._cached(("payload",), lambda: _every_layout(output))}


def _every_layout(output: CellOutput) -> dict:
    return {
        "layouts": [{"name": x, "label": TOGGLE_LABELS[x], "description": L.DESCRIPTIONS[x]} for x in L.LAYOUTS],
        "views": {x: output.bundle(x) for x in L.LAYOUTS},
        "sizes": [{"name": name, "value": value} for name, value in default_sizes(output).items()],
        "symbols": [_row(latex, kind, shape) for latex, kind, shape in symbol_rows(output)],
        "results": [
            {"request": r.request.text,
             "badge": {"ok": output.badge(i).ok, "text": output.badge(i).text},
             "terms": {x: [_row(*row) for row in term_rows(output, i, x)] for x in L.LAYOUTS}}
            for i, r in enumerate(output.results)
        ],
    }
