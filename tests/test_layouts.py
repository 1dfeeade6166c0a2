"""Layouts: the shape contract of every view for every kind, what each view's
axes mean, the Kronecker forms of the vec layout, and results whose size
grows linearly with depth.
"""

from __future__ import annotations

import numpy as np
import pytest

import matcalc_magic as mm
from conftest import LAYOUTS, check_numerically, draw_values, fd_compare, parse_decls

N, D, S, IX, V = LAYOUTS  # numerator, denominator, shape, index, vec


def same_dims(got: tuple, want: tuple) -> bool:
    """Shape strings equal up to the order of the factors of a product (mn = nm):
    sizes here are single letters."""
    return len(got) == len(want) and all(sorted(g) == sorted(w) for g, w in zip(got, want))


# (cell, kind, {layout: symbolic shape}) — the contract of the API, kind by kind
CONTRACT = [
    # scalar by column: n×1 in shape/denominator, 1×n in numerator
    (
        "x : n; J = sum(exp(x)); ∂J/∂x",
        "gradient",
        {N: ("1", "n"), D: ("n", "1"), S: ("n", "1"), IX: ("n",), V: ("1", "n")},
    ),
    # scalar by row: the variable's shape in shape/denominator
    (
        "r : 1 x n; J = sum(exp(r)); ∂J/∂r",
        "gradient",
        {N: ("n", "1"), D: ("1", "n"), S: ("1", "n"), IX: ("n",), V: ("1", "n")},
    ),
    # scalar by matrix: m×n in shape/denominator, n×m in numerator, 1×mn in vec
    (
        "W : m x n; J = sum(exp(W)); ∂J/∂W",
        "gradient",
        {N: ("n", "m"), D: ("m", "n"), S: ("m", "n"), IX: ("m", "n"), V: ("1", "mn")},
    ),
    # scalar by scalar
    (
        "c : scalar; J = exp(c) c; ∂J/∂c",
        "gradient",
        {N: ("1", "1"), D: ("1", "1"), S: ("1", "1"), IX: (), V: ("1", "1")},
    ),
    # vector by vector: the Jacobian m×n in numerator and shape, n×m in denominator
    (
        "x : n; A : m x n; ∂(A x)/∂x",
        "jacobian",
        {N: ("m", "n"), D: ("n", "m"), S: ("m", "n"), IX: ("m", "n"), V: ("m", "n")},
    ),
    # row by column
    (
        "x : n; A : n x m; ∂(x^T A)/∂x",
        "jacobian",
        {N: ("m", "n"), D: ("n", "m"), S: ("m", "n"), IX: ("m", "n"), V: ("m", "n")},
    ),
    # column by row
    (
        "r : 1 x n; A : m x n; ∂(A r^T)/∂r",
        "jacobian",
        {N: ("m", "n"), D: ("n", "m"), S: ("m", "n"), IX: ("m", "n"), V: ("m", "n")},
    ),
    # by a scalar: the expression's shape in numerator/shape, its transpose in denominator
    (
        "t : scalar; A : m x n; ∂(t A)/∂t",
        "jacobian",
        {N: ("m", "n"), D: ("n", "m"), S: ("m", "n"), IX: ("m", "n"), V: ("mn", "1")},
    ),
    (
        "t : scalar; a : m; ∂(t a)/∂t",
        "jacobian",
        {N: ("m", "1"), D: ("1", "m"), S: ("m", "1"), IX: ("m",), V: ("m", "1")},
    ),
    (
        "t : scalar; a : 1 x m; ∂(t a)/∂t",
        "jacobian",
        {N: ("1", "m"), D: ("m", "1"), S: ("1", "m"), IX: ("m",), V: ("m", "1")},
    ),
    # Hessians: n×n by a vector; the vec Hessian by a matrix, with four indices in index notation
    (
        "x : n; A : n x n; ∂²(x^T A x)/∂x²",
        "hessian",
        {N: ("n", "n"), D: ("n", "n"), S: ("n", "n"), IX: ("n", "n"), V: ("n", "n")},
    ),
    (
        "r : 1 x n; ∂²(r r^T)/∂r²",
        "hessian",
        {N: ("n", "n"), D: ("n", "n"), S: ("n", "n"), IX: ("n", "n"), V: ("n", "n")},
    ),
    (
        "X : m x n; ∂²(‖X‖_F^2)/∂X²",
        "hessian",
        {N: ("mn", "mn"), D: ("mn", "mn"), S: ("mn", "mn"), IX: ("m", "n", "m", "n"), V: ("mn", "mn")},
    ),
    ("c : scalar; ∂²(c^3)/∂c²", "hessian", {N: ("1", "1"), S: ("1", "1"), IX: (), V: ("1", "1")}),
    # tensors: the output's indices, then the variable's; denominator the variable's first
    (
        "X : m x n; A : k x m; B : n x p; ∂(A X B)/∂X",
        "tensor",
        {
            N: ("k", "p", "m", "n"),
            D: ("m", "n", "k", "p"),
            S: ("k", "p", "m", "n"),
            IX: ("k", "p", "m", "n"),
            V: ("kp", "mn"),
        },
    ),
    (
        "x : n; W : m x n; ∂(W x)/∂W",
        "tensor",
        {N: ("m", "m", "n"), D: ("m", "n", "m"), S: ("m", "m", "n"), IX: ("m", "m", "n"), V: ("m", "mn")},
    ),
    (
        "a : m; b : n; ∂(outer(a, b))/∂a",
        "tensor",
        {N: ("m", "n", "m"), D: ("m", "m", "n"), S: ("m", "n", "m"), IX: ("m", "n", "m"), V: ("mn", "m")},
    ),
    (
        "x : 1 x n; W : n x m; ∂(x W)/∂W",
        "tensor",
        {N: ("m", "n", "m"), D: ("n", "m", "m"), S: ("m", "n", "m"), IX: ("m", "n", "m"), V: ("m", "nm")},
    ),
]


def _cid(case):
    return case[0].split(";")[-1].strip()


@pytest.mark.parametrize("cell, kind, shapes", CONTRACT, ids=[_cid(c) for c in CONTRACT])
def test_shape_contract(cell, kind, shapes):
    r = mm.derive(cell)[0]
    assert r.kind == kind
    for layout, want in shapes.items():
        assert same_dims(r.view(layout).shape, want), (layout, r.view(layout).shape, want)


@pytest.mark.parametrize("cell, kind, shapes", CONTRACT, ids=[_cid(c) for c in CONTRACT])
def test_views_evaluate_to_their_shapes_and_values(cell, kind, shapes, rng):
    """The arrays have the symbolic shapes at the drawn sizes, and the values
    agree with finite differences (conftest restates the layouts)."""
    r = mm.derive(cell)[0]
    decls = parse_decls(cell)
    values, sizes = draw_values(decls, rng)
    for layout in LAYOUTS:
        arr = r.view(layout).evaluate(values)
        want = tuple(int(np.prod([sizes[c] if c in sizes else int(c) for c in d])) for d in r.view(layout).shape)
        assert arr.shape == want, layout
    f = _forward(cell)
    fd_compare(r, f, values, r.request.wrt_name)


def _forward(cell):
    """NumPy forward functions of the contract's cells."""
    table = {
        "∂J/∂x": lambda v: np.sum(np.exp(v["x"])),
        "∂J/∂r": lambda v: np.sum(np.exp(v["r"])),
        "∂J/∂W": lambda v: np.sum(np.exp(v["W"])),
        "∂J/∂c": lambda v: np.exp(v["c"]) * v["c"],
        "∂(A x)/∂x": lambda v: v["A"] @ v["x"],
        "∂(x^T A)/∂x": lambda v: v["x"].T @ v["A"],
        "∂(A r^T)/∂r": lambda v: v["A"] @ v["r"].T,
        "∂(t A)/∂t": lambda v: v["t"] * v["A"],
        "∂(t a)/∂t": lambda v: v["t"] * v["a"],
        "∂²(x^T A x)/∂x²": lambda v: v["x"].T @ v["A"] @ v["x"],
        "∂²(r r^T)/∂r²": lambda v: v["r"] @ v["r"].T,
        "∂²(‖X‖_F^2)/∂X²": lambda v: np.sum(v["X"] ** 2),
        "∂²(c^3)/∂c²": lambda v: v["c"] ** 3,
        "∂(A X B)/∂X": lambda v: v["A"] @ v["X"] @ v["B"],
        "∂(W x)/∂W": lambda v: v["W"] @ v["x"],
        "∂(outer(a, b))/∂a": lambda v: v["a"] @ v["b"].T,
        "∂(x W)/∂W": lambda v: v["x"] @ v["W"],
    }
    return table[_cid((cell,))]


def test_n_squared_prints_as_a_square_in_v_shape():
    r = mm.derive("X : n x n; ∂(X^{-1})/∂X")[0]
    assert r.view(V).shape in (("n²", "n²"), ("n^2", "n^2"))


# ====================================================================== left-hand sides
@pytest.mark.parametrize(
    "cell, layout, lhs",
    [
        ("x : n; A : m x n; ∂(A x)/∂x", N, "∂(A x)/∂xᵀ"),
        ("x : n; A : m x n; ∂(A x)/∂x", D, "∂(A x)ᵀ/∂x"),
        ("x : n; A : m x n; ∂(A x)/∂x", S, "∂(A x)/∂x"),
        ("x : n; A : m x n; ∂(A x)/∂x", IX, "∂(A x)[i]/∂x[j]"),
        ("W : m x n; x : n; J = sum(W x); ∂J/∂W", N, "∂J/∂Wᵀ"),
        ("W : m x n; x : n; J = sum(W x); ∂J/∂W", D, "∂J/∂W"),
        ("W : m x n; x : n; J = sum(W x); ∂J/∂W", IX, "∂J/∂W[i,j]"),
        ("W : m x n; x : n; J = sum(W x); ∂J/∂W", V, "∂J/∂(vec(W))ᵀ"),
        ("X : m x n; A : k x m; B : n x p; ∂(A X B)/∂X", IX, "∂(A X B)[i,j]/∂X[k,l]"),
        ("X : m x n; A : k x m; B : n x p; ∂(A X B)/∂X", V, "∂vec(A X B)/∂(vec(X))ᵀ"),
        ("x : n; A : n x n; ∂²(x^T A x)/∂x²", S, "∂²(xᵀ A x)/∂x∂xᵀ"),
        ("x : n; A : n x n; ∂²(x^T A x)/∂x²", IX, "∂²(xᵀ A x)/∂x[i]∂x[j]"),
    ],
)
def test_left_hand_side_per_layout(cell, layout, lhs):
    v = mm.derive(cell)[0].view(layout)
    assert v.text.split(" = ")[0] == lhs
    assert v.text == f"{lhs} = {v.rhs_text}"


def test_latex_left_hand_sides_follow_the_layout():
    r = mm.derive("x : n; A : m x n; ∂(A x)/∂x")[0]
    assert r.view(N).latex.startswith("\\frac{\\partial \\left(A x\\right)}{\\partial x^{\\top}}")
    assert r.view(D).latex.startswith("\\frac{\\partial \\left(A x\\right)^{\\top}}{\\partial x}")
    assert r.view(N).rhs_latex == "A" and r.view(D).rhs_latex == "A^{\\top}"


def test_a_definitions_name_is_kept_on_the_left():
    r = mm.derive("x : n; W : m x n; z = W x; ∂z/∂x")[0]
    assert r.view(S).text == "∂z/∂x = W"
    assert r.view(N).text == "∂z/∂xᵀ = W"
    assert r.view(D).text == "∂zᵀ/∂x = Wᵀ"


# ====================================================================== what the index view's axes mean
def test_index_view_axes_are_output_then_variable(rng):
    """∂(A X B)_ij/∂X_kl = A_ik B_lj, computed here with einsum."""
    r = mm.derive("X : m x n; A : k x m; B : n x p; ∂(A X B)/∂X")[0]
    values, _ = draw_values(parse_decls("X : m x n; A : k x m; B : n x p"), rng)
    want = np.einsum("ik,lj->ijkl", values["A"], values["B"])
    np.testing.assert_allclose(r.view(IX).evaluate(values), want, atol=1e-12)
    np.testing.assert_allclose(r.view(N).evaluate(values), want, atol=1e-12)
    np.testing.assert_allclose(r.view(D).evaluate(values), want.transpose(2, 3, 0, 1), atol=1e-12)
    # the vec view is the Magnus–Neudecker matrix Bᵀ ⊗ A
    np.testing.assert_allclose(r.view(V).evaluate(values), np.kron(values["B"].T, values["A"]), atol=1e-12)


def test_index_view_of_a_gradient_is_the_gradient_without_unit_axes(rng):
    r = mm.derive("x : n; A : n x n; J = x^T A x; ∂J/∂x")[0]
    values, _ = draw_values(parse_decls("x : n; A : n x n"), rng)
    shape = r.view(S).evaluate(values)
    assert shape.shape == (len(values["x"]), 1)
    np.testing.assert_allclose(r.view(IX).evaluate(values), shape[:, 0])
    np.testing.assert_allclose(r.view(N).evaluate(values), shape.T)
    np.testing.assert_allclose(r.view(V).evaluate(values), shape.T)


def test_index_view_of_a_vector_by_matrix_derivative(rng):
    """CS224n: ∂z_i/∂W_jk = δ_ij x_k for z = W x."""
    r = mm.derive("x : n; W : m x n; z = W x; ∂z/∂W")[0]
    values, _ = draw_values(parse_decls("x : n; W : m x n"), rng)
    m, n = values["W"].shape
    want = np.einsum("ij,k->ijk", np.eye(m), values["x"][:, 0])
    np.testing.assert_allclose(r.view(IX).evaluate(values), want, atol=1e-12)
    assert r.view(IX).rhs_text == "δ[i,j] x[k]"


def test_index_view_of_a_matrix_hessian(rng):
    """∂²tr(X A Xᵀ)/∂X_ij∂X_kl = δ_ik (A + Aᵀ)_jl."""
    r = mm.derive("X : m x n; A : n x n; ∂²(tr(X A X^T))/∂X²")[0]
    values, _ = draw_values(parse_decls("X : m x n; A : n x n"), rng)
    m, _ = values["X"].shape
    a = values["A"]
    want = np.einsum("ik,jl->ijkl", np.eye(m), a + a.T)
    np.testing.assert_allclose(r.view(IX).evaluate(values), want, atol=1e-10)
    np.testing.assert_allclose(r.view(V).evaluate(values), np.kron(a + a.T, np.eye(m)), atol=1e-10)


# ====================================================================== vec: Kronecker forms
KRON = [
    # Magnus & Neudecker: vec(A X B) = (Bᵀ ⊗ A) vec X, and its special cases
    ("X : m x n; A : k x m; B : n x p", "A X B", "X", "Bᵀ ⊗ A", lambda v: np.kron(v["B"].T, v["A"])),
    ("X : m x n; A : k x m", "A X", "X", "I ⊗ A", lambda v: np.kron(np.eye(v["X"].shape[1]), v["A"])),
    ("X : m x n; A : n x k", "X A", "X", "Aᵀ ⊗ I", lambda v: np.kron(v["A"].T, np.eye(v["X"].shape[0]))),
    ("x : n; W : m x n", "W x", "W", "xᵀ ⊗ I", lambda v: np.kron(v["x"].T, np.eye(v["W"].shape[0]))),
    ("a : m; b : n", "outer(a, b)", "a", "b ⊗ I", lambda v: np.kron(v["b"], np.eye(len(v["a"])))),
    # d(X⁻¹) = −X⁻¹ dX X⁻¹
    (
        "X : n x n, invertible",
        "X^{-1}",
        "X",
        "-X⁻ᵀ ⊗ X⁻¹",
        lambda v: -np.kron(np.linalg.inv(v["X"]).T, np.linalg.inv(v["X"])),
    ),
]


@pytest.mark.parametrize("decls, expr, wrt, form, kron", KRON, ids=[k[1] for k in KRON])
def test_vec_layout_prints_kronecker_forms(decls, expr, wrt, form, kron, rng):
    cell = f"{decls}\n∂({expr})/∂{wrt}"
    r = mm.derive(cell)[0]
    v = r.view(V)
    assert v.rhs_text == form
    values, _ = draw_values(parse_decls(decls), rng)
    np.testing.assert_allclose(v.evaluate(values), kron(values), atol=1e-10)


def test_vec_of_a_transpose_is_the_commutation_matrix(rng):
    r = mm.derive("X : m x n; ∂(X^T)/∂X")[0]
    values, _ = draw_values(parse_decls("X : m x n"), rng)
    m, n = values["X"].shape
    k = r.view(V).evaluate(values)
    x = values["X"]
    np.testing.assert_allclose(k @ x.reshape(-1, order="F"), x.T.reshape(-1, order="F"))
    assert r.view(V).rhs_text.startswith("K")


# ====================================================================== size linear in depth
def _chain(depth: int) -> str:
    lines = ["x : n"] + [f"W{i} : n x n" for i in range(1, depth + 1)]
    prev = "x"
    for i in range(1, depth + 1):
        lines.append(f"h{i} = tanh(W{i} {prev})")
        prev = f"h{i}"
    lines.append(f"J = sum({prev})")
    lines.append("∂J/∂W1, ∂J/∂x")
    return "\n".join(lines)


DEPTHS = (5, 10, 20, 40)


@pytest.fixture(scope="module")
def chains():
    return {d: mm.derive(_chain(d)) for d in DEPTHS}


@pytest.mark.parametrize("layout", [N, D, S, V])
def test_printed_size_grows_linearly_with_depth(chains, layout):
    """Doubling the depth doubles the printed size (ratios, not timings)."""
    for k in (0, 1):
        sizes = [len(chains[d][k].view(layout).text) for d in DEPTHS]
        for a, b in zip(sizes, sizes[1:]):
            assert 1.6 < b / a < 2.4, (layout, sizes)
        # and the NumPy code too
        code = [len(chains[d][k].view(layout).numpy_code) for d in DEPTHS]
        for a, b in zip(code, code[1:]):
            assert 1.5 < b / a < 2.5, (layout, code)


def test_index_view_of_a_deep_chain_prints(chains):
    sizes = [len(chains[d][1].view(IX).text) for d in DEPTHS]
    for a, b in zip(sizes, sizes[1:]):
        assert 1.6 < b / a < 2.4, sizes


def test_deep_chain_is_right(chains):
    """The 10-layer chain's gradients against finite differences."""
    depth = 10

    def f(v):
        h = v["x"]
        for i in range(1, depth + 1):
            h = np.tanh(v[f"W{i}"] @ h)
        return np.sum(h)

    cell = _chain(depth)
    for k, wrt in enumerate(("W1", "x")):
        check_numerically(chains[depth][k], f, cell, wrt, points=1)


# ====================================================================== views of one derivative agree
@pytest.mark.parametrize("cell", [c[0] for c in CONTRACT], ids=[_cid(c) for c in CONTRACT])
def test_every_view_holds_the_same_numbers(cell, rng):
    """All views of one result hold the same multiset of entries (a layout
    only arranges them)."""
    r = mm.derive(cell)[0]
    values, _ = draw_values(parse_decls(cell), rng)
    ref = np.sort(np.asarray(r.view(IX).evaluate(values)).ravel())
    for layout in LAYOUTS:
        got = np.sort(np.asarray(r.view(layout).evaluate(values)).ravel())
        np.testing.assert_allclose(got, ref, atol=1e-12, err_msg=layout)


def test_layout_pairs_are_transposes():
    """For gradients and Jacobians numerator and denominator are transposes."""
    cells = ["x : n; A : m x n; ∂(A x)/∂x", "W : m x n; x : n; J = sum(tanh(W x)); ∂J/∂W", "x : n; J = x^T x; ∂J/∂x"]
    rng = np.random.default_rng(3)
    for cell in cells:
        r = mm.derive(cell)[0]
        values, _ = draw_values(parse_decls(cell), rng)
        num, den = (r.view(layout).evaluate(values) for layout in (N, D))
        np.testing.assert_allclose(num, den.T)


def test_layouts_constant_matches_the_api():
    assert tuple(mm.LAYOUTS) == LAYOUTS
