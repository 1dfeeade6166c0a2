"""A corpus of derivatives from public sources, checked numerically and in print.

Sources (one module each under ``tests/corpus/``, every entry citing where it
comes from): Wikipedia's "Matrix calculus" identity tables, the Matrix
Cookbook (ch. 2), the CS224n notes "Computing Neural Network Gradients",
Andrew Ng's Deep Learning and Machine Learning courses, the two seed
questions of the project, and derivations users bring from courses, papers
and books (``textbooks.py``: CS231n, Vaswani et al. with FlashAttention's
backward pass, PRML, Rasmussen & Williams, Ng's sparse autoencoder notes,
Goodfellow et al.'s back-propagation through time, ICA, policy gradients).

For every entry:

* ``test_value``: every layout evaluated at random points and compared with
  finite differences of the entry's own NumPy function, plus ``check()``;
* ``test_printed_form``: where the source prints the result, the view's
  right-hand side (text, and LaTeX where given) equals the source's form up
  to whitespace, and the parts it names are defined as the entry says;
* ``test_shape``: the shapes the source states.
"""

from __future__ import annotations

import functools

import pytest

import matcalc_magic as mm
from conftest import LAYOUTS, check_numerically, norm_ws
from corpus import cookbook, cs224n, ng, seeds, textbooks, wikipedia

MODULES = (wikipedia, cookbook, cs224n, ng, seeds, textbooks)
ENTRIES = [e for mod in MODULES for e in mod.ENTRIES]


@functools.lru_cache(maxsize=None)
def derived(cell: str):
    return mm.derive(cell)


def result(entry):
    return derived(entry.cell)[entry.request]


def _params(bug_attr=None, only=lambda e: True):
    out = []
    for e in ENTRIES:
        if not only(e):
            continue
        marks = []
        bug = e.refused or (getattr(e, bug_attr) if bug_attr else None)
        if bug:
            marks.append(pytest.mark.xfail(strict=True, reason="engine: " + bug))
        out.append(pytest.param(e, id=f"{e.source}-{e.id}", marks=marks))
    return out


def test_corpus_is_large_and_ids_are_unique():
    ids = [(e.source, e.id) for e in ENTRIES]
    assert len(ids) == len(set(ids))
    assert len(ENTRIES) >= 60
    assert {e.source for e in ENTRIES} == {"Wikipedia", "Cookbook", "CS224n", "Ng", "Seed", "Vaswani", "CS231n",
                                           "ICA", "Goodfellow", "PRML", "GPML", "UFLDL", "RL"}


@pytest.mark.parametrize("entry", _params("numeric_bug"))
def test_value(entry):
    """Every layout against finite differences of the entry's NumPy function."""
    r = result(entry)
    if entry.kind:
        assert r.kind == entry.kind
    check_numerically(
        r, entry.f, entry.cell, entry.wrt, seed=len(entry.id), points=2, fixed=entry.fixed, allow_zero=entry.zero
    )


@pytest.mark.parametrize("entry", _params("print_bug", only=lambda e: bool(e.forms or e.latex)))
def test_printed_form(entry):
    r = result(entry)
    got = {}
    for layout, want in entry.forms.items():
        wants = (want,) if isinstance(want, str) else want
        text = norm_ws(r.view(layout).rhs_text)
        if text not in {norm_ws(w) for w in wants}:
            got[layout] = (text, wants)
    for layout, want in entry.latex.items():
        text = norm_ws(r.view(layout).rhs_latex)
        if text != norm_ws(want):
            got[layout + " (LaTeX)"] = (text, want)
    if entry.forms:  # the parts the form names, defined as the source defines them, or no parts at all
        where = norm_ws(r.view("shape").text).partition(", where ")[2]
        if where != norm_ws(entry.where or ""):
            got["shape (where)"] = (where, entry.where or "")
    assert not got, "printed forms differ from the source: " + "; ".join(
        f"{k}: {t!r}, source {w!r}" for k, (t, w) in got.items()
    )


@pytest.mark.parametrize("entry", _params("shape_bug", only=lambda e: bool(e.shapes)))
def test_shape(entry):
    r = result(entry)
    for layout, shape in entry.shapes.items():
        assert r.view(layout).shape == shape, layout


@pytest.mark.parametrize("entry", _params(only=lambda e: bool(e.forms)))
def test_left_hand_side_names_the_request(entry):
    """The equation reads ``lhs = rhs`` with the printed right-hand side, in every layout."""
    r = result(entry)
    for layout in LAYOUTS:
        v = r.view(layout)
        assert v.text.startswith(v.lhs_text + " = " + v.rhs_text)  # then ", where …" when parts are named
        assert v.latex.startswith(v.lhs_latex + " = " + v.rhs_latex)
        assert v.text.startswith("∂")


def _xf(reason):
    return pytest.mark.xfail(strict=True, reason="engine: " + reason)


# requests spelled as the sources spell them (no parentheses around the function),
# with the left-hand sides a reader expects (redundant parentheses allowed)
AS_WRITTEN = [
    # Wikipedia / Cookbook (129): ∂‖x − a‖/∂x
    pytest.param(
        "x : n; a : n",
        "∂‖x - a‖/∂x",
        ("∂‖x - a‖/∂x", "∂(‖x - a‖)/∂x"),
        id="norm",
    ),
    # Cookbook (132): ∂‖X‖²_F/∂X
    pytest.param("X : m x n", "∂‖X‖_F^2/∂X", ("∂‖X‖_F²/∂X", "∂(‖X‖_F²)/∂X"), id="frobenius"),
    # Cookbook (99): ∂Tr(X)/∂X
    pytest.param("X : n x n", "∂tr(X)/∂X", ("∂tr(X)/∂X", "∂(tr(X))/∂X"), id="trace"),
    # Wikipedia: ∂ ln|X|/∂X, written with log det
    pytest.param(
        "X : n x n, invertible",
        "∂log det(X)/∂X",
        ("∂log det(X)/∂X", "∂(log det(X))/∂X"),
        id="log-det",
    ),
    # Cookbook (60): ∂X⁻¹/∂X
    pytest.param(
        "X : n x n, invertible",
        "∂X^{-1}/∂X",
        ("∂X⁻¹ᵢⱼ/∂Xₖₗ", "∂(X⁻¹)[i,j]/∂X[k,l]"),  # a tensor: index notation
        id="inverse",
    ),
    # Wikipedia: ∂xᵀx/∂x
    pytest.param(
        "x : n",
        "∂xᵀx/∂x",
        ("∂xᵀx/∂x", "∂(xᵀ x)/∂x"),
        id="xTx",
    ),
]


@pytest.mark.parametrize("decls, request_text, lhs", AS_WRITTEN)
def test_request_as_the_source_writes_it(decls, request_text, lhs):
    r = mm.derive(f"{decls}\n{request_text}")[0]
    assert r.view("shape").lhs_text in lhs
    assert r.check(points=1).ok
