"""A sum of a centred quantity vanishes, and only that.

``Xc = X − 𝟏 μ`` with ``μ`` the mean of ``X``'s columns has ``𝟏ᵀ Xc = 0`` for
every ``X``: an identity of the definitions, not a fact about the data.  So
``𝟏ᵀ (δ + X̂ ⊙ 𝟏 c)`` in a batch-norm gradient is ``𝟏ᵀ δ``, as CS231n prints
it.  The same with the mean taken along rows, of a vector, or of every entry,
in each spelling of the mean.  It is false (and left alone) for a mean along
the other axis, a weighted mean, the mean of another matrix, or a division
by something that changes along the summed axis.

Every derivative here is checked against finite differences
(``conftest.check_numerically``); every decision "this sum vanishes" of the
engine is compared with the sum computed in NumPy.
"""

from __future__ import annotations

import numpy as np
import pytest

import matcalc_magic as mm
from conftest import check_numerically, draw_values, parse_decls
from matcalc_magic.calculus import centred
from matcalc_magic.calculus.centred import BOTH, Sums
from matcalc_magic.syntax import parse
from matcalc_magic.typecheck import check


def _without_the_rule(monkeypatch, cell: str, request: int = 0) -> str:
    """What printed before sums of centred quantities were known to vanish."""
    with monkeypatch.context() as m:
        m.setattr(centred.Sums, "without_vanishing", lambda self, e, axes: e)
        m.setattr(centred.Sums, "product_without_vanishing", lambda self, factors: None)
        return mm.derive(cell)[request].view().text


def _norm(x, axis):
    xc = x - x.mean(axis=axis, keepdims=True)
    return xc / np.sqrt((xc ** 2).mean(axis=axis, keepdims=True) + 1e-5)


# ====================================================================== derivations that get shorter
# batch norm (axis 0, the batch as rows) and layer norm (axis 1, a token per row)
NORM = """X : N x D
γ : 1 x D
G : N x D
μ = {mean}
Xc = X - μ
v = (1/{count}) sum(Xc ⊙ Xc, axis={axis})
s = sqrt(v + 1e-5)
Xh = Xc ⊘ s
L = sum(G ⊙ (Xh ⊙ γ))
∂L/∂X
"""

LAYER_NORM_VECTOR = """x : d
g : d
μ = {mean}
xc = x - μ
s = sqrt((1/d) xc^T xc + 1e-5)
L = g^T (xc / s)
∂L/∂x
"""

SHORTER = [
    # batch norm, the batch as rows: 𝟏ᵀ (δ₁ + δ₂) loses δ₂ = −(1/N) X̂ ⊙ 𝟏 (𝟏ᵀ (δ₁ ⊙ X̂))
    *[pytest.param(NORM.format(mean=mean, count="N", axis=0), "X",
                   lambda v: np.sum(v["G"] * _norm(v["X"], 0) * v["γ"]),
                   "δ₁ - (1/N) Xh ⊙ (𝟏ᵀ (δ₁ ⊙ Xh)) - (1/N) 𝟏 (𝟏ᵀ δ₁), where δ₁ = (G ⊙ γ) ⊘ s",
                   id=f"batch-norm {mean}")
      for mean in ("(1/N) sum(X, axis=0)", "np.mean(X, axis=0, keepdims=True)", "𝟏ᵀ X / N",
                   "mean(X, axis=0)")],
    # layer norm, a token per row (the attention block): the same along the rows
    *[pytest.param(NORM.format(mean=mean, count="D", axis=1), "X",
                   lambda v: np.sum(v["G"] * _norm(v["X"], 1) * v["γ"]),
                   "δ₁ - (1/D) Xh ⊙ ((δ₁ ⊙ Xh) 𝟏) - (1/D) (δ₁ 𝟏) 𝟏ᵀ, where δ₁ = (G ⊙ γ) ⊘ s",
                   id=f"layer-norm rows {mean}")
      for mean in ("(1/D) sum(X, axis=1)", "np.mean(X, axis=1, keepdims=True)", "X 𝟏 / D", "mean(X, axis=1)")],
    # layer norm of one vector
    *[pytest.param(LAYER_NORM_VECTOR.format(mean=mean), "x", lambda v: (v["g"].T @ _norm(v["x"], 0)).item(),
                   "g / s - (1/d) (𝟏ᵀ g) 𝟏 / s - (1/d) (1/s³) (gᵀ xc) xc", id=f"layer-norm vector {mean}")
      for mean in ("(1/d) sum(x)", "mean(x)", "𝟏ᵀ x / d", "np.mean(x)")],
    # the mean of every entry: the sum of every entry vanishes
    pytest.param("X, G : N x D\nm = sum(X) / (N * D)\nXc = X - m\ns = sqrt(sum(Xc ⊙ Xc) / (N * D) + 1e-5)\n"
                 "L = sum(G ⊙ Xc) / s\n∂L/∂X", "X", lambda v: np.sum(v["G"] * _norm(v["X"], None)),
                 "G / s - (1/(D N)) (𝟏ᵀ G 𝟏) 𝟏 𝟏ᵀ / s - (1/(D N)) (1/s³) tr(Gᵀ Xc) Xc", id="whole-matrix norm"),
    # the standard deviation L: (x − μ) / (n L), the mean's share gone
    pytest.param("x : n\nL = std(x)\n∂L/∂x", "x", lambda v: np.std(v["x"]),
                 "(1/n) (x - (1/n) (𝟏ᵀ x) 𝟏) / L", id="standard-deviation"),
    # ∂ ‖X − 𝟏 μ‖²/∂X is 2 Xc: the mean's own share sums to zero
    pytest.param("X : N x D\nXc = X - mean(X, axis=1, keepdims=True)\nL = sum(Xc ⊙ Xc)\n∂L/∂X", "X",
                 lambda v: np.sum((v["X"] - v["X"].mean(axis=1, keepdims=True)) ** 2), "2 Xc", id="squared-norm"),
    # 𝟏 in a product sums too, through a transpose
    pytest.param("X, Y : N x D\nw : D\nXc = X - mean(X, axis=0)\nL = 𝟏ᵀ (Xc + Y) w\n∂L/∂w", "w",
                 lambda v: np.sum((v["X"] - v["X"].mean(axis=0) + v["Y"]) @ v["w"]), "Yᵀ 𝟏", id="ones-product"),
    # an unnamed difference spread among other terms cancels as a group
    pytest.param("X, Y : N x D\nw : D\nL = sum((X - 𝟏 𝟏ᵀ X / N + Y) w)\n∂L/∂w", "w",
                 lambda v: np.sum((v["X"] - v["X"].mean(axis=0) + v["Y"]) @ v["w"]), "Yᵀ 𝟏", id="group-of-terms"),
]


@pytest.mark.parametrize("cell, wrt, f, form", SHORTER)
def test_a_sum_of_a_centred_quantity_is_dropped(monkeypatch, cell, wrt, f, form):
    r = mm.derive(cell)[0]
    text = r.view("shape").text
    assert text.split(" = ", 1)[1] == form
    assert len(text) < len(_without_the_rule(monkeypatch, cell))
    check_numerically(r, f, cell, wrt)


def test_a_sum_that_vanishes_entirely_is_zero(monkeypatch):
    cell = "X : N x D\nw : D\nXc = X - mean(X, axis=0)\nL = 𝟏ᵀ Xc w\n∂L/∂w"
    r = mm.derive(cell)[0]
    assert r.view().rhs_text == "0"
    assert _without_the_rule(monkeypatch, cell).endswith("Xcᵀ 𝟏")
    check_numerically(r, lambda v: np.sum((v["X"] - v["X"].mean(axis=0)) @ v["w"]), cell, "w", allow_zero=True)


def test_a_centring_matrix_beside_a_centred_vector_is_the_identity(monkeypatch):
    # xcᵀ (I − (1/N) 𝟏 𝟏ᵀ) = xcᵀ: BatchNorm's Jacobian per feature, as the lecture derivations write it,
    # (γ/σ) (I − (1/N) 𝟏 𝟏ᵀ − (1/N) x̂ x̂ᵀ); before, the centring matrix was named and used twice
    cell = ("x : N\nγ, β : scalar\nμ = mean(x)\nxc = x - μ\nv = mean(xc ⊙ xc)\nσ = sqrt(v + 1e-5)\nxh = xc / σ\n"
            "y = γ xh + β\n∂y/∂x")
    r = mm.derive(cell)[0]
    assert r.view("numerator").rhs_text == "γ ((I - (1/N) 𝟏 𝟏ᵀ) / σ - (1/N) (1/σ³) xc xcᵀ)"
    assert r.view("index").rhs_text == "-(1/N) γ σ^(-3) xc[i] xc[j] + γ 1/σ δ[i,j] - (1/N) γ 1/σ"
    assert "where δ₁ = I - (1/N) 𝟏 𝟏ᵀ" in _without_the_rule(monkeypatch, cell)

    def f(v):
        xc = v["x"] - v["x"].mean()
        return v["γ"] * xc / np.sqrt(np.mean(xc ** 2) + 1e-5) + v["β"]

    check_numerically(r, f, cell, "x")


def test_a_named_definition_holding_a_vanishing_sum_keeps_its_name():
    # c is β for every X, but the user named it c: the result says c (not 𝟏ᵀ (G ⊙ X ⊙ β))
    cell = ("X, G : N x D\nβ, γ : 1 x D\nXc = X - mean(X, axis=0)\nc = sum(Xc, axis=0) + β\n"
            "L = sum(G ⊙ X ⊙ c ⊙ γ)\n∂L/∂γ")
    r = mm.derive(cell)[0]
    assert r.view().rhs_text == "𝟏ᵀ (G ⊙ X ⊙ c)"
    check_numerically(r, lambda v: np.sum(v["G"] * v["X"] * v["β"] * v["γ"]), cell, "γ")


# ====================================================================== derivations left alone
UNCHANGED = [
    # centred along the rows, normalised down the columns
    pytest.param("X, G : N x D\nXc = X - mean(X, axis=1)\ns = sqrt(mean(Xc ⊙ Xc, axis=0) + 1e-5)\n"
                 "L = sum(G ⊙ (Xc ⊘ s))\n∂L/∂X",
                 lambda v: _sum_scaled(v, v["X"] - v["X"].mean(axis=1, keepdims=True)), id="other-axis"),
    # a weighted mean (the weights sum to one): 𝟏ᵀ (X − 𝟏 wᵀX) = 𝟏ᵀX − N wᵀX
    pytest.param("X, G : N x D\nw : N, probability\nXc = X - 𝟏 (w^T X)\ns = sqrt(mean(Xc ⊙ Xc, axis=0) + 1e-5)\n"
                 "L = sum(G ⊙ (Xc ⊘ s))\n∂L/∂X",
                 lambda v: _sum_scaled(v, v["X"] - v["w"].T @ v["X"]), id="weighted-mean"),
    # the mean of another matrix
    pytest.param("X, G, Y : N x D\nXc = X - mean(Y, axis=0)\ns = sqrt(mean(Xc ⊙ Xc, axis=0) + 1e-5)\n"
                 "L = sum(G ⊙ (Xc ⊘ s))\n∂L/∂X",
                 lambda v: _sum_scaled(v, v["X"] - v["Y"].mean(axis=0)), id="other-matrix"),
    # divided by what changes down the columns: 𝟏ᵀ (Xc ⊘ S) is no sum of Xc
    pytest.param("X, G : N x D\nS : N x D, positive\nXc = X - mean(X, axis=0)\nL = sum(G ⊙ (Xc ⊘ S))\n∂L/∂X",
                 lambda v: np.sum(v["G"] * (v["X"] - v["X"].mean(axis=0)) / v["S"]), id="elementwise-scale"),
    # the wrong count: 𝟏ᵀ (X − 𝟏 𝟏ᵀX / D) = (1 − N/D) 𝟏ᵀX
    pytest.param("X, Y : N x D\nw : D\nL = sum((X - 𝟏 𝟏ᵀ X / D + Y) w)\n∂L/∂w",
                 lambda v: np.sum((v["X"] - v["X"].sum(axis=0) / v["X"].shape[1] + v["Y"]) @ v["w"]),
                 id="wrong-count"),
]


def _sum_scaled(v, xc):
    return np.sum(v["G"] * xc / np.sqrt((xc ** 2).mean(axis=0, keepdims=True) + 1e-5))


@pytest.mark.parametrize("cell, f", UNCHANGED)
def test_a_sum_that_does_not_vanish_is_left_alone(monkeypatch, cell, f):
    r = mm.derive(cell)[0]
    assert r.view().text == _without_the_rule(monkeypatch, cell)
    wrt = cell.rsplit("∂", 1)[1]
    check_numerically(r, f, cell, wrt)


# ====================================================================== the decision, against NumPy
DEFINITIONS = """X, Y : N x D
x : d
w : N, probability
c : 1 x D
r : N x 1
S : N x D, positive
A : M x N
B : D x K
"""

# (the definition of Z, its NumPy value)
QUANTITIES = {
    "down the columns": ("X - mean(X, axis=0)", lambda v: v["X"] - v["X"].mean(axis=0)),
    "along the rows": ("X - mean(X, axis=1)", lambda v: v["X"] - v["X"].mean(axis=1, keepdims=True)),
    "spelled with 𝟏": ("X - 𝟏 (𝟏ᵀ X) / N", lambda v: v["X"] - v["X"].mean(axis=0)),
    "normalised": ("(X - mean(X, axis=0)) ⊘ sqrt(mean((X - mean(X, axis=0)) ⊙ (X - mean(X, axis=0)), axis=0))",
                   lambda v: _norm0(v["X"])),
    "times a row": ("(X - mean(X, axis=0)) ⊙ c", lambda v: (v["X"] - v["X"].mean(axis=0)) * v["c"]),
    "times a column": ("(X - mean(X, axis=0)) ⊙ r", lambda v: (v["X"] - v["X"].mean(axis=0)) * v["r"]),
    "over S": ("(X - mean(X, axis=0)) ⊘ S", lambda v: (v["X"] - v["X"].mean(axis=0)) / v["S"]),
    "squared": ("(X - mean(X, axis=0)) ⊙ (X - mean(X, axis=0))", lambda v: (v["X"] - v["X"].mean(axis=0)) ** 2),
    "transposed": ("(X - mean(X, axis=0))ᵀ", lambda v: (v["X"] - v["X"].mean(axis=0)).T),
    "left product": ("A (X - mean(X, axis=1))", lambda v: v["A"] @ (v["X"] - v["X"].mean(axis=1, keepdims=True))),
    "right product": ("(X - mean(X, axis=0)) B", lambda v: (v["X"] - v["X"].mean(axis=0)) @ v["B"]),
    "weighted mean": ("X - 𝟏 (wᵀ X)", lambda v: v["X"] - v["w"].T @ v["X"]),
    "another matrix": ("X - mean(Y, axis=0)", lambda v: v["X"] - v["Y"].mean(axis=0)),
    "wrong count": ("X - 𝟏 𝟏ᵀ X / D", lambda v: v["X"] - v["X"].sum(axis=0) / v["X"].shape[1]),
    "every entry": ("X - sum(X) / (N * D)", lambda v: v["X"] - v["X"].mean()),
    "a vector": ("x - mean(x)", lambda v: v["x"] - v["x"].mean()),
}


def _norm0(x):
    xc = x - x.mean(axis=0)
    return xc / np.sqrt((xc ** 2).mean(axis=0))


AXES = {"axis 0": frozenset({0}), "axis 1": frozenset({1}), "all": BOTH}
NUMPY_AXIS = {"axis 0": 0, "axis 1": 1, "all": None}


@pytest.mark.parametrize("axes", list(AXES))
@pytest.mark.parametrize("name", list(QUANTITIES))
def test_the_engine_says_a_sum_vanishes_exactly_when_it_does(name, axes):
    text, f = QUANTITIES[name]
    cell = DEFINITIONS + f"Z = {text}\nL = sum(Z)\n∂L/∂X"
    z = next(node for node, label in check(parse(cell)).labels.items() if label == "Z")
    values, _ = draw_values(parse_decls(cell), np.random.default_rng(len(name)))
    total = np.sum(f(values), axis=NUMPY_AXIS[axes])
    vanishes_in_numpy = bool(np.allclose(total, 0, atol=1e-9))
    assert Sums().vanishes(z, AXES[axes]) is vanishes_in_numpy


def test_the_cases_above_include_both_answers():
    """Some quantities vanish along some axes and not along others (the test above cannot pass by
    always saying one thing)."""
    said = {Sums().vanishes(_defined(text), axes) for text, _f in QUANTITIES.values() for axes in AXES.values()}
    assert said == {True, False}
    assert Sums().vanishes(_defined("X - mean(X, axis=0)"), frozenset({0}))
    assert not Sums().vanishes(_defined("X - mean(X, axis=0)"), frozenset({1}))
    assert not Sums().vanishes(_defined("X - 𝟏 (wᵀ X)"), frozenset({0}))


def _defined(text):
    cell = DEFINITIONS + f"Z = {text}\nL = sum(Z)\n∂L/∂X"
    return next(node for node, label in check(parse(cell)).labels.items() if label == "Z")


# ====================================================================== copies summed count
def test_a_sum_of_copies_counts_them():
    """𝟏ᵀ (𝟏 r) is N r and (𝟏 𝟏ᵀ) 𝟏 is n 𝟏: with that known, a gradient whose
    centred part vanishes prints without it (and reads back: a product of
    bare 𝟏's has no length of its own to read)."""
    cell = """X : N x D
β : 1 x D
G : N x D
μ = (1/N) sum(X, axis=0)
Xc = X - μ
c = sum(Xc, axis=0) + β
L = sum(G ⊙ X ⊙ c)
∂L/∂X
"""
    r = mm.derive(cell)[0]

    def f(v):
        X = v["X"]
        return np.sum(v["G"] * X * (np.sum(X - X.mean(axis=0), axis=0) + v["β"]))

    check_numerically(r, f, cell, "X")
    assert r.view("shape").rhs_text == "G ⊙ c"

    cell = """x : n
f = sum(x 𝟏_n^T)
∂f/∂x
"""
    r = mm.derive(cell)[0]
    check_numerically(r, lambda v: np.sum(v["x"]) * len(v["x"]), cell, "x")
    assert r.view("shape").rhs_text == "n 𝟏"
