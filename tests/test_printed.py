"""Every printed form is valid input: a view's text, parsed back with its
cell's declarations and definitions, has the view's value."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from cells import CS224N
from conftest import check_numerically
from corpus import cookbook, cs224n, ng, seeds, textbooks, wikipedia

import test_op_table as op_table

import matcalc_magic as mm
from matcalc_magic.api import bind
from matcalc_magic.evaluate import evaluate
from matcalc_magic.verify.printed import parse_printed
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
    e.cell for mod in (wikipedia, cookbook, cs224n, ng, seeds, textbooks) for e in mod.ENTRIES if not e.refused
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
    textbooks.BPTT,  # a δ per step, the later named inside the earlier
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


# ====================================================================== printers: forms that read back
# (declarations, function, variable, layout, the printed right-hand side): each was
# ambiguous or unreadable as printed before and now reads back with its value
PRINTED_AS_INPUT = [
    # an identity or 𝟏 whose size no neighbour fixes shows it (a factor of ⊗, sliced)
    ("a : m x n; b : p x n", "np.vstack([a, b])", "a", "vec", "I_n ⊗ [I_m; zeros(p, m)]"),
    ("A : m x n; B : p x q", "kron(A, B)", "B", "vec", "((I_n ⊗ K(q,m)) ⊗ I_p) (vec(A) ⊗ eye(p*q))"),
    ("X : m x n; b : m", "(X + b)[1:, 0]", "b", "shape", "(I_n[0, :] 𝟏) I_m[1:, :]"),
    ("A : n x n; S : n x n", "S + I ⊙ A S", "A", "vec", "(Sᵀ ⊗ I_n) diag(vec(I_n))"),
    # …but not where the result's own shape fixes it
    ("X : m x n; A : n x k", "X A", "X", "vec", "Aᵀ ⊗ I"),
    # vec(𝟏 𝟏ᵀ) is 𝟏, whose length the result fixes; a slice of 𝟏 𝟏ᵀ is 𝟏 𝟏ᵀ
    ("X : m x n", "sum(X)", "X", "vec", "𝟏ᵀ"),
    ("W : m x n; c : scalar", "c sum(W)", "W", "vec", "(c 𝟏)ᵀ"),
    ("X : m x n", "sum([0, X])", "X", "shape", "𝟏 𝟏ᵀ"),
    ("G : m x k", "log(1 + sum(G) ⊙ sum(G))", "G", "vec", "2 ((𝟏ᵀ G 𝟏) 𝟏 / (1 + (𝟏ᵀ G 𝟏)²))ᵀ"),
    ("y : m; C : m x m", "sum(y (sum(C, axis=0)))", "C", "vec", "vec(𝟏_m (yᵀ ones(m, m)))ᵀ"),
    # a sum of broadcasts is written out where the terms as written would not broadcast to its shape
    ("C : m x m", "(sum(C, axis=0)) (sum(C^T, axis=1))", "C", "shape", "𝟏 (Cᵀ 𝟏)ᵀ + 𝟏 (𝟏ᵀ C)"),
    ("C : k x n; x : k", "sum(exp(sum(C ⊙ x, axis=1)))", "C", "shape", "(exp((C ⊙ x) 𝟏) 𝟏ᵀ) ⊙ (x 𝟏ᵀ)"),
    # log det(S) is log applied to det(S): a power after it needs brackets
    ("S : n x n, spd; a : scalar", "logdet(S)^3", "S", "shape", "3 (log det(S))² S⁻¹"),
    ("S : n x n, spd; a : scalar", "(a + logdet(S)) (logdet(S) ⊙ (a + logdet(S)))", "S", "shape",
     "(a + 3 log det(S)) (a + log det(S)) S⁻¹"),
    # an elementwise function of a zero matrix is a constant matrix, not cos(0)
    ("G : m x k; H : k x m", "tr(cos(H - H) G)", "G", "vec", "𝟏ᵀ"),
    # unvec with its shape; Euler's number; a fractional power, balanced
    ("X : m x n; a : m*n", "a^T vec(X)", "X", "shape", "unvec(a, m, n)"),
    ("x : n", "np.e x", "x", "shape", "exp(1) I"),
    ("x : n", "norm(x - sum(x)) / sqrt(n)^3", "x", "shape", "(n^(-3/2)) (δ₁ - (𝟏ᵀ δ₁) 𝟏) / ‖δ₁‖"),
    # x − mean(x) sums to zero: the mean's share of the gradient is gone, and 1/√n is what is left of n^(-3/2) n
    ("x : n", "std(x)", "x", "shape", "(1/sqrt(n)) δ₁ / ‖δ₁‖"),
    # a broadcast under a one-operand function is written out: (𝟏_n pᵀ)^∘(-1), not (pᵀ)^∘(-1)
    ("x : n; y : n; p : n, positive", "(p ⊙ y) / p^T x", "y", "numerator",
     "(xᵀ ⊗ I_n) diag(vec((𝟏_n pᵀ)^∘(-1))) (𝟏_n ⊗ I_n) diag(p)"),
]


@pytest.mark.parametrize("decls, expr, wrt, layout, text", PRINTED_AS_INPUT,
                         ids=[f"{p[1]}-{p[3]}" for p in PRINTED_AS_INPUT])
def test_printed_forms_that_needed_a_printer_fix(decls, expr, wrt, layout, text):
    view = mm.derive(f"{decls}\n∂({expr})/∂{wrt}")[0].view(layout)
    assert view.rhs_text == text
    for seed in (0, 1):
        assert round_trip_error(view, seed) < 1e-9


def test_a_broadcast_is_bracketed_where_it_is_an_operand_and_written_out_under_a_function():
    from matcalc_magic.graph import var
    from matcalc_magic.ops import build as B
    from matcalc_magic.render.text import to_text
    from matcalc_magic.shapes import ONE, dim_symbol

    m, n = dim_symbol("m"), dim_symbol("n")
    b = var("b", (m, ONE))
    assert to_text(B.rows(B.broadcast(b, (m, n)), 1, m)) == "(b 𝟏ᵀ)[1:, :]"  # not b (𝟏ᵀ[1:, :])
    assert to_text(B.elementwise("exp", B.broadcast(b, (m, n)))) == "exp(b 𝟏ᵀ)"  # m×n, not exp(b)


def test_index_forms_with_more_summed_letters_than_the_alphabet_read_back():
    """Past z the summation letters are a₁, b₁, … (one letter each in Σ_…),
    so a long index form still reads back (the Hessian of tr(A⁻¹⁰) sums over
    about 40 letters), and LaTeX writes them a_{1}."""
    cell = "A : n x n\nhessian(tr(A^{-10}), A)"
    result = mm.derive(cell).results[0]
    view = result.view("index")
    assert "a₁" in view.text and "a_{1}" in view.latex
    check_numerically(result, lambda v: np.trace(np.linalg.matrix_power(np.linalg.inv(v["A"]), 10)),
                      "A : n x n", "A", layouts=("index", "vec"))


def test_a_term_with_a_letter_neither_free_nor_summed_fails_the_reading():
    """A stray index letter in a printed term is a misprint the check reports."""
    from matcalc_magic.verify.printed_index import read_index

    cell = mm.derive("x : n\nW : m x n\nz = W x\n∂z/∂x").results[0]
    view = cell.view("index")
    bad = type("Misprinted", (), {"rhs_text": "W[i,j] x[a]", "lhs_text": view.lhs_text,
                                  "result": view.result})()
    form = read_index(bad)
    sizes = {s: 3 for s in cell.cell.dims.values()}
    env = {"x": np.ones((3, 1)), "W": np.ones((3, 3))}
    with pytest.raises(Exception, match="neither free nor summed"):
        form.index.value(env, sizes)


@pytest.mark.parametrize("cell, f, decls, wrt", [
    ("X : N x d\nμ : d\nXc = X - 𝟏 μ^T\nJ = sum(Xc ⊙ Xc)\n∂J/∂μ",
     lambda v: np.sum((v["X"] - v["μ"].T) ** 2), "X : N x d\nμ : d", "μ"),
    ("x : n\nA : n x n\ns : scalar\nC = A A^T + s^2 I\nJ = x^T C^-1 x\n∂J/∂s",
     lambda v: (v["x"].T @ np.linalg.solve(v["A"] @ v["A"].T + v["s"] ** 2 * np.eye(len(v["x"])), v["x"])),
     "x : n\nA : n x n\ns : scalar", "s"),
])
def test_index_forms_read_back_through_definitions_with_a_bare_identity_or_ones(cell, f, decls, wrt):
    """The definitions an index form names (Xc, C) are evaluated with the
    sizes the cell gave their bare 𝟏 or I."""
    result = mm.derive(cell).results[0]
    check_numerically(result, f, decls, wrt)
