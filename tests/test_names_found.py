"""The cell's definitions found again in results that build them another way.

A part of a result equal in value to a definition prints as its name (see
matcalc_magic/render/recognise.py); a scaled definition is folded back in
where that reads shorter (matcalc_magic/calculus/refold.py).  A definition
that is *not* equal to any part — the user's own mistake — must never be
used.  The lecture cells themselves are in tests/corpus/textbooks.py.
"""

from __future__ import annotations

import numpy as np

import matcalc_magic as mm
from conftest import check_numerically
from corpus import textbooks as T

#: the lecture cell (FlashAttention's dS named) asking for ∂L/∂W_Q only
DS = "dS = A ⊙ (dA - (A ⊙ dA) 𝟏 𝟏^T)"
ATTENTION = T.NAMED_ATTENTION.replace(DS, "{ds}").replace("∂L/∂W_V, ∂L/∂W_Q, ∂L/∂W_K", "∂L/∂W_Q")


def _derive(cell, wrt):
    r = mm.derive(cell)[0]
    check_numerically(r, T._named_attention, cell, wrt)
    return r


def test_a_definition_spelled_another_way_is_found():
    for spelling in (DS,
                     "dS = A * (dA - np.sum(A * dA, axis=1, keepdims=True))",
                     "dS = A ⊙ dA - A ⊙ ((dA ⊙ A) 𝟏 𝟏^T)"):
        r = _derive(ATTENTION.format(ds=spelling), "W_Q")
        assert r.view("shape").rhs_text == "(1/sqrt(d_k)) Xᵀ dS K", spelling
        assert "dSᵀ" in r.view("numerator").rhs_text  # the transposed view writes the name transposed


def test_a_wrong_definition_is_never_used():
    """The user's dS without the row-sum term, or with its sign wrong, is
    not the gradient's part: the result is printed without it."""
    for wrong in ("dS = A ⊙ ((A ⊙ dA) 𝟏 𝟏^T)", "dS = A ⊙ (dA + (A ⊙ dA) 𝟏 𝟏^T)", "dS = A ⊙ (dA - (A ⊙ dA) 𝟏 𝟏^T) / 2"):
        r = _derive(ATTENTION.format(ds=wrong), "W_Q")
        for layout in ("shape", "numerator", "denominator", "vec"):
            assert "dS" not in r.view(layout).text, (wrong, layout)


def test_the_whole_result_is_not_replaced_by_a_name():
    """A definition equal to the whole derivative is the user's claim about
    it, not a part of it: the formula is printed (a claim compares them)."""
    cell = ATTENTION.format(ds=DS + "\ndW = X^T dS K / sqrt(d_k)")
    r = _derive(cell, "W_Q")
    assert r.view("shape").rhs_text == "(1/sqrt(d_k)) Xᵀ dS K"


def test_a_scale_is_taken_into_a_factor_and_into_a_sum():
    cell = """X : N x D
W : D x C
b : (C,)
Y : N x C
S = X W + b
L = (1/(2 N)) sum((S - Y) ⊙ (S - Y))
dS = (S - Y) / N
∂L/∂W, ∂L/∂b
"""
    d = mm.derive(cell)

    def f(v):
        S = v["X"] @ v["W"] + v["b"].reshape(1, -1)
        return np.sum((S - v["Y"]) ** 2) / (2 * S.shape[0])

    check_numerically(d[0], f, cell, "W")
    check_numerically(d[1], f, cell, "b")
    assert d[0].view("shape").rhs_text == "Xᵀ dS"
    assert d[1].view("shape").rhs_text == "𝟏ᵀ dS"


GP = """x, y : n
σ_f, ℓ : scalar, positive
D = (x 𝟏_n^T - 𝟏_n x^T) ⊙ (x 𝟏_n^T - 𝟏_n x^T)
K = σ_f^2 exp(-D / (2 ℓ^2)) + I_n
logp = -(1/2) y^T K^{-1} y - (1/2) log det(K)
{definition}
∂logp/∂ℓ
"""


def _gp(v):
    D = (v["x"] - v["x"].T) ** 2
    K = v["σ_f"].item() ** 2 * np.exp(-D / (2 * v["ℓ"].item() ** 2)) + np.eye(len(D))
    return (-0.5 * v["y"].T @ np.linalg.solve(K, v["y"])).item() - 0.5 * np.linalg.slogdet(K)[1]


def test_a_scaled_definition_is_folded_back_in():
    cell = GP.replace("{definition}", "dK_dℓ = σ_f^2 exp(-D / (2 ℓ^2)) ⊙ D / ℓ^3")
    r = mm.derive(cell)[0]
    check_numerically(r, _gp, cell, "ℓ")
    assert r.view("shape").rhs_text == "(1/2) (yᵀ K⁻¹ dK_dℓ K⁻¹ y - tr(K⁻¹ dK_dℓ))"


def test_any_scale_is_taken_out_of_the_coefficient():
    """P = ℓ⁶ (E ⊙ D) is not the textbook's ∂K/∂ℓ, but the result is still
    written in it, its scale moved into the coefficient (1/ℓ³ → 1/ℓ⁹)."""
    cell = GP.replace("{definition}", "P = ℓ^6 exp(-D / (2 ℓ^2)) ⊙ D")
    r = mm.derive(cell)[0]
    check_numerically(r, _gp, cell, "ℓ")
    assert r.view("shape").rhs_text == "(1/2) (1/ℓ⁹) (yᵀ K⁻¹ P K⁻¹ y - tr(K⁻¹ P)) σ_f²"


LOGISTIC = """X : n x d
w : d
y : n
z = X w
{sigma}
L = -y^T log(σz) - (1 - y)^T log(1 - σz)
∂L/∂w
"""


def _logistic(v):
    p = 1 / (1 + np.exp(-(v["X"] @ v["w"])))
    return -(v["y"].T @ np.log(p) + (1 - v["y"]).T @ np.log(1 - p)).item()


def test_an_elementwise_definition_is_used_through_its_inverse():
    """σ = 1/(1 + exp(−z)) gives exp(−z) = 1/σ − 1: the gradient cancels to
    PRML's (4.91) Xᵀ (σ − y) however the sigmoid is spelled."""
    for sigma in ("σz = 1 / (1 + exp(-z))", "σz = 1 / (1 + np.exp(-z))", "σz = exp(z) / (1 + exp(z))",
                  "σz = σ(z)"):
        cell = LOGISTIC.format(sigma=sigma)
        r = mm.derive(cell)[0]
        check_numerically(r, _logistic, cell, "w")
        assert r.view("shape").rhs_text == "Xᵀ (σz - y)", sigma
