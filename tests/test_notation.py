"""The notation users type: each spelling parses with the meaning meant, and
every derivative it leads to is checked against finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import check_numerically

import matcalc_magic as mm


def derived(cell: str):
    return mm.derive(cell)[0]


def declarations(cell: str) -> str:
    """The first line: what the finite-difference helper reads sizes from."""
    return cell.split("\n")[0]


def error_of(cell: str) -> mm.MatcalcError:
    with pytest.raises(mm.MatcalcError) as info:
        mm.derive(cell)
    return info.value


def logdet(a):
    sign, value = np.linalg.slogdet(a)
    assert sign > 0
    return value


# ====================================================================== log det(K) as an operand
LOG_DET = [
    ("Σ : n x n, spd; y : n\nJ = -1/2 log det(Σ) - 1/2 y^T Σ⁻¹ y\n∂J/∂Σ", "Σ",
     lambda v: -0.5 * logdet(v["Σ"]) - 0.5 * v["y"].T @ np.linalg.inv(v["Σ"]) @ v["y"]),
    ("K : n x n, spd\nJ = 2 log det(K)\n∂J/∂K", "K", lambda v: 2 * logdet(v["K"])),
    ("K : n x n, spd\nJ = - log det(K)\n∂J/∂K", "K", lambda v: -logdet(v["K"])),
    ("K : n x n, spd; c : scalar\nJ = c - log det(K) / 2\n∂J/∂K", "K", lambda v: v["c"] - logdet(v["K"]) / 2),
    ("X : n x n, spd; a : scalar\nJ = a + log det(X)\n∂J/∂X", "X", lambda v: v["a"] + logdet(v["X"])),
    ("X : n x n, spd; a : scalar\nJ = a log det(X)\n∂J/∂a", "a", lambda v: v["a"] * logdet(v["X"])),
]


@pytest.mark.parametrize("cell, wrt, f", LOG_DET, ids=[c.split("\n")[1] for c, _, _ in LOG_DET])
def test_log_det_stands_wherever_an_operand_can(cell, wrt, f):
    check_numerically(derived(cell), f, declarations(cell), wrt)


def test_log_det_is_log_of_det():
    a = mm.derive("K : n x n, spd; J1 = -1/2 log det(K); J2 = -(1/2) log(det(K)); ∂J1/∂K, ∂J2/∂K")
    assert a[0].text.split(" = ")[1] == a[1].text.split(" = ")[1]


# ====================================================================== a bare I
BARE_I = [
    ("K : n x m; H : m x n; P : n x n\nJ = tr((I - K H) P)\n∂J/∂K", "K",
     lambda v: np.trace((np.eye(len(v["P"])) - v["K"] @ v["H"]) @ v["P"])),
    ("A : n x n; x : n\nJ = x^T (A + I) x\n∂J/∂A", "A", lambda v: v["x"].T @ (v["A"] + np.eye(len(v["A"]))) @ v["x"]),
    ("A : n x n; x : n\nJ = x^T (I + A) x\n∂J/∂x", "x", lambda v: v["x"].T @ (np.eye(len(v["A"])) + v["A"]) @ v["x"]),
    ("K : n x m; H : m x n; P : n x n\nP1 = (I - K H) P (I - K H)^T\n∂(tr(P1))/∂K", "K",
     lambda v: np.trace((np.eye(len(v["P"])) - v["K"] @ v["H"]) @ v["P"] @ (np.eye(len(v["P"])) - v["K"] @ v["H"]).T)),
    ("x : n; c : scalar\nJ = x^T (2 I) x + c\n∂J/∂x", "x", lambda v: 2 * v["x"].T @ v["x"] + v["c"]),
    ("X : m x n\nJ = sum(exp(X^T X - I))\n∂J/∂X", "X", lambda v: np.sum(np.exp(v["X"].T @ v["X"] - np.eye(v["X"].shape[1])))),
    ("X : m x n; C : n x p\nJ = sum([I; X] C)\n∂J/∂X", "X",
     lambda v: np.sum(np.vstack([np.eye(v["X"].shape[1]), v["X"]]) @ v["C"])),
    ("A : n x n\nJ = tr(A I_n) + tr(A eye(n))\n∂J/∂A", "A", lambda v: 2 * np.trace(v["A"])),
]


@pytest.mark.parametrize("cell, wrt, f", BARE_I, ids=[c.split("\n")[1] for c, _, _ in BARE_I])
def test_a_bare_identity_takes_its_size_from_its_neighbours(cell, wrt, f):
    check_numerically(derived(cell), f, declarations(cell), wrt)


@pytest.mark.parametrize("cell", [
    "x : n\nJ = tr(I) x\n∂J/∂x",
    "x : n\nA = I\n∂(A x)/∂x",
    "x : n\nJ = sum(I) + sum(x)\n∂J/∂x",
    "x : n; A : n x n\nJ = sum(kron(A, I)) x\n∂J/∂x",
])
def test_an_identity_whose_size_nothing_fixes_asks_for_it(cell):
    e = error_of(cell)
    assert e.message == "the identity needs its size: write I_n (n a declared size) or eye(n)"
    assert cell[e.span.start:e.span.end] == "I"


def test_an_identity_that_cannot_fit_is_a_shape_error():
    e = error_of("A : m x n; x : n\nJ = sum((A + I) x)\n∂J/∂x")
    assert "differ" in e.message and "A" in e.message


# ====================================================================== 𝟏 as input
ONES = [
    ("X : m x n\nJ = 𝟏ᵀ X 𝟏\n∂J/∂X", "X", lambda v: np.sum(v["X"])),
    ("x : n\nJ = 1_n^T x\n∂J/∂x", "x", lambda v: np.sum(v["x"])),
    ("x : n\nJ = 𝟏_n^T (x ⊙ x)\n∂J/∂x", "x", lambda v: np.sum(v["x"] ** 2)),
    ("x : n\nJ = ones(n)^T exp(x)\n∂J/∂x", "x", lambda v: np.sum(np.exp(v["x"]))),
    ("A : m x n; Y : m x n\nr = (1/m) (A - Y) 𝟏\n∂(sum(r ⊙ r))/∂A", "A",
     lambda v: np.sum(((v["A"] - v["Y"]).sum(axis=1) / v["A"].shape[0]) ** 2)),
    ("X : m x n\nJ = sum(X ⊙ (𝟏 𝟏ᵀ + X))\n∂J/∂X", "X", lambda v: np.sum(v["X"] * (1 + v["X"]))),
]


@pytest.mark.parametrize("cell, wrt, f", ONES, ids=[c.split("\n")[1] for c, _, _ in ONES])
def test_ones_vector_as_input(cell, wrt, f):
    check_numerically(derived(cell), f, declarations(cell), wrt)


def test_ones_as_printed_reads_back():
    r = derived("X : m x n\n∂(sum(X))/∂X")
    assert r.view("shape").rhs_text == "𝟏 𝟏ᵀ"
    again = derived("X : m x n\nJ = sum(X ⊙ (𝟏 𝟏ᵀ))\n∂J/∂X")
    assert again.view("shape").rhs_text == "𝟏 𝟏ᵀ"


def test_ones_whose_length_nothing_fixes_asks_for_it():
    e = error_of("x : n\nJ = sum(𝟏) + sum(x)\n∂J/∂x")
    assert e.message == "the length of 𝟏 does not follow from its neighbours: write 𝟏_n or ones(n)"
    e = error_of("x : n\nJ = 1_k^T x\n∂J/∂x")
    assert "k is not a declared size" in e.message


# ====================================================================== blocks, as printed
BLOCKS = [
    ("θ : n + 1; λ : scalar\nJ = (λ/2) [0; θ[1:]]^T θ\n∂J/∂θ", "θ",
     lambda v: v["λ"] / 2 * np.sum(v["θ"][1:] ** 2)),
    ("Θ : k x m; C : k x m\nJ = sum([0, Θ[:, 1:]] ⊙ C)\n∂J/∂Θ", "Θ", lambda v: np.sum(v["Θ"][:, 1:] * v["C"][:, 1:])),
    ("a : m; b : p; c : m + p\nJ = c^T [a; b]\n∂J/∂b", "b", lambda v: v["c"].T @ np.vstack([v["a"], v["b"]])),
    ("A : m x n; B : m x p; C : m x (n + p)\nJ = sum([A, B] ⊙ C)\n∂J/∂B", "B",
     lambda v: np.sum(np.hstack([v["A"], v["B"]]) * v["C"])),
    ("x : n\ny = x [0]\n∂y/∂x", "x", lambda v: v["x"][0, 0]),
]


@pytest.mark.parametrize("cell, wrt, f", BLOCKS, ids=[c.split("\n")[1] for c, _, _ in BLOCKS])
def test_blocks_as_printed(cell, wrt, f):
    check_numerically(derived(cell), f, declarations(cell), wrt)


def test_a_one_part_block_is_refused_with_a_hint():
    e = error_of("x : n; A : n x n\nJ = x^T [A] x\n∂J/∂x")
    assert "two or more parts" in e.message


# ====================================================================== messages
def test_sizes_the_cell_forces_equal_get_a_declaration_hint():
    e = error_of("Theta1 : s2 x n1\nX1 : m x (n + 1)\nZ = Theta1 X1^T\n∂(sum(Z))/∂Theta1")
    assert "n1 and n + 1 differ" in e.message
    assert e.hint == "if n1 is n + 1, declare Theta1 : s2 x (n + 1)"


def test_a_column_bias_on_a_batch_of_rows_suggests_a_numpy_row():
    for expr in ("X W + b", "b + X W"):
        e = error_of(f"X : N x D; W : D x M; b : M\nZ = {expr}\n∂(sum(Z))/∂W")
        assert e.hint == "write b : 1 x M or b : (M,) for a row, as NumPy broadcasts a 1-D array"


@pytest.mark.parametrize("typo, want", [("rleu", "relu"), ("softmx", "softmax"), ("sigmod", "sigmoid"),
                                        ("tnah", "tanh"), ("lgo", "log")])
def test_suggestions_rank_by_edit_distance(typo, want):
    e = error_of(f"x : n\nJ = sum({typo}(x))\n∂J/∂x")
    assert e.hint == f"did you mean {want}?"


def test_suggestions_for_names_rank_by_edit_distance():
    e = error_of("weights : n; x : n\nJ = wieghts^T x\n∂J/∂x")
    assert e.hint == "did you mean weights?"


# ====================================================================== constants
CONSTANTS = [
    ("x : n\nJ = np.pi x^T x + π sum(x)\n∂J/∂x", "x", lambda v: np.pi * v["x"].T @ v["x"] + np.pi * np.sum(v["x"])),
    ("x : n\nJ = sum(np.e ** x) + math.e sum(x)\n∂J/∂x", "x", lambda v: np.sum(np.e ** v["x"]) + np.e * np.sum(v["x"])),
    ("x : n\nJ = sum(2 ** x)\n∂J/∂x", "x", lambda v: np.sum(2.0 ** v["x"])),
]


@pytest.mark.parametrize("cell, wrt, f", CONSTANTS, ids=[c.split("\n")[1] for c, _, _ in CONSTANTS])
def test_numpy_constants(cell, wrt, f):
    check_numerically(derived(cell), f, declarations(cell), wrt)


def test_a_bare_e_is_a_name_not_eulers_number():
    e = error_of("x : n\nJ = e x\n∂J/∂x")
    assert e.message == "unknown name 'e'"


def test_eulers_number_prints_as_input():
    r = derived("x : n\n∂(np.e x)/∂x")
    assert r.view("shape").rhs_text == "exp(1) I"


# ====================================================================== var and std as NumPy means them
def test_var_and_std_as_numpy():
    X = np.random.default_rng(3).standard_normal((4, 3))
    cell = "X : m x n; Y = {}; ∂(sum(Y))/∂X"
    for text, want in [("np.var(X)", np.var(X)), ("np.std(X, axis=0)", np.std(X, axis=0)),
                       ("var(X, axis=1, keepdims=True)", np.var(X, axis=1)), ("std(X, 1, ddof=1)", np.std(X, 1, ddof=1))]:
        res = mm.derive(cell.format(text))
        from matcalc_magic.api import bind
        from matcalc_magic.evaluate import evaluate

        env, sizes = bind(res.cell, {"X": X})
        got = evaluate(res.cell.definitions["Y"], env, sizes)
        assert np.allclose(got.ravel(), np.ravel(want)), text


def test_var_refuses_what_numpy_would_not_mean():
    assert "no argument 'dtype'" in error_of("X : m x n; J = np.var(X, dtype=1); ∂J/∂X").message
    assert "keepdims is True or False" in error_of("X : m x n; J = np.var(X, keepdims=2); ∂J/∂X").message


# ====================================================================== NumPy's 1-D bias
def test_a_1d_bias_broadcasts_over_a_batch_of_rows():
    cell = "X : N x D; W : D x M; b : (M,)\nZ = X W + b\nJ = sum(tanh(Z))\n∂J/∂b, ∂J/∂W"
    res = mm.derive(cell)
    assert res.cell.variables["b"].shape[0] == 1  # a row
    decls = "X : N x D; W : D x M; b : 1 x M"
    f = lambda v: np.sum(np.tanh(v["X"] @ v["W"] + v["b"]))  # noqa: E731
    check_numerically(res[0], f, decls, "b")
    check_numerically(res[1], f, decls, "W")


def test_evaluate_takes_a_1d_array_for_a_1d_declaration():
    res = mm.derive("X : N x D; W : D x M; b : (M,)\nJ = sum(tanh(X W + b))\n∂J/∂b")
    rng = np.random.default_rng(0)
    X, W, b = rng.standard_normal((5, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    got = res[0].view("shape").evaluate({"X": X, "W": W, "b": b})
    assert got.shape == (1, 4)
    assert np.allclose(got.ravel(), (1 - np.tanh(X @ W + b) ** 2).sum(axis=0))


def test_a_numpy_shape_tuple_declares_a_matrix():
    res = mm.derive("X : (N, D); w : D\nJ = sum(X w)\n∂J/∂w")
    assert tuple(map(str, res.cell.variables["X"].shape)) == ("N", "D")


# ====================================================================== onehot with its axis
ONEHOT_ROWS = [
    "Y : N x C, onehot rows; S : N x C\nJ = CE(Y, softmax(S, axis=1))\n∂J/∂S",
    "Y : N x C, onehot(axis=1); S : N x C\nJ = CE(Y, softmax(S, axis=1))\n∂J/∂S",
    "Y : N x C, onehot(axis=-1); S : N x C\nJ = CE(Y, softmax(S, axis=1))\n∂J/∂S",
]


def _rows_onehot(values, sizes):
    n, c = values["Y"].shape
    y = np.zeros((n, c))
    y[np.arange(n), np.arange(n) % c] = 1.0
    return {"Y": y}


@pytest.mark.parametrize("cell", ONEHOT_ROWS)
def test_onehot_rows(cell):
    r = derived(cell)
    assert r.cell.properties("Y") == frozenset({"onehot_rows"})
    f = lambda v: -np.sum(v["Y"] * (v["S"] - np.log(np.exp(v["S"]).sum(axis=1, keepdims=True))))  # noqa: E731
    check_numerically(r, f, "Y : N x C; S : N x C", "S", fixed=_rows_onehot)


@pytest.mark.parametrize("spelling", ["onehot", "onehot columns", "onehot(axis=0)"])
def test_onehot_columns(spelling):
    r = derived(f"Y : C x N, {spelling}; S : C x N\nJ = CE(Y, softmax(S, axis=0))\n∂J/∂S")
    assert r.cell.properties("Y") == frozenset({"onehot"})
    assert r.view("shape").rhs_text == "softmax(S, axis=0) - Y"


def test_random_data_follows_the_onehot_axis():
    from matcalc_magic.verify import draw_sizes, draw_value

    rng = np.random.default_rng(0)
    for spelling, axis in (("onehot rows", 1), ("onehot columns", 0)):
        cell = mm.derive(f"Y : N x C, {spelling}; S : N x C\nJ = sum(Y ⊙ S)\n∂J/∂S").cell
        sizes = draw_sizes(cell.dims, rng)
        y = draw_value(cell.variables["Y"], sizes, rng)
        assert set(np.unique(y)) <= {0.0, 1.0} and np.all(y.sum(axis=axis) == 1)


def test_evaluate_takes_a_row_onehot_array_declared_so():
    res = mm.derive("Y : N x C, onehot rows; S : N x C\nJ = CE(Y, softmax(S, axis=1))\n∂J/∂S")
    Y = np.eye(3)[[0, 2, 1, 1]]
    S = np.random.default_rng(1).standard_normal((4, 3))
    P = np.exp(S) / np.exp(S).sum(axis=1, keepdims=True)
    assert np.allclose(res[0].view("shape").evaluate({"Y": Y, "S": S}), P - Y)
    with pytest.raises(mm.MatcalcError, match="not one-hot by rows"):
        res[0].view("shape").evaluate({"Y": np.eye(4)[:, :3], "S": S})
    columns = mm.derive("Y : N x C, onehot; S : N x C\nJ = sum(Y ⊙ S)\n∂J/∂S")
    with pytest.raises(mm.MatcalcError, match="single 1 per column"):
        columns[0].view("shape").evaluate({"Y": Y, "S": S})


@pytest.mark.parametrize("cell, message", [
    ("y : C, onehot rows", "each row of a C×1 column is one entry"),
    ("Y : N x C, onehot diagonal", "unknown axis 'diagonal' for onehot"),
    ("A : n x n, symmetric rows", "symmetric takes no axis"),
    ("Y : N x C, onehot(axis=x)", "a property takes one number, as in onehot(axis=1)"),
])
def test_onehot_axis_mistakes(cell, message):
    assert error_of(cell).message == message


# ====================================================================== printed forms read back
def test_a_fractional_power_prints_balanced_and_reads_back():
    from matcalc_magic.verify.printed import parse_printed

    r = derived("x : n\n∂(norm(x - sum(x)) / sqrt(n)^3)/∂x")  # (std(x) is (1/sqrt(n)) δ / ‖δ‖: its n's cancel)
    text = r.view("shape").rhs_text
    assert text.count("(") == text.count(")") and "n^(-3/2)" in text
    assert parse_printed(r.view("shape")) is not None


def test_a_printed_result_pasted_into_a_claim_is_checked():
    """𝟏 𝟏ᵀ has no size of its own: in a claim it takes the derivative's."""
    from matcalc_magic.claims import check_claims

    cells = [
        "X : m x n\nclaim ∂(sum(X))/∂X = 𝟏 𝟏ᵀ",
        "A : m x k; Y : m x k; b : m\nJ = b^T (A - Y) 𝟏\nclaim ∂J/∂b = (A - Y) 𝟏",
        "K : n x m; H : m x n; P : n x n\nclaim ∂(tr((I - K H) P))/∂K = -Pᵀ Hᵀ",
    ]
    for cell in cells:
        (verdict,) = check_claims(mm.derive(cell))
        assert verdict.ok, (cell, verdict)
    (wrong,) = check_claims(mm.derive("X : m x n\nclaim ∂(sum(X))/∂X = 2 𝟏 𝟏ᵀ"))
    assert not wrong.ok
