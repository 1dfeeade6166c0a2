"""Step-by-step derivations: every step is checked numerically.

For each example a random point and a random direction dX are drawn; the
named quantities' differentials are pushed forward through the local
differentials; then

* every definition equals the NumPy forward pass written out here;
* every local differential equals the central difference of its quantity
  along dX;
* every step of the dJ chain equals the same number, the central difference
  (J(X + h dX) − J(X − h dX)) / 2h of the NumPy forward pass;
* every δ and gradient equals the finite-difference gradient of J with
  respect to that named quantity or variable (everything upstream held
  fixed), in the layout the step says;
* the factors of every product shown have shapes that multiply out.

The forward passes below are plain NumPy, written from the cells, so the
check shares nothing with the symbolic engine.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
import sympy
from cells import CS224N, CS224N_DECLARATIONS

import matcalc_magic as mm
from matcalc_magic.evaluate import evaluate
from matcalc_magic.shapes import ONE, concrete, same
from matcalc_magic.steps import (
    Step,
    build_steps,
    evaluation_env,
    render_latex,
    render_text,
)
from matcalc_magic.verify import draw_env, draw_sizes

H = 1e-6


@functools.cache
def derive(text: str):
    """The cell's derivation, once per test session (steps are views of it)."""
    return mm.derive(text)


# ====================================================================== the examples
def _softmax(t):
    e = np.exp(t - t.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _sigmoid(t):
    return 1.0 / (1.0 + np.exp(-t))


SEED = """
x : n
W : m x n
y = W x
J = y^T y
∂J/∂W
"""

NG = """
X : n x m
Y : 1 x m
W1 : h x n
b1 : h
W2 : 1 x h
b2 : 1
Z1 = W1 X + b1
A1 = tanh(Z1)
Z2 = W2 A1 + b2
A2 = σ(Z2)
J = -(1/m) sum(Y ⊙ log(A2) + (1 - Y) ⊙ log(1 - A2))
∂J/∂W1, ∂J/∂b1, ∂J/∂W2, ∂J/∂b2
"""

LOGDET = """
X : n x n, invertible
A : n x n
J = log det(X) + tr(A X)
∂J/∂X
"""

INVERSE = """
X : n x n, invertible
a : n
b : n
J = a^T X^{-1} b
∂J/∂X
"""

# a Gaussian log-likelihood: a covariance S, and a mean μ used by J directly (two branches of J)
GAUSS = """
x : n
μ : n
S : n x n, spd
J = logdet(S) + (x - μ)^T S^{-1} (x - μ)
∂J/∂S, ∂J/∂μ
"""

# CS224n with the logits θ left unnamed: the softmax/cross-entropy rule differentiates U h + b2
CS224N_INLINE = CS224N_DECLARATIONS + """\
h = relu(W x + b1)
J = CE(y, softmax(U h + b2))
∂J/∂U, ∂J/∂W
"""

# the seed plus a term in W of J's own: W is used on the path to x and by J directly
SEED_DIRECT = """
x : n
W : m x n
y = W x
J = y^T y + tr(W^T W)
∂J/∂x, ∂J/∂W
"""


def _ng_y(env):
    return env["Y"]


# name -> (function of the values so far), in cell order: the forward pass in NumPy
FORWARD = {
    "seed": [
        ("y", lambda v: v["W"] @ v["x"]),
        ("J", lambda v: v["y"].T @ v["y"]),
    ],
    "cs224n": [
        ("z", lambda v: v["W"] @ v["x"] + v["b1"]),
        ("h", lambda v: np.maximum(v["z"], 0.0)),
        ("θ", lambda v: v["U"] @ v["h"] + v["b2"]),
        ("ŷ", lambda v: _softmax(v["θ"])),
        ("J", lambda v: -(v["y"].T @ np.log(v["ŷ"]))),
    ],
    "ng": [
        ("Z1", lambda v: v["W1"] @ v["X"] + v["b1"]),
        ("A1", lambda v: np.tanh(v["Z1"])),
        ("Z2", lambda v: v["W2"] @ v["A1"] + v["b2"]),
        ("A2", lambda v: _sigmoid(v["Z2"])),
        ("J", lambda v: np.array([[-(1 / v["X"].shape[1]) * np.sum(
            v["Y"] * np.log(v["A2"]) + (1 - v["Y"]) * np.log(1 - v["A2"]))]])),
    ],
    "logdet": [
        ("J", lambda v: np.array([[np.linalg.slogdet(v["X"])[1] + np.trace(v["A"] @ v["X"])]])),
    ],
    "inverse": [
        ("J", lambda v: v["a"].T @ np.linalg.inv(v["X"]) @ v["b"]),
    ],
    "gauss": [
        ("J", lambda v: np.array([[np.linalg.slogdet(v["S"])[1]]])
         + (v["x"] - v["μ"]).T @ np.linalg.inv(v["S"]) @ (v["x"] - v["μ"])),
    ],
    "cs224n_inline": [
        ("h", lambda v: np.maximum(v["W"] @ v["x"] + v["b1"], 0.0)),
        ("J", lambda v: -(v["y"].T @ np.log(_softmax(v["U"] @ v["h"] + v["b2"])))),
    ],
    "seed_direct": [
        ("y", lambda v: v["W"] @ v["x"]),
        ("J", lambda v: v["y"].T @ v["y"] + np.trace(v["W"].T @ v["W"])),
    ],
}

CELLS = {"seed": SEED, "cs224n": CS224N, "ng": NG, "logdet": LOGDET, "inverse": INVERSE, "gauss": GAUSS,
         "cs224n_inline": CS224N_INLINE, "seed_direct": SEED_DIRECT}

CASES = [("seed", "∂J/∂W"), ("logdet", "∂J/∂X"), ("inverse", "∂J/∂X")]
CASES += [("cs224n", r) for r in ("∂J/∂U", "∂J/∂b2", "∂J/∂W", "∂J/∂b1", "∂J/∂x")]
CASES += [("ng", r) for r in ("∂J/∂W1", "∂J/∂b1", "∂J/∂W2", "∂J/∂b2")]
CASES += [("gauss", "∂J/∂S"), ("gauss", "∂J/∂μ"), ("cs224n_inline", "∂J/∂U"), ("seed_direct", "∂J/∂x")]

LAYOUTS = ("shape", "numerator", "denominator", "vec", "index")


def forward(example: str, env: dict, override: dict | None = None) -> dict:
    """Every named value; ``override`` replaces named quantities (a cut)."""
    vals = dict(env)
    override = override or {}
    for name, fn in FORWARD[example]:
        vals[name] = override[name] if name in override else fn(vals)
    return vals


def objective(example: str, env: dict, override: dict | None = None) -> float:
    return float(forward(example, env, override)["J"].reshape(-1)[0])


def fd_gradient(example: str, env: dict, name: str) -> np.ndarray:
    """∂J/∂name by central differences (a variable, or a named quantity with
    everything upstream of it held fixed)."""
    base = forward(example, env)
    x0 = base[name]
    g = np.zeros_like(x0)
    for idx in np.ndindex(*x0.shape):
        e = np.zeros_like(x0)
        e[idx] = 1.0
        if name in env:
            plus = objective(example, {**env, name: x0 + H * e})
            minus = objective(example, {**env, name: x0 - H * e})
        else:
            plus = objective(example, env, {name: x0 + H * e})
            minus = objective(example, env, {name: x0 - H * e})
        g[idx] = (plus - minus) / (2 * H)
    return g


def arranged(g: np.ndarray, layout: str) -> np.ndarray:
    if layout == "numerator":
        return g.T
    if layout == "vec":
        return g.reshape(1, -1, order="F")
    return g


def point(res, seed: int = 0):
    cell = res.cell
    rng = np.random.default_rng(seed)
    sizes = draw_sizes(cell.dims, rng)
    variables = dict(cell.variables)
    variables.setdefault(res.request.wrt_name, res.request.wrt)  # a cut at a defined quantity
    env = draw_env(variables, sizes, rng)
    x = env[res.request.wrt_name]
    direction = rng.standard_normal(x.shape)
    return env, sizes, direction


def close(a, b, tol=1e-5) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = max(1.0, float(np.max(np.abs(b))) if b.size else 1.0)
    return a.shape == b.shape and float(np.max(np.abs(a - b))) <= tol * scale


def check_products(s: Step, sizes: dict) -> None:
    """The factors shown under a step multiply out to the product's shape."""
    for p in s.products:
        shapes = [tuple(concrete(d, sizes) for d in sh) for _t, sh in p.factors]
        out = tuple(concrete(d, sizes) for d in p.shape)
        if p.op == "matmul":
            for a, b in itertools.pairwise(shapes):
                assert a[1] == b[0], f"{s.text}: inner sizes of {p.annotation()} differ"
            assert (shapes[0][0], shapes[-1][1]) == out, s.text
        elif p.op in ("hadamard", "inner"):
            assert all(sh == shapes[0] for sh in shapes), f"{s.text}: {p.annotation()}"
            assert out == (shapes[0] if p.op == "hadamard" else (1, 1)), s.text
        elif p.op == "kron":
            assert out == (shapes[0][0] * shapes[1][0], shapes[0][1] * shapes[1][1]), s.text
        for _t, sh in p.factors:
            assert any(f"({_fmt(sh)})" in s.text for _ in [0]), f"{s.text} lacks ({_fmt(sh)})"


def _fmt(shape) -> str:
    from matcalc_magic.steps.format import shape_str

    return shape_str(shape)


def verify_steps(example: str, request: str, kind: str, layout: str, seed: int = 0) -> list[Step]:
    res = derive(CELLS[example])[request]
    steps = res.steps(kind, layout)
    assert steps and all(isinstance(s, Step) for s in steps)
    env, sizes, direction = point(res, seed)
    ctx = steps[0].context
    vals = evaluation_env(ctx, env, sizes, direction)
    X = res.request.wrt_name
    fwd = forward(example, env)
    plus = forward(example, {**env, X: env[X] + H * direction})
    minus = forward(example, {**env, X: env[X] - H * direction})
    dJ = (plus["J"] - minus["J"]) / (2 * H)
    grads: dict = {}
    checked = {"differential": 0, "gradient": 0, "local": 0, "definition": 0}
    for s in steps:
        check_products(s, sizes)
        assert s.text and s.latex
        if s.expr is None:
            continue
        value = evaluate(s.expr, vals, sizes)
        if s.role == "definition":
            assert close(value, fwd[s.quantity]), s.text
        elif s.role == "local":
            fd = (plus[s.quantity] - minus[s.quantity]) / (2 * H)
            assert close(value, fd), f"{s.text}: {value} vs {fd}"
        elif s.role == "differential":
            assert close(value, dJ), f"{s.text}: {value} vs finite difference {dJ}"
        elif s.role == "gradient":
            if s.quantity not in grads:
                grads[s.quantity] = fd_gradient(example, env, s.quantity)
            want = arranged(grads[s.quantity], s.layout)
            assert close(value, want), f"{s.text} ({s.layout}): {value} vs {want}"
        else:
            continue
        checked[s.role] += 1
    assert checked["gradient"] >= 1, "no gradient step was checked"
    if kind == "differentials":
        assert checked["differential"] >= 1
    return steps


# ====================================================================== numeric checks
@pytest.mark.parametrize("example,request_", CASES)
@pytest.mark.parametrize("kind", ["differentials", "backprop"])
def test_every_step_is_numerically_equal(example, request_, kind):
    verify_steps(example, request_, kind, "shape")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("kind", ["differentials", "backprop"])
@pytest.mark.parametrize("example,request_", [("seed", "∂J/∂W"), ("cs224n", "∂J/∂W"), ("cs224n", "∂J/∂x"),
                                              ("ng", "∂J/∂W1"), ("ng", "∂J/∂b1"), ("inverse", "∂J/∂X")])
def test_every_layout(example, request_, kind, layout):
    verify_steps(example, request_, kind, layout, seed=1)


@pytest.mark.parametrize("seed", range(3))
def test_several_points(seed):
    for example, request_ in CASES:
        verify_steps(example, request_, "differentials", "shape", seed=seed)
        verify_steps(example, request_, "backprop", "numerator", seed=seed)


def test_every_delta_is_checked_against_finite_differences():
    steps = verify_steps("cs224n", "∂J/∂W", "backprop", "shape")
    deltas = {s.quantity for s in steps if s.role == "gradient" and s.group == "delta"}
    assert deltas == {"θ", "z"}
    steps = verify_steps("ng", "∂J/∂W1", "backprop", "shape")
    deltas = {s.quantity for s in steps if s.role == "gradient" and s.group == "delta"}
    assert deltas == {"Z2", "Z1"}


def test_the_chain_has_one_value():
    """Every step of the dJ chain, at one point and direction, is one number."""
    res = derive(CS224N)["∂J/∂W"]
    steps = res.steps("differentials")
    env, sizes, direction = point(res, 7)
    vals = evaluation_env(steps[0].context, env, sizes, direction)
    values = [float(evaluate(s.expr, vals, sizes)[0, 0]) for s in steps if s.role == "differential"]
    assert len(values) >= 8
    assert np.allclose(values, values[0], rtol=1e-9, atol=1e-12)


# ====================================================================== what the sources print
def texts(steps) -> list[str]:
    return [s.text for s in steps]


def has(steps, fragment: str) -> bool:
    return any(fragment in t for t in texts(steps))


def test_seed_differentials_with_the_factor_two():
    steps = derive(SEED)[0].steps("differentials")
    assert has(steps, "dy = dW x")
    assert has(steps, "dJ = dyᵀ y + yᵀ dy")
    assert has(steps, "dJ = 2 yᵀ dy")
    assert has(steps, "dJ = 2 yᵀ dW x")
    assert has(steps, "dJ = tr(2 x yᵀ dW)")
    assert has(steps, "⟨2 y xᵀ, dW⟩ = 2 y xᵀ : dW")
    assert steps[-1].text.startswith("∂J/∂W = 2 y xᵀ")
    # the rules are named
    rules = " | ".join(s.rule for s in steps)
    assert "the transpose of a scalar is itself: dyᵀ y = yᵀ dy" in rules
    assert "cyclic property" in rules and "Frobenius" in rules
    # the order a reader follows: definitions, local differentials, substitution, trace, identification
    order = [s.group for s in steps]
    assert order == sorted(order, key=["forward", "local", "chain", "result"].index)
    # LaTeX: braces under the factors of the main product
    tr = next(s for s in steps if "tr(" in s.text)
    assert "\\underbrace{x}_{n \\times 1}" in tr.latex
    assert "\\underbrace{\\mathrm{d}W}_{m \\times n}" in tr.latex
    assert "\\operatorname{tr}" in tr.latex


def test_seed_numerator_layout_transposes_with_a_reason():
    steps = derive(SEED)[0].steps("differentials", "numerator")
    last = steps[-1]
    assert last.text.startswith("∂J/∂Wᵀ = 2 x yᵀ")
    assert "numerator layout" in last.note and "transpose" in last.note


def test_cs224n_differentials_as_the_notes():
    steps = derive(CS224N)["∂J/∂W"].steps("differentials")
    for fragment in ("z = W x + b1", "h = relu(z)", "θ = U h + b2", "ŷ = softmax(θ)",
                     "dz = dW x", "dh = relu′(z) ⊙ dz", "dθ = U dh", "dJ = (ŷ - y)ᵀ dθ",
                     "dJ = (ŷ - y)ᵀ U dh", "dJ = ((Uᵀ (ŷ - y)) ⊙ relu′(z))ᵀ dz",
                     "dJ = tr(x ((Uᵀ (ŷ - y)) ⊙ relu′(z))ᵀ dW)",
                     "∂J/∂W = ((Uᵀ (ŷ - y)) ⊙ relu′(z)) xᵀ"):
        assert has(steps, fragment), fragment
    # shapes on the forward definitions
    assert has(steps, "z = W x + b1    (m×1)    [W (m×n) · x (n×1) = m×1]")
    rules = [s.rule for s in steps]
    assert "d relu(X) = relu′(X) ⊙ dX" in rules
    assert any(r.startswith("softmax/cross-entropy rule") for r in rules)
    assert any("gᵀ (a ⊙ dz) = (g ⊙ a)ᵀ dz" in r for r in rules)
    assert any(r.startswith("substitute dθ = U dh") for r in rules)


def test_cs224n_backprop_shape_convention():
    steps = derive(CS224N)["∂J/∂W"].steps("backprop", "shape")
    for fragment in ("∂J/∂θᵀ = (ŷ - y)ᵀ", "δ₁ = ŷ - y",
                     "∂J/∂zᵀ = δ₁ᵀ U diag(relu′(z))    [δ₁ᵀ (1×k) · U (k×m) · diag(relu′(z)) (m×m) = 1×m]",
                     "δ₂ = diag(relu′(z)) Uᵀ δ₁", "δ₂ = (Uᵀ δ₁) ⊙ relu′(z)",
                     "δ₂ = (Uᵀ (ŷ - y)) ⊙ relu′(z)",
                     "∂J/∂U = δ₁ hᵀ", "∂J/∂b2 = δ₁", "∂J/∂b1 = δ₂", "∂J/∂x = Wᵀ δ₂", "∂J/∂W = δ₂ xᵀ"):
        assert has(steps, fragment), fragment
    why = next(s for s in steps if s.text.startswith("δ₂ = diag(relu′(z)) Uᵀ δ₁")).note
    assert why.startswith("we transpose because the shape convention lays ∂J/∂z out like z, a column")
    assert "the chain rule of Jacobians produces a row" in why
    chain = next(s for s in steps if s.text.startswith("∂J/∂zᵀ")).rule
    assert "∂J/∂zᵀ = ∂J/∂θᵀ ∂θ/∂hᵀ ∂h/∂zᵀ" in chain
    assert steps[-1].text.startswith("∂J/∂W = ((Uᵀ (ŷ - y)) ⊙ relu′(z)) xᵀ")


def test_cs224n_backprop_numerator_is_the_notes_row_form():
    steps = derive(CS224N)["∂J/∂W"].steps("backprop", "numerator")
    for fragment in ("δ₁ = ∂J/∂θᵀ = (ŷ - y)ᵀ", "δ₂ = ∂J/∂zᵀ = δ₁ U diag(relu′(z))",
                     "δ₂ = (δ₁ U) ⊙ relu′(z)ᵀ", "∂J/∂Uᵀ = h δ₁", "∂J/∂xᵀ = δ₂ W", "∂J/∂Wᵀ = x δ₂"):
        assert has(steps, fragment), fragment
    assert "no transpose is needed" in next(s for s in steps if s.text.startswith("δ₂ = (δ₁ U)")).note


def test_cs224n_backprop_denominator_runs_right_to_left():
    steps = derive(CS224N)["∂J/∂x"].steps("backprop", "denominator")
    s = next(s for s in steps if s.text.startswith("δ₂ = diag(relu′(z)) Uᵀ δ₁"))
    assert "right to left" in s.rule and "denominator layout" in s.note


def test_ng_backprop_is_dz_dw_db():
    res = derive(NG)
    steps = res["∂J/∂W1"].steps("backprop")
    for fragment in ("δ₁ = (1/m) (A2 - Y)", "δ₂ = (W2ᵀ δ₁) ⊙ (1 - A1^∘2)", "∂J/∂W1 = δ₂ Xᵀ",
                     "∂J/∂b1 = δ₂ 𝟏", "∂J/∂W2 = δ₁ A1ᵀ", "Z1 = W1 X + b1 𝟏ᵀ"):
        assert has(steps, fragment), fragment
    # a matrix quantity: the Jacobian chain is written in vec form, with the reason
    vec = next(s for s in steps if s.text.startswith("∂J/∂(vec Z1)ᵀ"))
    assert "(I ⊗ W2)" in vec.text
    assert "4-index" in next(s for s in steps if s.text.startswith("δ₂ = (W2ᵀ δ₁)")).note
    diff = res["∂J/∂b1"].steps("differentials")
    assert has(diff, "dZ1 = db1 𝟏ᵀ")
    assert any("broadcast" in s.rule for s in diff)


def test_logdet_and_inverse():
    steps = derive(LOGDET)[0].steps("differentials")
    assert has(steps, "dJ = tr(X⁻¹ dX) + tr(A dX)")
    assert any("d log det(X) = tr(X⁻¹ dX)" in s.rule for s in steps)
    # the order of the terms of a sum is a choice of presentation
    assert has(steps, "dJ = tr((A + X⁻¹) dX)") or has(steps, "dJ = tr((X⁻¹ + A) dX)")
    assert steps[-1].text.startswith(("∂J/∂X = Aᵀ + X⁻ᵀ", "∂J/∂X = X⁻ᵀ + Aᵀ"))
    steps = derive(INVERSE)[0].steps("differentials")
    assert has(steps, "dJ = -aᵀ X⁻¹ dX X⁻¹ b")
    assert any("d(X⁻¹) = −X⁻¹ dX X⁻¹" in s.rule for s in steps)
    assert has(steps, "dJ = tr(-X⁻¹ b aᵀ X⁻¹ dX)")
    assert steps[-1].text.startswith("∂J/∂X = -X⁻ᵀ a bᵀ X⁻ᵀ")


# ====================================================================== regressions
GAUSS_G = "S⁻¹ - S⁻¹ (x - μ) (x - μ)ᵀ S⁻¹"
GAUSS_G_LATEX = "S^{-1} - S^{-1} \\left(x - \\mu\\right) \\left(x - \\mu\\right)^{\\top} S^{-1}"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_sum_before_the_frobenius_colon_is_bracketed(layout):
    """``G : dX`` with G a sum reads ``(A - B) : dS``, not ``A - B : dS``; a
    shape after a sum brackets it too.  Every step still equals dJ."""
    steps = verify_steps("gauss", "∂J/∂S", "differentials", layout)
    assert has(steps, f"dJ = tr(({GAUSS_G}) dS)")
    frob = next(s for s in steps if s.rule.startswith("tr(Gᵀ dX) = ⟨G, dX⟩"))
    assert frob.text.startswith(f"dJ = ⟨{GAUSS_G}, dS⟩ = ({GAUSS_G}) : dS    [⟨({GAUSS_G}) (n×n), dS (n×n)⟩ = 1×1]")
    assert frob.latex.endswith(f"\\right\\rangle = \\left({GAUSS_G_LATEX}\\right) : \\mathrm{{d}}S")
    steps = verify_steps("logdet", "∂J/∂X", "differentials", layout)
    assert has(steps, "dJ = ⟨X⁻ᵀ + Aᵀ, dX⟩ = (X⁻ᵀ + Aᵀ) : dX") or has(steps, "dJ = ⟨Aᵀ + X⁻ᵀ, dX⟩ = (Aᵀ + X⁻ᵀ) : dX")
    # a product, or a leading minus, needs no brackets before ":" (-A : dX is -(A : dX) either way)
    steps = verify_steps("inverse", "∂J/∂X", "differentials", layout)
    assert has(steps, "dJ = ⟨-X⁻ᵀ a bᵀ X⁻ᵀ, dX⟩ = -X⁻ᵀ a bᵀ X⁻ᵀ : dX    [⟨(-X⁻ᵀ a bᵀ X⁻ᵀ) (n×n), dX (n×n)⟩")
    steps = verify_steps("seed", "∂J/∂W", "differentials", layout)
    assert has(steps, "dJ = ⟨2 y xᵀ, dW⟩ = 2 y xᵀ : dW    [⟨(2 y xᵀ) (m×n), dW (m×n)⟩ = 1×1]")


def test_an_inner_product_brackets_each_factor_before_its_shape():
    steps = verify_steps("ng", "∂J/∂b1", "differentials", "shape")
    assert has(steps, "[⟨((1/m) (A2 - Y)) (1×m), (W2 dA1) (1×m)⟩ = 1×1]")
    assert has(steps, "(A2 ⊙ (1 - A2) ⊙ dZ2) (1×m)⟩")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_backprop_shows_only_the_path_to_the_variable(layout):
    """∂J/∂μ: S is a branch of J of its own, so no ∂J/∂S step (and the other way round)."""
    steps = verify_steps("gauss", "∂J/∂μ", "backprop", layout)
    assert not has(steps, "∂J/∂S") and {s.quantity for s in steps if s.role == "gradient"} == {"μ"}
    assert has(steps, "∂J/∂μ = -2 S⁻¹ (x - μ)")
    steps = verify_steps("gauss", "∂J/∂S", "backprop", layout)
    assert not has(steps, "∂J/∂μ") and {s.quantity for s in steps if s.role == "gradient"} == {"S"}
    # W feeds y on the way to x, but J also uses W itself: ∂J/∂W is not a step towards ∂J/∂x
    steps = verify_steps("seed_direct", "∂J/∂x", "backprop", layout)
    assert not has(steps, "∂J/∂W") and {s.quantity for s in steps if s.role == "gradient"} == {"y", "x"}
    # the gradients read off δ's on the path still show, as in the CS224n notes
    steps = verify_steps("cs224n", "∂J/∂W", "backprop", layout)
    assert {s.quantity for s in steps if s.group == "gradient"} == {"U", "b2", "b1", "x", "W"}


def test_backprop_text_for_the_gaussian():
    steps = verify_steps("gauss", "∂J/∂μ", "backprop", "shape")
    assert [s.text.split("    ")[0] for s in steps] == [
        "J = log det(S) + (x - μ)ᵀ S⁻¹ (x - μ)", "∂J/∂μᵀ = -2 (x - μ)ᵀ S⁻¹", "∂J/∂μ = -2 S⁻¹ (x - μ)"]
    steps = verify_steps("gauss", "∂J/∂S", "backprop", "shape")
    assert [s.text.split("    ")[0] for s in steps] == [
        "J = log det(S) + (x - μ)ᵀ S⁻¹ (x - μ)", f"∂J/∂S = {GAUSS_G}",
        "S is symmetric: the gradient within symmetric matrices, sym(G) = (G + Gᵀ)/2"]
    # a symmetric G is not called "its transpose, G"; "laid out like S" is said once
    note = steps[-2].note
    assert "it is symmetric, so numerator layout gives the same" in note and "its transpose" not in note
    assert note.count("laid out like S (n×n)") == 1


def test_rules_name_an_unnamed_argument_with_brackets():
    steps = verify_steps("cs224n_inline", "∂J/∂U", "differentials", "shape")
    rules = " ".join(s.rule for s in steps)
    assert "d(−yᵀ log softmax(U h + b2)) = (softmax(U h + b2) − y)ᵀ d(U h + b2)" in \
        " ".join(s.rule for s in verify_steps("cs224n_inline", "∂J/∂W", "differentials", "shape"))
    # the broadcast in d log softmax copies the scalar sᵀ dU h, not dU
    assert "⟨G, dU 𝟏ᵀ⟩" not in rules and "⟨G, dv 𝟏ᵀ⟩ = ⟨G 𝟏, dv⟩" in rules


def test_the_answer_agrees_with_the_engine():
    for example, request_ in CASES:
        res = derive(CELLS[example])[request_]
        for kind in ("differentials", "backprop"):
            steps = res.steps(kind, "shape")
            final = next(s for s in reversed(steps) if s.role == "gradient" and s.layout == "shape"
                         and s.quantity == res.request.wrt_name)
            env, sizes, direction = point(res, 3)
            vals = evaluation_env(steps[0].context, env, sizes, direction)
            assert close(evaluate(final.expr, vals, sizes), res.view("shape").evaluate_at(env, sizes))


def test_shapes_are_shown_on_every_product():
    steps = derive(CS224N)["∂J/∂W"].steps("differentials")
    for s in steps:
        if s.products:
            assert s.shapes and all(isinstance(t, str) and "×" in sh for t, sh in s.shapes)
            assert "\\underbrace" in s.latex
    s = next(s for s in steps if s.text.startswith("dJ = (ŷ - y)ᵀ U dh"))
    assert s.shapes == [("(ŷ - y)ᵀ", "1×k"), ("U", "k×m"), ("dh", "m×1")]


def test_rendering():
    steps = derive(CS224N)["∂J/∂W"].steps("backprop")
    text = render_text(steps)
    assert "δ₂ = (Uᵀ δ₁) ⊙ relu′(z)" in text and "why: we transpose" in text
    latex = render_latex(steps)
    assert latex.startswith("\\begin{aligned}") and "\\delta_{2}" in latex
    assert latex.count("\\begin{aligned}") == 1


# ====================================================================== anything else, gracefully
OTHERS = [
    # a Jacobian: vector by vector
    ("x : n\nW1 : m x n\nW2 : k x m\na = W1 x\nh = tanh(a)\ny = W2 h\n∂y/∂x", "jacobian"),
    # matrix by matrix: a 4-index tensor
    ("X : n x n, invertible\nY = X^{-1}\n∂Y/∂X", "tensor"),
    # a Hessian
    ("x : n\nA : n x n\nJ = x^T A x\n∂²J/∂x²", "hessian"),
    # an unnamed function
    ("x : n\nA : n x n\n∂(x^T A x)/∂x", "gradient"),
    # by a defined quantity: a cut
    ("x : n\nW : m x n\nz = W x\nh = tanh(z)\nJ = sum(h)\n∂J/∂z", "gradient"),
    # a scalar variable
    ("s : 1\nx : n\ny = s x\nJ = y^T y\n∂J/∂s", "gradient"),
    # does not depend on the variable
    ("x : n\nW : m x n\nz = W x\nJ = x^T x\n∂J/∂W", "gradient"),
    # a quantity used twice (a DAG)
    ("x : n\nW : n x n\nz = W x\nh = tanh(z)\nJ = h^T z + sum(h ⊙ h)\n∂J/∂W", "gradient"),
    # determinants, symmetric matrices, row vectors, Kronecker products
    ("X : n x n, invertible\nJ = det(X)\n∂J/∂X", "gradient"),
    ("S : n x n, spd\nx : n\nJ = x^T S^{-1} x\n∂J/∂S", "gradient"),
    ("x : 1 x n\nW : n x m\nz = x W\nJ = z z^T\n∂J/∂W", "gradient"),
    ("A : m x n\nJ = sum(exp(A) ⊙ A)\n∂J/∂A", "gradient"),
    ("x : n\nJ = logsumexp(x)\n∂J/∂x", "gradient"),
    # logistic regression, a softmax over the columns of a batch, one weight used twice, ridge
    ("x : n\nw : n\nb : 1\ny : 1\np = σ(w^T x + b)\nJ = -(y log(p) + (1 - y) log(1 - p))\n∂J/∂w", "gradient"),
    (("X : n x m\nW : k x n\nb : k\nY : k x m, onehot\nZ = W X + b\nP = softmax(Z, axis=0)\n"
      "J = -(1/m) sum(Y ⊙ log(P))\n∂J/∂W"), "gradient"),
    ("x : n\nW : n x n\nh1 = tanh(W x)\nh2 = tanh(W h1)\nJ = sum(h2)\n∂J/∂W", "gradient"),
    ("X : m x n\ny : m\nw : n\nλ : 1\nJ = ‖X w - y‖² + λ ‖w‖²\n∂J/∂w", "gradient"),
    ("A : m x n\nB : n x p\nC = A B\nJ = tr(C^T C)\n∂J/∂A", "gradient"),
]


@pytest.mark.parametrize("cell,kind", OTHERS)
@pytest.mark.parametrize("steps_kind", ["differentials", "backprop"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_anything_else_gives_an_honest_list(cell, kind, steps_kind, layout):
    res = derive(cell)[0]
    assert res.kind == kind
    steps = res.steps(steps_kind, layout)
    assert steps and all(isinstance(s, Step) for s in steps)
    assert all(s.text and s.latex for s in steps)
    if kind == "hessian":
        assert "first derivatives" in steps[0].text
    # whatever evaluates, evaluates to what it claims
    env, sizes, direction = point(res, 5)
    ctx = steps[0].context
    if ctx is None:
        return
    vals = evaluation_env(ctx, env, sizes, direction)
    from matcalc_magic.verify import first_directional, written_function

    f = written_function(res, env, sizes)
    d_of = first_directional(f, env[res.request.wrt_name], direction)
    for s in steps:
        check_products(s, sizes)
        if s.expr is None:
            continue
        value = evaluate(s.expr, vals, sizes)
        if s.role == "differential":
            want = d_of.reshape(-1, 1, order="F") if s.layout == "vec" else d_of
            assert close(value, want, 1e-4), s.text
        elif s.role == "gradient" and s.quantity == res.request.wrt_name:
            grad = res.view("shape").evaluate_at(env, sizes)
            assert close(value, arranged(grad, s.layout), 1e-6), s.text
        elif s.role == "jacobian" and s.layout in ("vec", "numerator"):
            assert close(value, res.view("vec").evaluate_at(env, sizes), 1e-6), s.text


def test_a_cut_at_a_defined_quantity():
    res = derive("x : n\nW : m x n\nz = W x\nh = tanh(z)\nJ = sum(h)\n∂J/∂z")[0]
    steps = res.steps("differentials")
    assert has(steps, "dh = (1 - h^∘2) ⊙ dz")
    assert steps[-1].text.startswith("∂J/∂z = 1 - h^∘2")


def test_unknown_kind_is_a_clear_error():
    res = derive(SEED)[0]
    with pytest.raises(mm.MatcalcError):
        res.steps("magic")
    with pytest.raises(mm.MatcalcError):
        res.steps("differentials", "sideways")


def test_build_steps_is_the_api_entry_point():
    res = derive(SEED)[0]
    a = build_steps(res, "differentials", "shape")
    b = res.steps()
    assert [s.text for s in a] == [s.text for s in b]
    assert isinstance(sympy.Integer(1), sympy.Integer)  # sympy imported for size symbols
    assert ONE == 1 and same(ONE, 1)


def test_latex_is_plain_ascii_latex():
    """No Unicode left in the LaTeX of any step, rule or note (it renders in
    MathJax, KaTeX and nbconvert alike)."""
    for example, request_ in CASES:
        for kind in ("differentials", "backprop"):
            for layout in LAYOUTS:
                latex = render_latex(derive(CELLS[example])[request_].steps(kind, layout))
                assert latex.isascii(), [ch for ch in latex if not ch.isascii()]
                assert latex.count("{") == latex.count("}")
    for cell, _kind in OTHERS:
        for kind in ("differentials", "backprop"):
            latex = render_latex(derive(cell)[0].steps(kind, "shape"))
            assert latex.isascii(), [ch for ch in latex if not ch.isascii()]


def _katex():
    import shutil
    from pathlib import Path

    node = shutil.which("node")
    root = Path(__file__).resolve().parents[1] / "labextension" / "node_modules" / "katex"
    return (node, root) if node and root.is_dir() else (None, None)


def test_latex_parses_in_katex(tmp_path):
    """Every derivation's LaTeX is accepted by KaTeX (where the front end's
    node_modules are installed)."""
    import json
    import subprocess

    node, katex = _katex()
    if node is None:
        pytest.skip("node and the front end's KaTeX are not installed")
    items = []
    for example, request_ in CASES:
        for kind in ("differentials", "backprop"):
            for layout in LAYOUTS:
                items.append(render_latex(derive(CELLS[example])[request_].steps(kind, layout)))
    for cell, _kind in OTHERS:
        for kind in ("differentials", "backprop"):
            for layout in LAYOUTS:
                items.append(render_latex(derive(cell)[0].steps(kind, layout)))
    data = tmp_path / "latex.json"
    data.write_text(json.dumps(items))
    script = (
        f"const katex = require({json.dumps(str(katex))});"
        f"const items = JSON.parse(require('fs').readFileSync({json.dumps(str(data))}, 'utf8'));"
        "const bad = [];"
        "for (const tex of items) { try { katex.renderToString(tex, {displayMode: true, throwOnError: true}); }"
        " catch (e) { bad.push(String(e).slice(0, 200)); } }"
        "console.log(JSON.stringify(bad));"
    )
    out = subprocess.run([node, "-e", script], check=False, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []
