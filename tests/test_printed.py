"""Every printed form is valid input: a view's text, parsed back with its
cell's declarations and definitions, has the view's value."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from cells import CS224N
from corpus import cookbook, cs224n, ng, seeds, wikipedia

import test_op_table as op_table

import matcalc_magic as mm
from matcalc_magic.api import bind
from matcalc_magic.evaluate import evaluate
from matcalc_magic.printed import parse_printed
from matcalc_magic.verify import draw_sizes, draw_value

LAYOUTS = ("numerator", "denominator", "shape", "vec")


def bind_point(view, seed: int):
    """(env, sizes) at a random point respecting the cell's declarations."""
    cell = view.result.cell
    rng = np.random.default_rng(seed)
    sizes = draw_sizes(cell.dims, rng, low=3, high=7)
    values = {name: draw_value(var, sizes, rng) for name, var in cell.variables.items()}
    values.update({str(k): v for k, v in sizes.items()})
    return bind(cell, values)


def round_trip_error(view, seed: int = 0) -> float:
    """max |printed − view| at a random point respecting the declarations."""
    env, sizes = bind_point(view, seed)
    want = view.evaluate_at(env, sizes)
    got = evaluate(parse_printed(view), env, sizes)
    assert got.shape == want.shape, (view.text, got.shape, want.shape)
    return float(np.max(np.abs(got - want), initial=0.0))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_cs224n_gradients_read_back(layout):
    for result in mm.derive(CS224N):
        assert round_trip_error(result.view(layout)) < 1e-9, result.view(layout).text


def test_by_a_defined_name_the_name_stands_for_itself():
    """∂J/∂z is a function of z: the printed tanh(z) is read with z free."""
    res = mm.derive("x : n; W : m x n; z = W x; J = sum(tanh(z)); ∂J/∂z")
    parsed = parse_printed(res[0].view("shape"))
    assert parsed is res[0].view("shape").expr


def test_an_index_view_has_no_text_to_read_back():
    res = mm.derive("X : n x n; ∂X/∂X")
    with pytest.raises(mm.MatcalcError):
        parse_printed(res[0].view("index"))


# ====================================================================== the whole corpus
CORPUS_CELLS = list(dict.fromkeys(
    e.cell for mod in (wikipedia, cookbook, cs224n, ng, seeds) for e in mod.ENTRIES if not e.refused
))


@functools.lru_cache(maxsize=None)
def _derived(cell: str):
    return mm.derive(cell)


def matrix_views(cell: str):
    return [r.view(layout) for r in _derived(cell) for layout in LAYOUTS if r.view(layout).expr is not None]


@pytest.mark.parametrize("cell", CORPUS_CELLS, ids=[f"cell{i}" for i in range(len(CORPUS_CELLS))])
def test_every_printed_view_of_the_corpus_reads_back(cell):
    """Each result's text and where-parts, in every layout with a matrix form,
    parse with the cell's declarations and evaluate to the view's value."""
    bad = {}
    for view in matrix_views(cell):
        for seed in (0, 1):
            err = round_trip_error(view, seed)
            scale = max(1.0, float(np.max(np.abs(view.evaluate_at(*bind_point(view, seed))), initial=0.0)))
            if not err <= 1e-9 * scale:
                bad[view.text] = err
    assert not bad, bad


# results long enough to be printed with where-parts (δ₁ = …)
WHERE_CELLS = [
    "W : n x n; x : n; J = sum(tanh(W tanh(W tanh(W x)))); ∂J/∂W",
    "X : T x d; Wq, Wk, Wv : d x k; G : T x k; Q = X Wq; K = X Wk; V = X Wv\n"
    "A = softmax(Q K^T / sqrt(k), axis=1); O = A V; L = sum(G ⊙ O); ∂L/∂Wq",
]
OP_TABLE_CELLS = {row.cell(w): f"{row.id}-{w}" for row, w in op_table.CASES if not row.crash}


@pytest.mark.parametrize("cell", WHERE_CELLS + list(OP_TABLE_CELLS),
                         ids=[f"where{i}" for i in range(len(WHERE_CELLS))] + list(OP_TABLE_CELLS.values()))
def test_every_printed_view_of_the_operator_table_reads_back(cell):
    test_every_printed_view_of_the_corpus_reads_back(cell)


def test_the_round_trip_covers_hundreds_of_views_and_their_where_parts():
    views = [v for cell in CORPUS_CELLS for v in matrix_views(cell)]
    assert len(views) >= 500
    where = [v for cell in WHERE_CELLS for v in matrix_views(cell) if v.where]
    assert len(where) >= 6 and all(len(v.where_text) >= 1 for v in where)


def test_subscripted_names_read_back_in_either_spelling():
    """b_1 prints as b₁; b₁ reads as the declared b_1 (and ∂J/∂W₂ asks for W_2)."""
    res = mm.derive("x : n; b_1 : n; W_2 : n x n\nJ = sum(b_1 ⊙ (W_2 x))\n∂J/∂x, ∂J/∂W₂")
    assert res[1].request.wrt_name == "W_2"
    for r in res:
        for layout in LAYOUTS:
            assert "₁" in r.view(layout).text or "₂" in r.view(layout).text
            assert round_trip_error(r.view(layout)) < 1e-9
