"""Generated code (``Derivation.code``) in every backend, on the whole corpus
and on random expressions: each returned array equals ``View.evaluate`` and
finite differences of the source's own NumPy function (conftest); for torch
and JAX also the library's own autodiff of the generated value.  Then what
makes it fast (no dense diagonal, the sigmoid once, no commutation matrix,
solve), its argument checks, and ``jax.jit`` / ``torch.compile``.

Executing generated code is what these tests are for (cell text is never
executed anywhere).
"""

from __future__ import annotations

import functools
import inspect
import re

import numpy as np
import pytest
from hypothesis import given, reject, settings

import matcalc_magic as mm
from backends import BACKENDS, require, to_numpy
from conftest import (LAYOUTS, SYMMETRIC, directions, draw_values, fd_compare, fd_directional, parse_decls,
                      size_symbols, to_full)
from corpus import cookbook, cs224n, ng, seeds, textbooks, wikipedia
from matcalc_magic.codegen.names import result_name, value_name
from matcalc_magic.render.names import name_python
from test_properties import CI, DECLS, problems

ENTRIES = [e for mod in (wikipedia, cookbook, cs224n, ng, seeds, textbooks) for e in mod.ENTRIES
           if not (e.refused or e.numeric_bug)]


@functools.lru_cache(maxsize=None)
def derived(cell: str):
    return mm.derive(cell)


@functools.lru_cache(maxsize=None)
def generated(cell: str, backend: str, layout: str, check: bool = False):
    """The namespace of the code generated for ``cell``."""
    code = derived(cell).code(backend, layout=layout, check=check)
    scope: dict = {}
    exec(compile(code, f"<{backend} code>", "exec"), scope)
    return scope


def as_backend(value, backend: str):
    if backend == "torch":
        import torch

        return torch.tensor(np.asarray(value, dtype=float))
    if backend == "jax":
        import jax.numpy as jnp

        return jnp.asarray(np.asarray(value, dtype=float))
    return value


def call(fn, values: dict, backend: str, replace: dict | None = None) -> dict:
    """``fn`` at the arrays of ``values`` (by the cell's names; sizes by name
    for keyword-only size parameters), some arguments replaced as given."""
    by_python = {name_python(k): v for k, v in values.items()}
    args = {}
    for name, p in inspect.signature(fn).parameters.items():
        value = by_python[name]
        args[name] = value if p.kind is p.KEYWORD_ONLY else as_backend(value, backend)
    args.update(replace or {})
    return fn(**args)


class Generated:
    """A result whose arrays come from the generated function, for conftest's
    finite-difference comparison (``view(layout).evaluate(values)``)."""

    def __init__(self, cell: str, result, backend: str):
        self.cell, self.result, self.backend = cell, result, backend
        self.kind, self.request = result.kind, result.request
        self.layout = None

    def view(self, layout: str) -> "Generated":
        self.layout = layout
        return self

    def evaluate(self, values: dict) -> np.ndarray:
        fn = generated(self.cell, self.backend, self.layout)["derivatives"]
        return to_numpy(call(fn, values, self.backend)[result_name(self.request, self.result.cell)])


#: sizes of the symbols, the same in every cell: JAX compiles each operation
#: once per shape, so a handful of shapes keeps the tests quick
SIZES = {"m": 3, "n": 4, "k": 5, "p": 6, "q": 7}


def point(cell: str, seed: int, fixed=None) -> tuple[dict, dict]:
    """Random values (declared variables, and ``fixed`` ones) at SIZES, and
    the sizes by name (for those no array shows: θ : n + 1, or a size of
    arrays the function does not take)."""
    decls = parse_decls(cell)
    symbols = size_symbols(decls)
    sizes = {s: SIZES.get(s, 8 + k) for k, s in enumerate(symbols)}
    values, sizes = draw_values(decls, np.random.default_rng(seed), sizes)
    if fixed:
        values.update(fixed(values, sizes))
    return values, sizes


def assert_close(got, want, what):
    got, want = to_numpy(got), np.asarray(want, dtype=float)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-10, err_msg=what)


def compare_with_the_engine(cell: str, backend: str, layout: str, values: dict, sizes: dict):
    """Every output of the generated function against View.evaluate (results)
    and against the engine's value of each differentiated function."""
    d = derived(cell)
    out = call(generated(cell, backend, layout)["derivatives"], {**values, **sizes}, backend)
    for r in d:
        key = result_name(r.request, d.cell)
        assert_close(out[key], r.view(layout).evaluate({**values, **sizes}), f"{key} ({layout})")
        value = to_numpy(out[value_name(r.request)])
        assert value.shape == (() if r.request.of.is_scalar else value.shape)
    return out


# ====================================================================== the corpus
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e.source}-{e.id}")
def test_corpus_code(entry, backend):
    """In every layout: each output against View.evaluate, the value against
    the source's own function, the entry's result against its finite
    differences and (torch, JAX) the library's autodiff of the value."""
    require(backend)
    d = derived(entry.cell)
    r = d[entry.request]
    symmetric = bool(parse_decls(entry.cell).get(entry.wrt, ((), set()))[1] & SYMMETRIC)
    values, sizes = telling_point(entry, symmetric)
    want = np.asarray(entry.f(values), dtype=float)
    for layout in LAYOUTS:
        out = compare_with_the_engine(entry.cell, backend, layout, values, sizes)
        assert_close(to_numpy(out[value_name(r.request)]).reshape(want.shape), want, "value")
        fd_compare(Generated(entry.cell, r, backend), entry.f, values, entry.wrt, symmetric=symmetric,
                   layouts=(layout,), sizes=sizes)
    if backend != "numpy" and entry.wrt in d.cell.variables:  # not by a defined name: an argument
        assert_matches_autodiff(entry.cell, r, backend, values, sizes)


def telling_point(entry, symmetric: bool) -> tuple[dict, dict]:
    """A random point where the entry's derivative is not zero (a ReLU network
    can be off everywhere at a point: the comparison would prove nothing)."""
    for attempt in range(8):
        values, sizes = point(entry.cell, len(entry.id) + 100 * attempt, entry.fixed)
        with np.errstate(all="ignore"):
            slopes = [fd_directional(entry.f, values, entry.wrt, e)
                      for e in directions(values[entry.wrt].shape, symmetric)]
        if entry.zero or max(np.max(np.abs(s)) for s in slopes) > 1e-8:
            return values, sizes
    raise AssertionError(f"the derivative of {entry.id} is zero at every point tried")


def autodiff(backend: str, f, x, hessian: bool):
    """The library's own derivative of f at x: ∂f/∂x (axes of f, then of x),
    or the Hessian of a scalar f."""
    if backend == "torch":
        import torch.func as tf

        return to_numpy((tf.hessian if hessian else tf.jacrev)(f)(as_backend(x, backend)))
    import jax

    return to_numpy((jax.hessian if hessian else jax.jacrev)(f)(as_backend(x, backend)))


def assert_matches_autodiff(cell: str, result, backend: str, values: dict, sizes: dict):
    """Every layout's generated derivative, read back as T[p, q, r, s]
    (conftest), along every allowed direction, against the library's autodiff
    of the generated value (the same function in every layout)."""
    req = result.request
    key, value_key, wrt = result_name(req, result.cell), value_name(req), name_python(req.wrt_name)
    x = np.asarray(values[req.wrt_name], dtype=float)
    fn = generated(cell, backend, "shape")["derivatives"]
    value = to_numpy(call(fn, {**values, **sizes}, backend)[value_key])
    value2d = value.reshape(1, 1) if value.ndim == 0 else value
    hessian = result.kind == "hessian"
    ad = autodiff(backend, lambda x_: call(fn, {**values, **sizes}, backend, {wrt: x_})[value_key], x, hessian)
    ad = ad.reshape(x.shape * 2 if hessian else value2d.shape + x.shape)
    dirs = directions(x.shape, bool(parse_decls(cell)[req.wrt_name][1] & SYMMETRIC))
    for layout in LAYOUTS:
        out = call(generated(cell, backend, layout)["derivatives"], {**values, **sizes}, backend)
        ours = to_full(result.kind, layout, to_numpy(out[key]), value2d.shape, x.shape)
        ours = ours.reshape(x.shape * 2) if hessian else ours
        for e in dirs:
            np.testing.assert_allclose(np.tensordot(ours, e, axes=([-2, -1], [0, 1])),
                                       np.tensordot(ad, e, axes=([-2, -1], [0, 1])),
                                       rtol=1e-8, atol=1e-9, err_msg=f"{key} ({layout}) against {backend} autodiff")


# ====================================================================== random expressions
#: half the engine's own property examples: each runs in three backends and five layouts
CODE_EXAMPLES = settings(CI, max_examples=30)


@pytest.mark.parametrize("backend", BACKENDS)
@CODE_EXAMPLES
@given(problems())
def test_random_expressions_code(backend, problem):
    require(backend)
    e, wrt = problem
    cell = f"{DECLS}\nf = {e.text}\n∂f/∂{wrt}"
    values, sizes = point(cell, len(cell))
    with np.errstate(all="ignore"):
        y = np.asarray(e.fn(values), dtype=float)
    if not (np.all(np.isfinite(y)) and np.max(np.abs(y), initial=0) < 1e6):
        return  # outside the functions' domains at this point
    try:
        r = derived(cell)[0]
    except mm.MatcalcError:
        reject()  # a cell the engine refuses has no code: the engine's own tests report it
    symmetric = bool(parse_decls(cell)[wrt][1] & SYMMETRIC)
    for layout in LAYOUTS:
        out = compare_with_the_engine(cell, backend, layout, values, sizes)
        assert_close(to_numpy(out["f"]).reshape(y.shape), y, "value")
        fd_compare(Generated(cell, r, backend), e.fn, values, wrt, symmetric=symmetric, layouts=(layout,),
                   sizes=sizes)
    if backend != "numpy":
        assert_matches_autodiff(cell, r, backend, values, sizes)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("f", ["(sin(A ⊙ A)) + A", "(tanh(A * Y)) + A"])
def test_an_elementwise_function_plus_its_variable(f, backend):
    """Random expressions the engine once recursed on without end."""
    require(backend)
    cell = f"{DECLS}\nf = {f}\n∂f/∂A"
    values, sizes = point(cell, 11)
    for layout in LAYOUTS:
        compare_with_the_engine(cell, backend, layout, values, sizes)


# ====================================================================== Hessian-vector products
HVP_CELLS = [
    "X : m x n\ny : m\nw, v : n\np = σ(X w)\nJ = -(1/m) (y^T log(p) + (1 - y)^T log(1 - p))\nhvp(J, w, v)",
    "X, V : n x n; A : n x n\nf = log det(X) + tr(A X^{-1})\nhvp(f, X, V)",
    "x, u : n; W : m x n\nJ = sum(tanh(W x) ** 2)\nhvp(J, x, u)",
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("cell", HVP_CELLS)
def test_hvp_code_equals_the_engine_and_autodiff(cell, backend):
    """∇²J v from the code, against View.evaluate and against the library's
    forward-over-reverse product (torch, JAX), in every layout."""
    require(backend)
    d = derived(cell)
    req = d[0].request
    values, _ = point(cell, 7, lambda v, s: {"X": v["X"] + 3 * np.eye(len(v["X"]))} if "det" in cell else {})
    for layout in LAYOUTS:
        out = compare_with_the_engine(cell, backend, layout, values, {})
        if backend == "numpy":
            continue
        fn = generated(cell, backend, layout)["derivatives"]
        wrt, v = name_python(req.wrt_name), name_python(req.direction_name)

        def grad_value(x_):
            return call(fn, values, backend, {wrt: x_})["J" if "J" in out else "f"]

        x0, v0 = as_backend(values[req.wrt_name], backend), as_backend(values[req.direction_name], backend)
        if backend == "torch":
            import torch.func as tf

            hv = tf.jvp(tf.grad(grad_value), (x0,), (v0,))[1]
        else:
            import jax

            hv = jax.jvp(jax.grad(grad_value), (x0,), (v0,))[1]
        g = to_full("gradient", layout, to_numpy(out[result_name(req, d.cell)]), (1, 1), x0.shape)
        np.testing.assert_allclose(g.reshape(x0.shape), to_numpy(hv), rtol=1e-8, atol=1e-10, err_msg=layout)


def test_hvp_code_never_forms_the_hessian():
    code = derived(HVP_CELLS[0]).code()
    assert "hvp_J_w_v = (1/m) * (X.T @ (p * t_0 * (X @ v)))" in code
    assert "X.T @ (p" in code and "diag" not in code


# ====================================================================== fast: the structure of the code
LR_HESSIAN = """\
X : m x n
y : m
w : n
p = σ(X w)
J = -(1/m) (y^T log(p) + (1 - y)^T log(1 - p))
∂J/∂w
∂²J/∂w²
"""
SIGMOID_CALL = {"numpy": "sigmoid(", "torch": "torch.sigmoid(", "jax": "jax.nn.sigmoid("}


@pytest.mark.parametrize("backend", BACKENDS)
def test_lr_hessian_has_no_dense_diagonal_and_one_sigmoid(backend):
    code = derived(LR_HESSIAN).code(backend)
    body = code.split("def derivatives", 1)[1]
    assert "diag(" not in body  # Xᵀ diag(s) X is Xᵀ (s * X): no m×m matrix
    assert body.count(SIGMOID_CALL[backend]) == 1
    assert re.search(r"X\.T @ \(p \* \w+ \* X\)", body)
    assert "J = " in body and "dJ_dw = " in body


def test_the_forward_pass_is_shared_and_nothing_unused_is_computed():
    code = derived("x : n; W : m x n; b : m\nz = W x + b\nq = exp(z)\nh = tanh(z)\nJ = sum(h)\n∂J/∂W, ∂J/∂b").code()
    body = code.split("def derivatives", 1)[1]
    assert body.count("np.tanh(") == 1 and "q =" not in body and "np.exp" not in body
    assert body.count("W @ x") == 1


def test_commutation_matrices_are_reshapes():
    """The Hessian of log det X is −(X⁻ᵀ ⊗ X⁻¹) K: the result is that n²×n²
    matrix, formed once; K reorders its columns instead of multiplying it."""
    code = derived("X : n x n, invertible\n∂²(log det(X))/∂X²").code()
    assert "swapaxes" in code and "np.eye(n**2)" not in code and "for " not in code
    assert code.count("np.linalg.inv(") == 1


def test_a_kronecker_product_times_a_matrix_is_never_formed():
    """∂vec(A diag(x) B)/∂xᵀ = (Bᵀ ⊗ A) S for the n²×n selector S: Bᵀ ⊗ A
    (mp × n², larger than the result) is applied to S block by block."""
    d = derived("x : n; A : m x n; B : n x p\n∂(A diag(x) B)/∂x")
    assert d[0].view("vec").text.startswith("∂vec(A diag(x) B)/∂xᵀ = (Bᵀ ⊗ A)")
    for layout in ("vec", "index"):
        body = d.code(layout=layout).split("def derivatives", 1)[1]
        assert "np.kron(B.T, A)" not in body and "(B.T @ (A @ " in body


def test_a_once_used_inverse_is_a_solve():
    code = derived("x : n; A : n x n, spd; b : n\nf = x^T A^{-1} b\n∂f/∂x").code()
    assert "np.linalg.solve(A, b)" in code and "inv(" not in code
    code = derived("X : n x n; A : n x n\nf = log det(X) + tr(A X^{-1})\n∂f/∂X").code()
    assert code.count("np.linalg.inv(X)") == 1  # used three times: formed once
    assert "(A * t_0).sum(keepdims=True)" in code  # tr(A X⁻¹) without the product


# ====================================================================== arguments
CELL_XW = "x : n\nW : m x n\nJ = sum(tanh(W x))\n∂J/∂W"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_wrong_shape_is_named_in_the_cells_terms(backend):
    require(backend)
    fn = generated(CELL_XW, backend, "shape")["derivatives"]
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=re.escape("W must be m×n = 3×4 (x is 4×1), got (3, 5)")):
        fn(as_backend(rng.standard_normal(4), backend), as_backend(rng.standard_normal((3, 5)), backend))


@pytest.mark.parametrize("backend", BACKENDS)
def test_vectors_may_be_one_dimensional(backend):
    require(backend)
    fn = generated(CELL_XW, backend, "shape")["derivatives"]
    rng = np.random.default_rng(1)
    x, W = rng.standard_normal(4), rng.standard_normal((3, 4))
    flat, column = fn(as_backend(x, backend), as_backend(W, backend)), fn(x.reshape(4, 1), W)
    assert_close(flat["dJ_dW"], to_numpy(column["dJ_dW"]), "dJ_dW")
    assert to_numpy(flat["J"]).shape == ()


def test_the_function_signature_follows_the_declarations():
    d = derived("b : m\nW : m x n\nx : n\nunused : k\nJ = sum(W x + b)\n∂J/∂x")
    scope: dict = {}
    exec(d.code(name="loss_and_grad"), scope)
    assert list(inspect.signature(scope["loss_and_grad"]).parameters) == ["b", "W", "x"]
    with pytest.raises(mm.MatcalcError, match="unknown backend"):
        d.code("tensorflow")


# ====================================================================== compilers
def test_jax_code_runs_under_jit():
    jax = require("jax")
    fn = generated(LR_HESSIAN, "jax", "shape")["derivatives"]
    values, _ = point(LR_HESSIAN, 3)
    jitted = jax.jit(fn)(values["X"], values["y"], values["w"])
    plain = fn(values["X"], values["y"], values["w"])
    for key in plain:
        assert_close(jitted[key], to_numpy(plain[key]), key)


def test_torch_code_compiles_to_one_graph():
    """``torch.compile(fullgraph=True)`` traces the whole function (torch
    operations only, no graph break); the aot_eager backend skips the slow
    kernel generation, which proves nothing more about the code."""
    torch = require("torch")
    fn = generated(LR_HESSIAN, "torch", "shape")["derivatives"]
    values, _ = point(LR_HESSIAN, 3)
    args = [torch.tensor(values[k]) for k in ("X", "y", "w")]
    torch._dynamo.reset()
    compiled = torch.compile(fn, backend="aot_eager", fullgraph=True)(*args)
    for key, value in fn(*args).items():
        assert_close(compiled[key], to_numpy(value), key)


# ====================================================================== the checker in the code
@pytest.mark.parametrize("backend", BACKENDS)
def test_check_derivatives_passes_right_code_and_fails_wrong_code(backend):
    require(backend)
    cell = LR_HESSIAN.replace("w : n\n", "w, v : n\n") + "hvp(J, w, v)\n∂p/∂X\n"
    values, _ = point(cell, 5)
    scope = generated(cell, backend, "numerator", check=True)
    errors = scope["check_derivatives"](**values)
    assert set(errors) == {"dJ_dw", "d2J_dw2", "hvp_J_w_v", "dp_dX"}
    assert max(errors.values()) < 1e-6
    code = derived(cell).code(backend, layout="numerator", check=True)
    wrong = code.replace("hvp_J_w_v = (1/m) * ", "hvp_J_w_v = (2/m) * ")
    assert wrong != code
    scope = {}
    exec(compile(wrong, "<wrong code>", "exec"), scope)
    with pytest.raises(AssertionError, match="hvp_J_w_v"):
        scope["check_derivatives"](**values)


def test_check_is_off_by_default():
    assert "check_derivatives" not in derived(LR_HESSIAN).code()


def test_the_readme_shows_the_function_as_generated():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    cell = readme.split("%%mderive --code\n", 1)[1].split("```", 1)[0]
    assert derived(cell).code() in readme
