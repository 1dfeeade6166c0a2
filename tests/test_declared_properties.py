"""Declared properties describe where the data lives; they never change a derivative.

* ``probability`` / ``onehot`` (entries summing to one): the function is
  differentiated as written, and ``𝟏ᵀy = 1`` is used on the result only —
  ``log(sum(p))`` by a probability vector ``p`` still gives ``𝟏 / sum(p)``, and
  a Lagrangian keeps its ``λ 𝟏``;
* ``symmetric`` / ``spd``: the derivative is taken within symmetric matrices,
  sym(G) = (G + Gᵀ)/2 for a gradient, ``K N`` / ``N H N`` in the vec layout
  (N = (I + K)/2), so it vanishes on antisymmetric directions;
* the facts simplify finished results: ``2 (S W − W Λ)``, ``(a − π) φᵀ``,
  ``P − Y``.

Every derivative is compared with finite differences of a NumPy function
written out here (conftest's ``check_numerically``), which perturbs a
symmetric variable along E_ab + E_ba and every other variable freely.
"""

from __future__ import annotations

import numpy as np
import pytest

import matcalc_magic as mm
from conftest import check_numerically, draw_values, parse_decls, softmax
from matcalc_magic import graph as G
from matcalc_magic.calculus.constraints import use_facts
from matcalc_magic.claims import check_claims
from matcalc_magic.display import CellOutput
from matcalc_magic.evaluate import evaluate
from matcalc_magic.ops import build as B
from matcalc_magic.shapes import dim_symbol

SYMMETRIC_NOTE = "S is symmetric: the gradient within symmetric matrices, sym(G) = (G + Gᵀ)/2"


def derive_one(cell: str):
    (r,) = mm.derive(cell)
    return r


def value(r, values: dict, layout: str = "shape") -> np.ndarray:
    return np.asarray(r.view(layout).evaluate(values), dtype=float)


def antisymmetric(n: int, rng) -> np.ndarray:
    a = rng.standard_normal((n, n))
    return a - a.T


# ====================================================================== sums to one: never before differentiating
def test_probability_log_of_its_sum_keeps_its_derivative():
    # sum(p) = 1 on the simplex, but d log(sum p) = 𝟏ᵀdp / sum(p): rewriting first printed q
    cell = "p : n, probability\nq : n\nf = log(sum(p)) + q^T p\n∂f/∂p"
    r = derive_one(cell)
    check_numerically(r, lambda v: np.log(np.sum(v["p"])) + v["q"].T @ v["p"], cell, "p")
    values, _ = draw_values(parse_decls(cell), np.random.default_rng(1))
    assert np.allclose(value(r, values), values["q"] + 1)  # 𝟏 / sum(p) = 𝟏 on the simplex


def test_a_lagrangian_keeps_its_multiplier():
    # EM for mixture weights: L = Σᵢ log(aᵢᵀ π) + λ (𝟏ᵀπ − 1), stationary where A (𝟏 ⊘ Aᵀπ) + λ 𝟏 = 0
    cell = ("A : k x N, positive\nπ : k, probability\nλ : scalar\n"
            "L = sum(log(A^T π)) + λ (sum(π) - 1)\n∂L/∂π")
    r = derive_one(cell)

    def lagrangian(v):
        return np.sum(np.log(v["A"].T @ v["π"])) + v["λ"] * (np.sum(v["π"]) - 1)

    check_numerically(r, lagrangian, cell, "π")
    values, _ = draw_values(parse_decls(cell), np.random.default_rng(2))
    at = {lam: value(r, {**values, "λ": np.array([[lam]])}) for lam in (0.0, 2.5)}
    assert np.allclose(at[2.5] - at[0.0], 2.5)  # the λ 𝟏 term
    assert np.allclose(at[0.0], values["A"] @ (1 / (values["A"].T @ values["π"])))
    # the multiplier is found from the stationarity equations: πᵀ ∂L/∂π = N + λ = 0 at λ = −N
    n_points = values["A"].shape[1]
    grad = value(r, {**values, "λ": np.array([[-float(n_points)]])})
    assert abs((values["π"].T @ grad).item()) < 1e-9


def test_onehot_vector_sum_is_differentiated():
    # J = sum(y) (tᵀy): ∂J/∂y = (tᵀy) 𝟏 + sum(y) t, which is (tᵀy) 𝟏 + t at a one-hot y, not t
    cell = "y : k, onehot\nt : k\nJ = sum(y) (t^T y)\n∂J/∂y"
    r = derive_one(cell)
    check_numerically(r, lambda v: np.sum(v["y"]) * (v["t"].T @ v["y"]), cell, "y")


def test_onehot_columns_sum_is_differentiated():
    # 𝟏ᵀY = 𝟏ᵀ for one-hot columns; ∂ sum((𝟏ᵀY) ⊙ c)/∂Y = 𝟏 c, not 0
    cell = "Y : k x m, onehot\nc : 1 x m\nJ = sum(sum(Y, axis=0) ⊙ c)\n∂J/∂Y"
    r = derive_one(cell)
    check_numerically(r, lambda v: np.sum(np.sum(v["Y"], axis=0, keepdims=True) * v["c"]), cell, "Y")


def test_a_hessian_by_a_probability_vector_differentiates_the_unsimplified_gradient():
    # ∇ log(sum p) = 𝟏/sum(p) (= 𝟏 on the simplex); its derivative −𝟏𝟏ᵀ/sum(p)² is not 0
    cell = "p : n, probability\nf = log(sum(p))\nhessian(f, p)"
    r = derive_one(cell)
    check_numerically(r, lambda v: np.log(np.sum(v["p"])), cell, "p")


def test_facts_about_other_variables_still_simplify():
    # by θ, the one-hot y is data: 𝟏ᵀy = 1 gives the textbook ŷ − y
    r = derive_one("θ : k\ny : k, onehot\nJ = CE(y, softmax(θ))\n∂J/∂θ")
    assert r.view().rhs_text == "softmax(θ) - y"


# ====================================================================== symmetric and spd: within symmetric matrices
def test_gradient_by_a_symmetric_matrix_is_symmetric():
    cell = "S : n x n, symmetric\na, b : n\n∂(a^T S b)/∂S"
    r = derive_one(cell)
    assert r.view().rhs_text == "(1/2) (a bᵀ + b aᵀ)"
    assert r.note == SYMMETRIC_NOTE
    check_numerically(r, lambda v: v["a"].T @ v["S"] @ v["b"], cell, "S")
    values, _ = draw_values(parse_decls(cell), np.random.default_rng(3))
    g = value(r, values)
    a, b = values["a"], values["b"]
    assert np.allclose(g, g.T) and np.allclose(g, (a @ b.T + b @ a.T) / 2)


def test_sᵀ_may_be_used_before_differentiating():
    plain = derive_one("S : n x n, symmetric\na, b : n\n∂(a^T S b)/∂S")
    transposed = derive_one("S : n x n, symmetric\na, b : n\n∂(a^T S^T b)/∂S")
    assert transposed.view().rhs_text == plain.view().rhs_text


def test_an_already_symmetric_gradient_is_printed_as_it_is():
    # the Gaussian likelihood by its covariance (Rasmussen & Williams (5.9) by K)
    cell = "S : n x n, spd\ny : n\nf = -1/2 y^T inv(S) y - 1/2 logdet(S)\n∂f/∂S"
    r = derive_one(cell)
    assert r.view().rhs_text == "(1/2) (S⁻¹ y yᵀ S⁻¹ - S⁻¹)"  # as (5.9) writes it: ½ (α αᵀ − K⁻¹)
    check_numerically(
        r, lambda v: -0.5 * v["y"].T @ np.linalg.solve(v["S"], v["y"]) - 0.5 * np.linalg.slogdet(v["S"])[1], cell, "S")


def test_spd_gradient_that_is_not_symmetric_unconstrained():
    # tr(A S⁻¹) + log det S: G = S⁻¹ − S⁻¹ Aᵀ S⁻¹ is not symmetric for a general A
    cell = "S : n x n, spd\nA : n x n\nf = tr(A S^{-1}) + logdet(S)\n∂f/∂S"
    r = derive_one(cell)
    assert r.note == SYMMETRIC_NOTE
    check_numerically(r, lambda v: np.trace(v["A"] @ np.linalg.inv(v["S"])) + np.linalg.slogdet(v["S"])[1],
                      cell, "S")
    values, _ = draw_values(parse_decls(cell), np.random.default_rng(4))
    g = value(r, values)
    si = np.linalg.inv(values["S"])
    unconstrained = si - si @ values["A"].T @ si
    assert np.allclose(g, (unconstrained + unconstrained.T) / 2)


def test_hessian_by_a_symmetric_matrix_vanishes_on_antisymmetric_directions():
    cell = "S : n x n, spd\nhessian(logdet(S), S)"
    r = derive_one(cell)
    assert r.view().rhs_text == "-(1/2) (S⁻¹ ⊗ S⁻¹) (I + K(n,n))"
    check_numerically(r, lambda v: np.linalg.slogdet(v["S"])[1], cell, "S")
    rng = np.random.default_rng(5)
    values, _ = draw_values(parse_decls(cell), rng)
    h = value(r, values, "vec")
    a = antisymmetric(values["S"].shape[0], rng).reshape(-1, order="F")
    assert np.allclose(h, h.T) and np.allclose(h @ a, 0) and np.allclose(a @ h, 0)


@pytest.mark.parametrize("cell,f", [
    ("S : n x n, symmetric\nx : n\n∂(S x)/∂S", lambda v: v["S"] @ v["x"]),
    ("S : n x n, spd\n∂(inv(S))/∂S", lambda v: np.linalg.inv(v["S"])),
    ("S : n x n, symmetric\nA : n x n\n∂(A S)/∂S", lambda v: v["A"] @ v["S"]),
])
def test_jacobians_by_a_symmetric_matrix(cell, f):
    r = derive_one(cell)
    assert r.note.startswith("S is symmetric: the derivative within symmetric matrices")
    check_numerically(r, f, cell, "S")
    rng = np.random.default_rng(6)
    values, _ = draw_values(parse_decls(cell), rng)
    k = value(r, values, "vec")
    a = antisymmetric(values["S"].shape[0], rng).reshape(-1, order="F")
    assert np.allclose(k @ a, 0)


def test_the_convention_is_said_under_the_result():
    d = mm.derive("S : n x n, symmetric\na, b : n\n∂(a^T S b)/∂S")
    out = CellOutput(d, checks=[r.check() for r in d])
    assert SYMMETRIC_NOTE in out.plain()
    assert "mcm-note" in out.html() and "sym" in out.latex()
    # and not under a result by an unconstrained variable
    assert mm.derive("A : n x n\na, b : n\n∂(a^T A b)/∂A")[0].note == ""


def test_steps_close_with_the_symmetric_part():
    r = derive_one("S : n x n, symmetric\na, b : n\nJ = a^T S b\n∂J/∂S")
    for kind in ("differentials", "backprop"):
        steps = r.steps(kind)
        assert steps[-1].text.startswith("∂J/∂S = (1/2) (a bᵀ + b aᵀ)")
        assert steps[-1].rule == SYMMETRIC_NOTE


# ====================================================================== claims by a symmetric matrix
CLAIMS = "S : n x n, symmetric\na, b : n\nJ = a^T S b\n"


def test_claims_of_g_and_of_sym_g_are_both_right():
    g, sym, transposed = check_claims(mm.derive(
        CLAIMS + "claim ∂J/∂S = a b^T\nclaim ∂J/∂S = (a b^T + b a^T)/2\nclaim ∂J/∂S = b a^T\n"))
    assert sym.ok and sym.status in ("identical", "equal")
    for v in (g, transposed):
        assert v.ok and v.status == "equal"
        assert "correct within symmetric matrices" in v.diagnosis and "agree on every symmetric direction" in v.diagnosis


def test_the_cookbook_form_is_diagnosed():
    (v,) = check_claims(mm.derive(
        "Σ : n x n, spd\nclaim ∂(logdet(Σ))/∂Σ = 2 Σ^{-1} - diag(diag(Σ^{-1}))\n"))
    assert not v.ok and v.status == "independent-entries"
    assert "n(n + 1)/2 independent entries of Σ" in v.diagnosis
    assert "not a gradient for the Frobenius inner product" in v.diagnosis


@pytest.mark.parametrize("layout", ["shape", "numerator", "index", "vec"])
def test_claims_by_a_symmetric_matrix_in_every_layout(layout):
    vec = layout == "vec"
    (g, cookbook) = check_claims(mm.derive(
        CLAIMS + ("claim ∂J/∂S = vec(a b^T)^T\n" if vec else "claim ∂J/∂S = a b^T\n")
        + ("claim ∂J/∂S = vec(a b^T + b a^T - diag(diag(a b^T)))^T\n" if vec else
           "claim ∂J/∂S = a b^T + b a^T - diag(diag(a b^T))\n"), layout))
    assert g.ok and g.status == "equal", g.diagnosis
    assert not cookbook.ok and cookbook.status == "independent-entries", cookbook.diagnosis


def test_jacobian_and_hessian_claims_count_on_symmetric_directions_only():
    # K = xᵀ ⊗ I and H = −(S⁻¹ ⊗ S⁻¹) act on symmetric directions as the printed K N and N H N do
    jac, hess, wrong = check_claims(mm.derive(
        "S : n x n, spd\nx : n\nclaim ∂(S x)/∂S = x^T ⊗ eye(n)\n"
        "claim ∂²(logdet(S))/∂S² = -(inv(S) ⊗ inv(S))\nclaim ∂²(logdet(S))/∂S² = -2 (inv(S) ⊗ inv(S))\n", "vec"))
    assert jac.ok and jac.status == "equal" and "symmetric directions" in jac.diagnosis
    assert hess.ok and hess.status == "equal"
    assert not wrong.ok


def test_a_wrong_claim_by_a_symmetric_matrix_stays_wrong():
    (v,) = check_claims(mm.derive(CLAIMS + "claim ∂J/∂S = a a^T\n"))
    assert not v.ok


# ====================================================================== facts simplify results
def test_symmetry_merges_a_transposed_sum():
    # PCA's Lagrangian tr(Wᵀ S W) − tr(Λ (Wᵀ W − I)), S and Λ symmetric
    cell = ("S : n x n, symmetric\nW : n x k\nΛ : k x k, symmetric\n"
            "L = tr(W^T S W) - tr(Λ (W^T W - eye(k)))\n∂L/∂W")
    r = derive_one(cell)
    assert r.view().rhs_text == "2 (S W - W Λ)"

    def lagrangian(v):
        w = v["W"]
        return np.trace(w.T @ v["S"] @ w) - np.trace(v["Λ"] @ (w.T @ w - np.eye(w.shape[1])))

    check_numerically(r, lagrangian, cell, "W")


def test_a_onehot_action_cancels_the_policy_probability():
    # REINFORCE: ∂ log(aᵀ π)/∂W with π = softmax(W φ) and a one-hot action a
    cell = "φ : d\nW : k x d\na : k, onehot\nπ = softmax(W φ)\nJ = log(a^T π)\n∂J/∂W"
    r = derive_one(cell)
    assert r.view().rhs_text == "(a - π) φᵀ"
    check_numerically(r, lambda v: np.log(v["a"].T @ softmax(v["W"] @ v["φ"])), cell, "W")


def test_onehot_columns_sum_to_one_in_a_result():
    # (𝟏ᵀ Y) ⊙ P with one-hot columns of Y is P
    cell = "Y : C x N, onehot\nZ : C x N\nP = softmax(Z, axis=0)\nJ = -sum(Y ⊙ log(P))\n∂J/∂Z"
    r = derive_one(cell)
    assert r.view().rhs_text == "P - Y"
    check_numerically(r, lambda v: -np.sum(v["Y"] * np.log(softmax(v["Z"], 0))), cell, "Z")


# ====================================================================== the facts pass itself
N_, C_ = dim_symbol("N"), dim_symbol("C")


def _rows_onehot(rng, n, c) -> np.ndarray:
    y = np.zeros((n, c))
    y[np.arange(n), rng.integers(c, size=n)] = 1.0
    return y


@pytest.mark.parametrize("props,make,want", [
    # one-hot by rows (a batch of labels as rows): Y 𝟏 = 𝟏, Σ over a row = 1, Σ Y = N
    ({"onehot_rows"}, lambda y: B.matmul(y, G.ones(C_, 1)), lambda y: G.ones(N_, 1)),
    ({"onehot_rows"}, lambda y: B.total(y, axis=1), lambda y: G.ones(N_, 1)),
    ({"onehot_rows"}, lambda y: B.total(y), lambda y: G.const(N_)),
    # one-hot by columns: 𝟏ᵀ Y = 𝟏ᵀ, Σ Y = C
    ({"onehot"}, lambda y: B.matmul(G.ones(1, N_), y), lambda y: G.ones(1, C_)),
    ({"probability"}, lambda y: B.total(y, axis=0), lambda y: G.ones(1, C_)),
    ({"onehot"}, lambda y: B.total(y), lambda y: G.const(C_)),
    # a one-hot matrix is its own elementwise square
    ({"onehot_rows"}, lambda y: B.epow(y, 2), lambda y: y),
])
def test_facts_hold_at_every_allowed_value(props, make, want):
    y = G.var("Y", (N_, C_), props)
    e = make(y)
    used = use_facts(e)
    assert used is want(y)
    rng = np.random.default_rng(7)
    sizes = {N_: 4, C_: 3}
    for _ in range(3):
        if "onehot_rows" in props:
            value = _rows_onehot(rng, 4, 3)
        elif "onehot" in props:
            value = _rows_onehot(rng, 3, 4).T
        else:
            p = rng.uniform(0.1, 1, (4, 3))
            value = p / p.sum(axis=0)
        env = {"Y": value}
        assert np.allclose(evaluate(used, env, sizes), evaluate(e, env, sizes))


def test_no_facts_about_the_variable_still_to_be_differentiated_by():
    p = G.var("p", (N_, 1), {"probability"})
    e = B.elementwise("log", B.total(p))
    assert use_facts(e, exempt=p) is e
    assert use_facts(e) is G.const(0)


# ====================================================================== facts reach sums of constrained variables
def _allowed(props, rng) -> np.ndarray:
    """A value of a 4×3 variable that the declaration allows."""
    if "onehot_rows" in props:
        return _rows_onehot(rng, 4, 3)
    if "onehot" in props:
        return _rows_onehot(rng, 3, 4).T
    p = rng.uniform(0.1, 1, (4, 3))
    return p / p.sum(axis=0)


_s = G.var("s", (1, 1))


@pytest.mark.parametrize("props,make,want", [
    # one-hot rows: (Y + Z) 𝟏 = 2 𝟏, and a difference of two sums to zero
    ({"onehot_rows"}, lambda y, z: B.matmul(B.add(y, z), G.ones(C_, 1)), lambda y, z: B.smul(2, G.ones(N_, 1))),
    ({"onehot_rows"}, lambda y, z: B.total(B.sub(y, z), axis=1), lambda y, z: G.zeros(N_, 1)),
    # one-hot columns: 𝟏ᵀ (Y + 2 Z) = 3 𝟏ᵀ; through a transpose, (Y + Z)ᵀ 𝟏 = 2 𝟏
    ({"onehot"}, lambda y, z: B.matmul(G.ones(1, N_), B.add(y, B.smul(2, z))), lambda y, z: B.smul(3, G.ones(1, C_))),
    ({"onehot"}, lambda y, z: B.matmul(B.transpose(B.add(y, z)), G.ones(N_, 1)), lambda y, z: B.smul(2, G.ones(C_, 1))),
    # probability columns: Σ of every entry of Y + Z is twice the number of columns; a scalar multiple counts s times
    ({"probability"}, lambda y, z: B.total(B.add(y, z)), lambda y, z: G.const(2 * C_)),
    ({"probability"}, lambda y, z: B.total(B.add(B.smul(_s, y), z), axis=0),
     lambda y, z: B.smul(B.add(_s, G.const(1)), G.ones(1, C_))),
])
def test_facts_reach_sums_at_every_allowed_value(props, make, want):
    y, z = G.var("Y", (N_, C_), props), G.var("Z", (N_, C_), props)
    e = make(y, z)
    used = use_facts(e)
    assert used is want(y, z)
    rng = np.random.default_rng(8)
    for _ in range(3):
        env = {"Y": _allowed(props, rng), "Z": _allowed(props, rng), "s": rng.standard_normal((1, 1))}
        assert np.allclose(evaluate(used, env, {N_: 4, C_: 3}), evaluate(e, env, {N_: 4, C_: 3}))


def test_a_sum_is_left_whole_unless_every_term_sums_to_one():
    y = G.var("y", (N_, 1), {"onehot"})
    w = G.var("w", (N_, 1))
    e = B.matmul(G.ones(1, N_), B.add(y, w))
    assert use_facts(e) is e
    # nor when one of its terms is the variable still to be differentiated by
    p, q = G.var("p", (N_, 1), {"probability"}), G.var("q", (N_, 1), {"probability"})
    total = B.total(B.add(p, q))
    assert use_facts(total, exempt=p) is total
    assert use_facts(total) is G.const(2)


def test_a_hessian_keeps_the_sum_it_differentiates():
    # ∇ (Σ(p + q))² = 2 Σ(p + q) 𝟏 is 4 𝟏 on the simplex, but its derivative by p is 2 𝟏 𝟏ᵀ, not 0
    cell = "p, q : n, probability\nf = sum(p + q)^2\n∂f/∂p, hessian(f, p)"
    grad, hess = mm.derive(cell)
    assert grad.view().rhs_text == "4 𝟏"
    assert hess.view().rhs_text == "2 𝟏 𝟏ᵀ"
    f = lambda v: np.sum(v["p"] + v["q"]) ** 2  # noqa: E731
    check_numerically(grad, f, cell, "p")
    check_numerically(hess, f, cell, "p")


WINDOW = "v_c : d\nU : d x V\ny1, y2 : V, onehot\nŷ = softmax(U^T v_c)\nJ = CE(y1, ŷ) + CE(y2, ŷ)\n"


def _window_loss(v):
    log_ŷ = np.log(softmax(v["U"].T @ v["v_c"]))
    return -np.sum(v["y1"] * log_ŷ) - np.sum(v["y2"] * log_ŷ)


@pytest.mark.parametrize("cell,want,f", [
    # word2vec over a window of two outside words (CS224n, assignment 2): 𝟏ᵀ(y1 + y2) = 2
    (WINDOW + "∂J/∂v_c", "U (2 ŷ - y1 - y2)", _window_loss),
    (WINDOW + "∂J/∂U", "v_c (2 ŷ - y1 - y2)ᵀ", _window_loss),
    # two probability vectors: Σ(p + q) = 2
    ("p, q : n, probability\nx, w : n\nJ = (p - q)^T x + sum(p + q) (w^T x)\n∂J/∂x",
     "p - q + 2 w", lambda v: (v["p"] - v["q"]).T @ v["x"] + np.sum(v["p"] + v["q"]) * (v["w"].T @ v["x"])),
    # one-hot columns and one-hot rows of two label matrices: 𝟏ᵀ(Y1 + Y2) = 2 𝟏ᵀ, (Y1 + Y2) 𝟏 = 2 𝟏
    ("Y1, Y2 : k x m, onehot\nW : m x m\nJ = sum(sum(Y1 + 2 Y2, axis=0) W)\n∂J/∂W",
     "3 𝟏 𝟏ᵀ", lambda v: np.sum(np.sum(v["Y1"] + 2 * v["Y2"], axis=0, keepdims=True) @ v["W"])),
])
def test_facts_about_sums_simplify_results(cell, want, f):
    r = derive_one(cell)
    assert r.view().rhs_text == want
    check_numerically(r, f, cell, r.request.wrt_name)


def test_onehot_rows_of_two_label_matrices_sum_to_two():
    # the checker's data for one-hot rows is drawn here (the test's own declarations parser knows only columns)
    cell = "Y1, Y2 : m x k, onehot rows\nw : m\nJ = w^T sum(Y1 + Y2, axis=1)\n∂J/∂w"
    r = derive_one(cell)
    assert r.view().rhs_text == "2 𝟏"

    def rows(values, sizes):
        rng = np.random.default_rng(9)
        m, k = values["Y1"].shape
        return {"Y1": _rows_onehot(rng, m, k), "Y2": _rows_onehot(rng, m, k)}

    check_numerically(r, lambda v: v["w"].T @ np.sum(v["Y1"] + v["Y2"], axis=1, keepdims=True), cell, "w",
                      fixed=rows)
