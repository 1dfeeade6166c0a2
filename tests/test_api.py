"""The public API: derive(), results, views, evaluation and the numeric check."""

from __future__ import annotations

import numpy as np
import pytest

import matcalc_magic as mm
from matcalc_magic import api
from conftest import check_numerically, draw_values, parse_decls, relu, softmax
from matcalc_magic.errors import MatcalcError

from cells import CS224N


def cs224n_loss(v):
    ŷ = softmax(v["U"] @ relu(v["W"] @ v["x"] + v["b1"]) + v["b2"])
    return -np.sum(v["y"] * np.log(ŷ))


@pytest.fixture(scope="module")
def net():
    return mm.derive(CS224N)


# ====================================================================== derive and the Derivation
def test_derivation_is_a_sequence_of_results(net):
    assert len(net) == 5
    assert [r.request.text for r in net] == ["∂J/∂U", "∂J/∂b2", "∂J/∂W", "∂J/∂b1", "∂J/∂x"]
    assert net[2] is list(net)[2]
    assert all(r.kind == "gradient" for r in net)


def test_every_result_of_the_network_is_right(net):
    for r, wrt in zip(net, ("U", "b2", "W", "b1", "x")):
        check_numerically(r, cs224n_loss, CS224N, wrt, points=1)


@pytest.mark.parametrize("key", ["∂J/∂W", "dJ/dW", "∂J / ∂W", " ∂J/∂W ", "d J/d W"])
def test_lookup_by_request_text(net, key):
    assert net[key] is net[2]


def test_lookup_of_an_expression_request():
    res = mm.derive("x : n; A : n x n; ∂(x^T A x)/∂x")
    assert res["∂(x^T A x)/∂x"] is res[0]
    assert res["d(x^T A x)/dx"] is res[0]


def test_unknown_request_is_a_key_error_listing_the_requests(net):
    with pytest.raises(KeyError, match="∂J/∂U"):
        net["∂J/∂Q"]
    with pytest.raises(IndexError):
        net[7]


def test_derivation_text_and_latex_use_its_layout():
    res = mm.derive("x : n; A : m x n; ∂(A x)/∂x", layout="denominator")
    assert res.layout == "denominator"
    assert res.text() == "∂(A x)ᵀ/∂x = Aᵀ"
    assert res.text("numerator") == "∂(A x)/∂xᵀ = A"
    assert repr(res) == res.text()
    latex = res.latex()
    assert latex.startswith("\\begin{aligned}") and latex.endswith("\\end{aligned}") and "&=" in latex
    assert res._repr_latex_() == "$$" + latex + "$$"


def test_result_text_and_latex_are_the_default_view(net):
    r = net["∂J/∂W"]
    assert r.text == r.view("shape").text == "∂J/∂W = ((Uᵀ (ŷ - y)) ⊙ relu′(z)) xᵀ"
    assert r.latex == r.view("shape").latex
    assert "gradient" in repr(r)


def test_view_parts(net):
    v = net["∂J/∂W"].view("numerator")
    assert v.text == f"{v.lhs_text} = {v.rhs_text}"
    assert v.latex == f"{v.lhs_latex} = {v.rhs_latex}"
    assert v.shape == ("n", "m")
    assert all(isinstance(d, str) for d in v.shape)
    assert v.layout == "numerator"
    assert repr(v) == v.text and v._repr_latex_() == "$$" + v.latex + "$$"


@pytest.mark.parametrize("layout", ["Numerator", "jacobian", "", "row"])
def test_unknown_layout_is_a_matcalc_error(net, layout):
    with pytest.raises(MatcalcError, match="unknown layout"):
        net[0].view(layout)
    with pytest.raises(MatcalcError, match="unknown layout"):
        mm.derive("x : n; ∂(x^T x)/∂x", layout=layout)


def test_matcalc_error_is_exported():
    assert mm.MatcalcError is MatcalcError
    assert issubclass(MatcalcError, Exception)


def test_empty_cell_has_no_results():
    assert len(mm.derive("")) == 0
    assert len(mm.derive("x : n\n# nothing asked")) == 0


# ====================================================================== views are cached
def test_views_are_cached(net):
    r = net["∂J/∂x"]
    for layout in mm.LAYOUTS:
        assert r.view(layout) is r.view(layout)
    assert r.view() is r.view("shape")


def test_switching_layout_does_not_re_derive(monkeypatch):
    import matcalc_magic.calculus.derivative as derivative

    calls = []
    original = derivative.derive_one

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(derivative, "derive_one", counting)
    res = mm.derive(CS224N.replace("y : k, onehot", "y : k, probability"))
    assert len(calls) == len(res) == 5  # once per request: the patch is in effect
    for r in res:
        for layout in mm.LAYOUTS * 2:
            v = r.view(layout)
            v.text, v.latex, v.shape, v.numpy_code
    assert len(calls) == 5


# ====================================================================== evaluate
@pytest.fixture
def quad():
    return mm.derive("x : n; A : m x n; ∂(A x)/∂x")[0], np.arange(6.0).reshape(2, 3)


def test_evaluate_accepts_a_column_as_1d_or_2d(quad):
    r, A = quad
    for layout in mm.LAYOUTS:
        a = r.view(layout).evaluate({"x": np.ones(3), "A": A})
        b = r.view(layout).evaluate({"x": np.ones((3, 1)), "A": A})
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(r.view("numerator").evaluate({"x": [1.0, 2, 3], "A": A.tolist()}), A)


def test_evaluate_of_a_gradient_by_a_column_gives_a_column():
    r = mm.derive("x : n; J = sum(exp(x)); ∂J/∂x")[0]
    x = np.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(r.view("shape").evaluate({"x": x}), np.exp(x)[:, None])
    np.testing.assert_allclose(r.view("numerator").evaluate({"x": x}), np.exp(x)[None, :])
    np.testing.assert_allclose(r.view("index").evaluate({"x": x}), np.exp(x))


def test_evaluate_accepts_python_and_numpy_scalars():
    r = mm.derive("c : scalar; x : n; ∂(c x)/∂c")[0]
    for c in (2, 2.0, np.float64(2), np.array(2.0), np.array([[2.0]])):
        np.testing.assert_array_equal(r.view().evaluate({"c": c, "x": [1, 2, 3]}), [[1], [2], [3]])


def test_evaluate_accepts_a_row_as_2d():
    r = mm.derive("r : 1 x n; ∂(sum(exp(r)))/∂r")[0]
    np.testing.assert_allclose(r.view().evaluate({"r": [[0.0, 1.0, 2.0]]}), np.exp([[0.0, 1.0, 2.0]]))


def test_evaluate_accepts_a_row_as_1d():
    r = mm.derive("r : 1 x n; ∂(sum(exp(r)))/∂r")[0]
    np.testing.assert_allclose(r.view().evaluate({"r": [0.0, 1.0, 2.0]}), np.exp([[0.0, 1.0, 2.0]]))


def test_sizes_are_bound_from_the_arrays(quad):
    r, A = quad
    assert r.view("denominator").evaluate({"x": np.ones(3), "A": A}).shape == (3, 2)
    big = np.ones((5, 7))
    assert r.view("denominator").evaluate({"x": np.ones(7), "A": big}).shape == (7, 5)


def test_unrelated_names_are_ignored(quad):
    r, A = quad
    assert r.view().evaluate({"x": np.ones(3), "A": A, "unrelated": "anything", "np": np}).shape == (2, 3)


@pytest.mark.parametrize(
    "values, message",
    [
        ({"x": np.ones(4), "A": np.ones((2, 3))}, "size n"),  # n is 4 from x, 3 from A
        ({"x": np.ones((3, 2)), "A": np.ones((2, 3))}, "columns"),  # x is a column
        ({"x": np.ones((1, 3)), "A": np.ones((2, 3))}, "columns"),  # a row for a column
        ({"x": np.ones(3), "A": np.ones(3)}, "size n"),  # A given as a vector
    ],
)
def test_size_mismatches_are_matcalc_errors(quad, values, message):
    r, _ = quad
    with pytest.raises(MatcalcError, match=message) as err:
        r.view("numerator").evaluate(values)
    assert err.value.shapes  # the offending shape is reported


def test_declared_numeric_sizes_are_checked():
    r = mm.derive("x : 3; A : 2 x 3; ∂(A x)/∂x")[0]
    assert r.view().shape == ("2", "3")
    np.testing.assert_array_equal(r.view().evaluate({"x": np.ones(3), "A": np.eye(2, 3)}), np.eye(2, 3))
    with pytest.raises(MatcalcError, match="3 rows"):
        r.view().evaluate({"x": np.ones(4), "A": np.ones((2, 4))})


def test_compound_sizes_given_by_name():
    r = mm.derive("θ : n + 1; ∂(‖θ‖²)/∂θ")[0]
    np.testing.assert_allclose(r.view().evaluate({"θ": [1, 2, 3], "n": 2}), [[2], [4], [6]])
    with pytest.raises(MatcalcError, match="size n\\+1 = 6, not 3"):
        r.view().evaluate({"θ": [1, 2, 3], "n": 5})


def test_compound_sizes_are_inferred_from_the_arrays():
    r = mm.derive("θ : n + 1; ∂(‖θ‖²)/∂θ")[0]
    np.testing.assert_allclose(r.view().evaluate({"θ": [1, 2, 3]}), [[2], [4], [6]])


def test_a_missing_value_is_a_matcalc_error():
    r = mm.derive("x : n; A : n x n; ∂(x^T A x)/∂x")[0]
    with pytest.raises(MatcalcError, match="x"):
        r.view().evaluate({"A": np.eye(3)})


def test_a_non_numeric_value_is_a_matcalc_error():
    r = mm.derive("x : n; ∂(sum(exp(x)))/∂x")[0]
    with pytest.raises(MatcalcError):
        r.view().evaluate({"x": "abc"})


def test_a_three_dimensional_value_is_a_matcalc_error():
    r = mm.derive("x : n; ∂(sum(exp(x)))/∂x")[0]
    with pytest.raises(MatcalcError):
        r.view().evaluate({"x": np.ones((3, 1, 1))})


def test_evaluate_at_is_evaluate_with_bound_sizes(net, rng):
    from matcalc_magic.api import bind

    r = net["∂J/∂W"]
    values, _ = draw_values(parse_decls(CS224N), rng)
    env, sizes = bind(r.cell, values)
    for layout in mm.LAYOUTS:
        np.testing.assert_array_equal(r.view(layout).evaluate_at(env, sizes), r.view(layout).evaluate(values))


def test_a_derivative_by_a_defined_name_evaluates(rng):
    res = mm.derive(CS224N.replace("∂J/∂U,", "∂J/∂θ, ∂J/∂U,"))
    r = res["∂J/∂θ"]
    values, _ = draw_values(parse_decls(CS224N), rng)
    θ = values["U"] @ relu(values["W"] @ values["x"] + values["b1"]) + values["b2"]
    want = softmax(θ) - values["y"]
    np.testing.assert_allclose(r.view().evaluate(values), want, atol=1e-10)
    np.testing.assert_allclose(r.view().evaluate({**values, "θ": θ}), want, atol=1e-10)


# ====================================================================== check()
def test_check_report_fields(net):
    rep = net["∂J/∂W"].check(points=2, seed=11)
    assert rep.ok and bool(rep)
    assert rep.points == 2 and len(rep.sizes) == 2
    assert set(rep.layouts) == set(mm.LAYOUTS)
    assert 0 <= rep.max_error <= rep.tolerance
    assert rep.max_error == max(rep.layouts.values())
    assert rep.message == ""
    assert rep.badge.startswith("✓")
    assert all(set(s) == {"k", "m", "n"} for s in rep.sizes)


def test_check_is_reproducible_with_a_seed(net):
    r = net["∂J/∂x"]
    a, b = r.check(points=2, seed=5), r.check(points=2, seed=5)
    assert a.sizes == b.sizes and a.max_error == b.max_error
    assert r.check(points=1).sizes == r.check(points=1).sizes  # the default seed is fixed per request


def test_check_catches_a_wrong_view(monkeypatch):
    """The checker is independent of the views it checks: corrupt the numbers
    a view evaluates to and check() must fail."""
    import matcalc_magic.api as api

    r = mm.derive("x : n; W : m x n; J = sum(tanh(W x)); ∂J/∂W")[0]
    assert r.check(points=1).ok

    original = api.View.evaluate_at

    def doubled(self, env, sizes, memo=None):
        out = original(self, env, sizes, memo)
        return 2 * out if self.layout == "denominator" else out

    monkeypatch.setattr(api.View, "evaluate_at", doubled)
    rep = r.check(points=1)
    assert not rep.ok and rep.badge.startswith("✗")
    assert rep.layouts["denominator"] > rep.tolerance
    assert rep.layouts["shape"] <= rep.tolerance
    assert "denominator" in rep.message


def test_check_catches_a_transposed_view(monkeypatch):
    import matcalc_magic.api as api

    r = mm.derive("x : n; W : m x n; J = sum(tanh(W x)); ∂J/∂W")[0]

    original = api.View.evaluate_at

    def transposed(self, env, sizes, memo=None):
        out = original(self, env, sizes, memo)
        return out.T if self.layout == "shape" else out

    monkeypatch.setattr(api.View, "evaluate_at", transposed)
    rep = r.check(points=1)
    assert not rep.ok and rep.layouts["shape"] == float("inf")


def test_check_respects_declared_properties():
    """log det of an spd matrix needs spd data; one-hot y makes 𝟏ᵀy = 1 usable."""
    r = mm.derive("S : n x n, spd; ∂(logdet(S))/∂S")[0]
    assert r.view().rhs_text == "S⁻¹"
    assert r.check(points=3).ok


# ====================================================================== shapes as strings
def test_shape_strings_are_symbolic():
    r = mm.derive("X : m x n; A : k x m; B : n x p; ∂(A X B)/∂X")[0]
    assert r.view("index").shape == ("k", "p", "m", "n")
    assert r.view("vec").shape == ("kp", "mn")


def test_compound_shape_strings_have_no_parentheses():
    r = mm.derive("θ : n + 1; ∂(‖θ‖²)/∂θ")[0]
    assert r.view().shape in (("n + 1", "1"), ("n+1", "1"))


# A derivative by a defined name holds everything upstream fixed, also when
# the name stands for a bare product that simplification merges into its
# neighbours (uᵀ (W x) is one product uᵀ W x): J is rebuilt as a function of z.
DEFINED_PRODUCTS = [
    ("x : n; W : m x n; u : m; z = W x; J = u^T z; ∂J/∂z", lambda z, v: (v["u"].T @ z).item()),
    ("x : n; W : m x n; z = W x; J = z^T z; ∂J/∂z", lambda z, v: (z.T @ z).item()),
    ("x : 1 x n; W : n x m; u : m; z = x W; J = z u; ∂J/∂z", lambda z, v: (z @ v["u"]).item()),
    ("x : n; W : m x n; z = 2 W x; J = sum(exp(z)); ∂J/∂z", lambda z, v: float(np.exp(z).sum())),
]


@pytest.mark.parametrize("cell, f", DEFINED_PRODUCTS, ids=["u^T z", "z^T z", "row z u", "scaled"])
def test_a_derivative_by_a_defined_product_is_not_zero(cell, f, rng):
    r = mm.derive(cell)[0]
    sizes = {"n": 3, "m": 4}
    values = {}
    for name, var in r.cell.variables.items():
        shape = tuple(sizes.get(str(d), 1) if not d.is_Integer else int(d) for d in var.shape)
        values[name] = rng.standard_normal(shape)
    z = r.view().evaluate(values)  # only to get z's shape; the value is recomputed below
    env, bound = api.bind(r.cell, values)
    z0 = env["z"]
    h, fd = 1e-6, np.zeros_like(z0)
    for idx in np.ndindex(z0.shape):  # J as a function of z, in NumPy
        e = np.zeros_like(z0)
        e[idx] = h
        fd[idx] = (f(z0 + e, values) - f(z0 - e, values)) / (2 * h)
    got = r.view("shape").evaluate(values)
    assert got.shape == z0.shape == z.shape
    assert np.abs(fd).max() > 1e-3  # the point is that it is not zero
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------- big sizes
def test_a_large_variable_is_checked_along_random_directions(monkeypatch):
    """6000 basis directions are too many: the check probes random ones, and a
    single wrong entry still shows along them."""
    import matcalc_magic.api as api

    r = mm.derive("x : 2000; W : 3 x 2000; J = sum(tanh(W x)); ∂J/∂W")[0]
    assert r.check(points=1).ok

    original = api.View.evaluate_at

    def one_entry_off(self, env, sizes, memo=None):
        out = np.array(original(self, env, sizes, memo), dtype=float)
        if self.layout == "shape":
            out[0, 0] += 1.0
        return out

    monkeypatch.setattr(api.View, "evaluate_at", one_entry_off)
    rep = r.check(points=1)
    assert not rep.ok and rep.layouts["shape"] > rep.tolerance and rep.layouts["denominator"] <= rep.tolerance


def test_a_large_function_value_is_not_mistaken_for_an_error():
    """f = xᵀx at 100000 entries is about 10⁵: rounding in f(x ± h e) is
    larger than the tolerance, and the check allows for it."""
    assert mm.derive("x : 100000; ∂(x^T x)/∂x")[0].check(points=1).ok


def test_a_derivative_too_large_to_evaluate_is_reported_not_checked():
    rep = mm.derive("W : 300 x 300; ∂(W W)/∂W")[0].check(points=2)
    assert not rep.ok and rep.points == 0
    assert "too large to check numerically" in rep.message and "8,100,000,000" in rep.message


def test_only_the_too_large_point_is_skipped():
    """A point at the user's (big) sizes is skipped; the random small ones still count."""
    from matcalc_magic.api import bind

    r = mm.derive("A : n x n; ∂(A A)/∂A")[0]
    env, sizes = bind(r.cell, {"A": np.eye(60)})  # 60⁴ entries: too many
    rep = r.check(points=2, env=env, sizes=sizes)
    assert rep.ok and rep.points == 2 and not rep.given_point
    assert rep.given_skipped == "too large to check numerically"


# ---------------------------------------------------------------- constants in products
@pytest.mark.parametrize(
    "decls, request_, wrt, form, f",
    [
        ("x : n\nA : n x n", "∂(2 sum(A x))/∂x", "x", "2 Aᵀ 𝟏", lambda v: 2 * np.sum(v["A"] @ v["x"])),
        ("x : n\nA : n x n\nc : scalar", "∂(c sum(A x))/∂x", "x", "c Aᵀ 𝟏",
         lambda v: v["c"] * np.sum(v["A"] @ v["x"])),
        ("X : n x m\nA : n x n", "∂(mean(A X))/∂X", "X", "(1/(m n)) Aᵀ 𝟏 𝟏ᵀ", lambda v: np.mean(v["A"] @ v["X"])),
    ],
)
def test_a_constant_fill_in_a_product_prints_its_factor_in_front(decls, request_, wrt, form, f):
    """Aᵀ (2 𝟏) is printed 2 Aᵀ 𝟏, as a textbook would."""
    r = mm.derive(f"{decls}\n{request_}")[0]
    assert r.view().rhs_text == form
    check_numerically(r, f, decls, wrt)


# ---------------------------------------------------------------- hard points
@pytest.mark.parametrize(
    "cell",
    [
        # random A X B is often ill-conditioned: the plain difference quotient is
        # off by more than the tolerance there, Richardson's is not
        "X : n x n; A : n x n; B : n x n\n∂(logdet(A X B))/∂X",
        # A X is singular whenever m > n: those sizes are no valid point
        "X : n x m; A : m x n\n∂(logdet(A X))/∂X",
    ],
)
def test_the_check_is_not_fooled_by_hard_points(cell):
    assert mm.derive(cell)[0].check(points=5).ok


# ---------------------------------------------------------------- printed forms
@pytest.mark.parametrize(
    "decls, request_, wrt, form, f",
    [
        # powers of sizes keep their exponent: 4/m², not "4/m 2"
        ("X : m x n", "∂(sum(mean(X ** 2, axis=0) ** 2))/∂X", "X", "(4/m²) (𝟏ᵀ X^∘2) ⊙ X",
         lambda v: np.sum(np.mean(v["X"] ** 2, axis=0) ** 2)),
        # the axis of a softmax over a matrix is part of the formula
        ("Z : k x m\nY : k x m", "∂(sum(Y * log_softmax(Z, axis=1)))/∂Z", "Z", "Y - (Y 𝟏) ⊙ softmax(Z, axis=1)",
         lambda v: np.sum(v["Y"] * (v["Z"] - np.log(np.sum(np.exp(v["Z"]), axis=1, keepdims=True))))),
        # single entries print as entries, not as slices of slices; a zero block
        # longer than 1 says its size, so the text reads back as this value
        ("X : m x n", "∂(X[0, 0] * X[1, 2])/∂X", "X",
         "[[X[1, 2], zeros(1, n - 1)]; zeros(m - 1, n)] + [0; [zeros(1, 2), X[0, 0], zeros(1, n - 3)]; zeros(m - 2, n)]",
         lambda v: v["X"][0, 0] * v["X"][1, 2]),
    ],
)
def test_printed_forms_say_all_of_the_formula(decls, request_, wrt, form, f):
    r = mm.derive(f"{decls}\n{request_}")[0]
    assert r.view().rhs_text == form
    check_numerically(r, f, decls, wrt)


def test_a_printed_softmax_reads_back_as_the_same_function():
    """softmax(x, axis=1) of a column is not softmax(x): printed without its
    axis, the result claimed back would be wrong."""
    from matcalc_magic.claims import check_claims

    r = mm.derive("x : n\n∂(softmax(x, axis=1))/∂x")[0]
    # printed twice, the diagonal is named once: δ₁ - δ₁², where δ₁ = diag(softmax(x, axis=1))
    assert r.view().text.endswith("δ₁ - δ₁², where δ₁ = diag(softmax(x, axis=1))")
    form = r.view().rhs_text.replace("δ₁", "diag(softmax(x, axis=1))")
    claimed = mm.derive(f"x : n\n∂(softmax(x, axis=1))/∂x\nclaim ∂(softmax(x, axis=1))/∂x = {form}")
    assert [v.ok for v in check_claims(claimed)] == [True]


def test_a_zero_claim_stands_for_a_zero_of_any_shape():
    from matcalc_magic.claims import check_claims

    right = mm.derive("X : n x n; A : n x n\n∂(tr(A X^0))/∂X\nclaim ∂(tr(A X^0))/∂X = 0")
    wrong = mm.derive("x : n\n∂(sum(exp(x)))/∂x\nclaim ∂(sum(exp(x)))/∂x = 0")
    assert [v.ok for v in check_claims(right)] == [True]
    (verdict,) = check_claims(wrong)
    assert not verdict.ok and verdict.status == "different"


@pytest.mark.parametrize(
    "cell",
    [
        "X : m x n\n∂(X[0, 0] * X[1, 2])/∂X",  # needs m ≥ 2, n ≥ 3
        "x : n\nz = x[5:]\n∂(sum(z))/∂x",  # needs n ≥ 6
        "W : m x n\n∂(det(W^T W))/∂W",  # Wᵀ W is singular when m < n
    ],
)
def test_the_check_finds_sizes_where_the_formula_is_defined(cell):
    rep = mm.derive(cell)[0].check()
    assert rep.ok and rep.points == 3


def test_many_denominators_are_not_put_over_one():
    """Σ cᵏ/(eᶜ + k): a common denominator would be a degree-k polynomial that
    takes SymPy seconds to build; the sum stays a sum."""
    J = " + ".join(f"(c ** {k}) / (exp(c) + {k})" for k in range(1, 10))
    r = mm.derive(f"c : scalar\nJ = {J}\n∂J/∂c")[0]
    assert len(r.view().text) < 1000 and r.check().ok
