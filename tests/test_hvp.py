"""``hvp(J, w, v)``: the Hessian-vector product ∇²J · v, derived without the
Hessian, printed, checked, and compared here with second differences of the
user's own NumPy function along v and each basis direction."""

from __future__ import annotations

import numpy as np
import pytest

import matcalc_magic as mm
from conftest import LAYOUTS, directions, draw_values, fd_second, parse_decls, sigmoid

LR = """\
X : m x n
y : m
w, v : n
p = σ(X w)
J = -(1/m) (y^T log(p) + (1 - y)^T log(1 - p))
hvp(J, w, v)
"""


def lr_loss(values):
    X, y, w = values["X"], values["y"], values["w"]
    p = sigmoid(X @ w)
    return -(y.T @ np.log(p) + (1 - y).T @ np.log(1 - p)) / X.shape[0]


CASES = [
    pytest.param(LR, lr_loss, "w", "v", id="logistic-regression"),
    pytest.param("x, u : n; A : n x n\nhvp(x^T A x, x, u)",
                 lambda v: v["x"].T @ v["A"] @ v["x"], "x", "u", id="quadratic"),
    pytest.param("X : n x n, invertible; V, A : n x n\nf = log det(X) + tr(A X^{-1})\nhvp(f, X, V)",
                 lambda v: np.linalg.slogdet(v["X"])[1] + np.trace(v["A"] @ np.linalg.inv(v["X"])),
                 "X", "V", id="logdet-matrix"),
    pytest.param("x, u : n; W : m x n\nJ = sum(tanh(W x) ** 2)\nhvp(J, x, u)",
                 lambda v: np.sum(np.tanh(v["W"] @ v["x"]) ** 2), "x", "u", id="tanh-squares"),
]


def fd_hvp(f, values, wrt, direction) -> np.ndarray:
    """(∇²f v)_e = ∂²f/∂v∂e by second central differences, one basis direction e at a time."""
    shape = values[wrt].shape
    out = np.zeros(shape)
    for e in directions(shape, symmetric=False):
        out += fd_second(f, values, wrt, values[direction], e) * e
    return out


@pytest.mark.parametrize("cell, f, wrt, direction", CASES)
def test_hvp_equals_second_differences_in_every_layout(cell, f, wrt, direction):
    r = mm.derive(cell)[0]
    assert r.kind == "hvp"
    values, _ = draw_values(parse_decls(cell), np.random.default_rng(3))
    want = fd_hvp(f, values, wrt, direction)
    assert np.max(np.abs(want)) > 1e-3  # the check is not vacuous
    r_, c_ = want.shape
    for layout in LAYOUTS:
        got = np.asarray(r.view(layout).evaluate(values))
        as_gradient = {"numerator": lambda a: a.T, "vec": lambda a: a.reshape((r_, c_), order="F")}.get(
            layout, lambda a: a.reshape(r_, c_))(got)
        np.testing.assert_allclose(as_gradient, want, rtol=1e-4, atol=1e-5, err_msg=layout)
    assert r.check().ok


def test_hvp_prints_without_the_hessian():
    r = mm.derive(LR)[0]
    assert r.view().text == "∇²_w J · v = (1/m) Xᵀ (p ⊙ (1 - p) ⊙ (X v))"
    assert "diag" not in r.view().text
    assert r.view("numerator").shape == ("1", "n")


def test_the_check_catches_a_wrong_hvp(monkeypatch):
    """The numeric check of an hvp does not trust the engine: a result that is
    off (the Hessian without its (1 − p) factor) fails it."""
    from matcalc_magic.ops import build as B

    d = mm.derive(LR)
    r = d[0]
    cell = d.cell
    X, v, p = cell.variables["X"], cell.variables["v"], cell.definitions["p"]
    wrong = B.smul(B.epow(B.const(cell.dims["m"]), -1),
                   B.matmul(B.transpose(X), B.hadamard(p, B.matmul(X, v))))
    monkeypatch.setattr(r.derivative, "matrix", wrong)
    r._views.clear()
    assert not r.check().ok


@pytest.mark.parametrize("cell, message", [
    ("x : n; u : m\nhvp(sum(x), x, u)", "must be shaped like x"),
    ("x : n\nhvp(sum(x), x, q)", "must be a declared variable"),
    ("x : n\nhvp(sum(x), x)", "hvp takes three arguments"),
    ("x, u : n\nhvp(x, x, u)", "needs a scalar function"),
    ("x, u : n\nhvp(sum(x), x + u, u)", "must be a variable"),
])
def test_hvp_mistakes_are_one_clear_error(cell, message):
    with pytest.raises(mm.MatcalcError, match=message):
        mm.derive(cell)


def test_a_claim_about_an_hvp_is_judged():
    from matcalc_magic.claims import check_claims

    d = mm.derive(LR + "claim hvp(J, w, v) = (1/m) X^T (p ⊙ (1 - p) ⊙ (X v))\n"
                  + "claim hvp(J, w, v) = (1/m) X^T (p ⊙ (X v))\n")
    right, wrong = check_claims(d, "shape")
    assert right.ok and not wrong.ok


def test_a_symmetric_variable_needs_a_symmetric_direction():
    with pytest.raises(mm.MatcalcError, match="declare V symmetric too"):
        mm.derive("X : n x n, spd; V : n x n\nhvp(log det(X), X, V)")
    r = mm.derive("X, V : n x n, spd\nhvp(log det(X), X, V)")[0]
    assert r.view().text == "∇²_X (log det(X)) · V = -X⁻¹ V X⁻¹"
    assert r.check().ok
