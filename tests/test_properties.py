"""Property-based tests.

1. Random well-shaped expressions: a recursive strategy picks a target shape
   and builds an expression of that shape from sums, differences, matrix
   products (with a fresh inner size), transposes, Hadamard products,
   scalar multiples, elementwise functions on safe domains, traces, sums,
   softmax of columns, and inverses / log-determinants of spd variables.
   Constrained variables take part (a probability vector, one-hot vectors and
   columns, symmetric and spd matrices): each is drawn as declared and
   differentiated by like any other; by a symmetric matrix the derivative
   must also vanish on antisymmetric directions.
   Each expression is rendered twice, as cell text and as NumPy, derived by
   each variable it uses, and every layout is compared with finite
   differences (conftest) — plus the engine's own check() — and every
   printed view, parsed back as input, has the view's value.
2. Fuzzing: junk and near-miss cells only ever derive or raise MatcalcError,
   and never hang.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import matcalc_magic as mm
from conftest import LAYOUTS, SYMMETRIC, draw_values, fd_compare, parse_decls, sigmoid, softmax, softplus
from matcalc_magic.errors import MatcalcError

# sizes: three symbols and 1
DIMS = ("m", "n", "k", "1")

# the variables every generated cell declares, by shape
VARIABLES = {
    ("1", "1"): ["a", "b"],
    ("n", "1"): ["x", "p"],
    ("m", "1"): ["y", "o"],
    ("k", "1"): ["u"],
    ("1", "n"): ["r"],
    ("1", "m"): ["q"],
    ("m", "n"): ["A", "P", "Y"],
    ("n", "m"): ["B"],
    ("m", "m"): ["C"],
    ("n", "n"): ["D"],
    ("k", "n"): ["E"],
    ("n", "k"): ["F"],
    ("m", "k"): ["G"],
    ("k", "m"): ["H"],
    ("k", "k"): ["K", "Q"],
}
SPD = {("n", "n"): "S", ("m", "m"): "T"}
# constrained variables: their properties may simplify results, never what is differentiated
PROPS = {"P": ", positive", "S": ", spd", "T": ", spd", "p": ", probability", "o": ", onehot",
         "Y": ", onehot", "Q": ", symmetric"}


def _decl(name, shape):
    r, c = shape
    dims = "scalar" if shape == ("1", "1") else (r if c == "1" else f"{r} x {c}")
    return f"{name} : {dims}{PROPS.get(name, '')}"


DECLS = "\n".join(
    [_decl(v, s) for s, names in VARIABLES.items() for v in names] + [_decl(v, s) for s, v in SPD.items()]
)


@dataclass(frozen=True)
class E:
    """An expression: cell text, a NumPy function of the values, the variables used."""

    text: str
    fn: object
    names: frozenset

    def paren(self) -> str:
        return self.text if self.text.isidentifier() else f"({self.text})"


def _leaf(shape):
    names = VARIABLES.get(shape, [])
    return [E(n, (lambda v, n=n: v[n]), frozenset({n})) for n in names]


@st.composite
def expr(draw, shape, depth, top=False):
    """An expression of ``shape``; ``depth`` bounds the nesting; at the top a
    compound expression (not a lone leaf) whenever one is possible."""
    r, c = shape
    options = ["leaf"] if VARIABLES.get(shape) else []
    if shape in SPD:
        options.append("spd")
    if shape == ("1", "1"):
        options += ["number", "logdet", "sum-constrained"]
    if top and depth > 0:
        options = []
    if depth > 0:
        options += ["add", "sub", "scale", "matmul", "matmul", "transpose", "hadamard", "elementwise"]
        if shape == ("1", "1"):
            options += ["trace", "sum"]
        if r == "1" and c != "1":
            options.append("sum0")
        if c == "1" and r != "1":
            options += ["sum1", "softmax"]
        if r != "1" and c != "1":
            options.append("softmax")
        if r == c and r != "1":
            options.append("inverse-spd")
    if not options:  # no leaf of this shape: force a product
        options = ["matmul"]
    kind = draw(st.sampled_from(options))
    sub = max(depth - 1, 0)

    if kind == "leaf":
        return draw(st.sampled_from(_leaf(shape)))
    if kind == "spd":
        s = SPD[shape]
        return E(s, lambda v: v[s], frozenset({s}))
    if kind == "number":
        value = draw(st.sampled_from([2, 3, 0.5]))
        return E(str(value), lambda v: np.array([[float(value)]]), frozenset())
    if kind == "sum-constrained":  # what sums to one (or is symmetric), inside the function
        name = draw(st.sampled_from(["p", "o", "Y", "Q"]))
        fn = np.trace if name == "Q" else np.sum
        return E(f"tr({name})" if name == "Q" else f"sum({name})", lambda v: np.array([[fn(v[name])]]),
                 frozenset({name}))
    if kind == "logdet":
        s = draw(st.sampled_from(sorted(SPD.values())))
        return E(f"logdet({s})", lambda v: np.array([[np.linalg.slogdet(v[s])[1]]]), frozenset({s}))
    if kind == "inverse-spd":
        if shape in SPD and draw(st.booleans()):
            s = SPD[shape]
            return E(f"{s}^{{-1}}", lambda v: np.linalg.inv(v[s]), frozenset({s}))
        # (I + Aᵀ A)⁻¹-like: an spd expression built from any matrix
        d = draw(st.sampled_from([x for x in DIMS if x != "1"]))
        m = draw(expr((d, r), sub))
        return E(
            f"inv(np.eye({r}) + {m.paren()}^T {m.paren()})",
            lambda v: np.linalg.inv(np.eye(m.fn(v).shape[1]) + m.fn(v).T @ m.fn(v)),
            m.names,
        )
    if kind in ("add", "sub", "hadamard"):
        a, b = draw(expr(shape, sub)), draw(expr(shape, sub))
        op = {"add": "+", "sub": "-", "hadamard": draw(st.sampled_from(["⊙", "*"]))}[kind]
        f = {"add": np.add, "sub": np.subtract, "hadamard": np.multiply}[kind]
        return E(f"{a.paren()} {op} {b.paren()}", lambda v: f(a.fn(v), b.fn(v)), a.names | b.names)
    if kind == "scale":
        s = draw(expr(("1", "1"), sub))
        a = draw(expr(shape, sub))
        return E(f"{s.paren()} {a.paren()}", lambda v: s.fn(v) * a.fn(v), s.names | a.names)
    if kind == "matmul":
        d = draw(st.sampled_from(DIMS))
        a, b = draw(expr((r, d), sub)), draw(expr((d, c), sub))
        op = draw(st.sampled_from([" ", " @ "]))
        return E(f"{a.paren()}{op}{b.paren()}", lambda v: a.fn(v) @ b.fn(v), a.names | b.names)
    if kind == "transpose":
        a = draw(expr((c, r), sub))
        mark = draw(st.sampled_from(["^T", "ᵀ", ".T", "'"]))
        return E(f"{a.paren()}{mark}", lambda v: a.fn(v).T, a.names)
    if kind == "elementwise":
        a = draw(expr(shape, sub))
        name = draw(st.sampled_from(["tanh", "sin", "cos", "σ", "softplus", "exp∘tanh", "log1p²", "sqrt1p²"]))
        t = a.paren()
        text, f = {
            "tanh": (f"tanh({a.text})", np.tanh),
            "sin": (f"sin({a.text})", np.sin),
            "cos": (f"cos({a.text})", np.cos),
            "σ": (f"σ({a.text})", sigmoid),
            "softplus": (f"softplus({a.text})", softplus),
            "exp∘tanh": (f"exp(tanh({a.text}))", lambda z: np.exp(np.tanh(z))),
            "log1p²": (f"log(1 + {t} ⊙ {t})", lambda z: np.log(1 + z * z)),
            "sqrt1p²": (f"sqrt(1 + {t} ** 2)", lambda z: np.sqrt(1 + z**2)),
        }[name]
        return E(text, lambda v: f(a.fn(v)), a.names)
    if kind == "trace":
        d = draw(st.sampled_from(DIMS))
        a = draw(expr((d, d), sub))
        return E(f"tr({a.text})", lambda v: np.array([[np.trace(a.fn(v))]]), a.names)
    if kind == "sum":
        sh = (draw(st.sampled_from(DIMS)), draw(st.sampled_from(DIMS)))
        a = draw(expr(sh, sub))
        return E(f"sum({a.text})", lambda v: np.array([[np.sum(a.fn(v))]]), a.names)
    if kind == "sum0":
        d = draw(st.sampled_from([x for x in DIMS if x != "1"]))
        a = draw(expr((d, c), sub))
        return E(f"sum({a.text}, axis=0)", lambda v: np.sum(a.fn(v), axis=0, keepdims=True), a.names)
    if kind == "sum1":
        d = draw(st.sampled_from([x for x in DIMS if x != "1"]))
        a = draw(expr((r, d), sub))
        return E(f"sum({a.text}, axis=1)", lambda v: np.sum(a.fn(v), axis=1, keepdims=True), a.names)
    if kind == "softmax":
        a = draw(expr(shape, sub))
        text = f"softmax({a.text})" if c == "1" else f"softmax({a.text}, axis=0)"
        return E(text, lambda v: softmax(a.fn(v), 0), a.names)
    raise AssertionError(kind)


TARGETS = st.sampled_from([("1", "1")] * 4 + [("n", "1"), ("1", "m"), ("m", "n")])


@st.composite
def problems(draw):
    shape = draw(TARGETS)
    e = draw(expr(shape, draw(st.integers(1, 4)), top=True))
    assume(e.names)
    wrt = draw(st.sampled_from(sorted(e.names)))
    return e, wrt


CONSTRAINED = frozenset({"p", "o", "Y", "S", "T", "Q"})


@st.composite
def constrained_problems(draw):
    """A function of a constrained variable, differentiated by it."""
    shape = draw(TARGETS)
    e = draw(expr(shape, draw(st.integers(1, 4)), top=True))
    assume(e.names & CONSTRAINED)
    return e, draw(st.sampled_from(sorted(e.names & CONSTRAINED)))


@contextmanager
def time_limit(seconds: int):
    def boom(signum, frame):
        raise TimeoutError(f"took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


CI = settings(
    max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@CI
@given(st.one_of(problems(), constrained_problems()))
def test_random_expressions_differentiate_correctly(problem):
    e, wrt = problem
    cell = f"{DECLS}\nf = {e.text}\n∂f/∂{wrt}"
    with time_limit(60):
        r = mm.derive(cell)[0]
    decls = parse_decls(cell)
    rng = np.random.default_rng(len(cell))
    values, _ = draw_values(decls, rng)
    with np.errstate(all="ignore"):
        y = np.asarray(e.fn(values), dtype=float)
    assume(np.all(np.isfinite(y)) and np.max(np.abs(y), initial=0) < 1e6)
    fd_compare(r, e.fn, values, wrt, symmetric=bool(decls[wrt][1] & SYMMETRIC))
    if decls[wrt][1] & SYMMETRIC:
        assert_within_symmetric(r, values, wrt, rng)
    for layout in LAYOUTS:  # every view prints
        v = r.view(layout)
        assert v.text and v.latex


def assert_within_symmetric(r, values, wrt, rng):
    """By a symmetric matrix the derivative is taken within symmetric matrices:
    its vec matrix (a gradient's row vec(G)ᵀ, a Jacobian's K, a Hessian's H)
    vanishes on every antisymmetric direction, on both sides for a Hessian."""
    k = np.asarray(r.view("vec").evaluate(values), dtype=float)
    a = rng.standard_normal(values[wrt].shape)
    a = (a - a.T).reshape(-1, order="F")
    scale = max(1.0, float(np.max(np.abs(k))))
    assert np.max(np.abs(k @ a)) <= 1e-9 * scale * np.abs(a).sum()
    if r.kind == "hessian":
        assert np.max(np.abs(a @ k)) <= 1e-9 * scale * np.abs(a).sum()


@CI
@given(problems())
def test_random_expressions_pass_their_own_check(problem):
    e, wrt = problem
    r = mm.derive(f"{DECLS}\n∂({e.text})/∂{wrt}")[0]
    report = r.check(points=1)
    assume(report.points == 1)  # a point in the functions' domains was found
    assert report.ok, (e.text, wrt, report.layouts)


@CI
@given(problems())
def test_random_results_read_back_as_input(problem):
    """print → parse → the same value: every matrix-form view's text (with
    its where-parts) parsed with the cell's declarations equals the view."""
    from matcalc_magic.api import bind
    from matcalc_magic.evaluate import evaluate
    from matcalc_magic.verify.printed import parse_printed

    e, wrt = problem
    cell = f"{DECLS}\nf = {e.text}\n∂f/∂{wrt}"
    r = mm.derive(cell)[0]
    values, sizes = draw_values(parse_decls(cell), np.random.default_rng(len(cell)))
    env, sizes = bind(r.cell, {**values, **sizes})
    for layout in ("numerator", "denominator", "shape", "vec"):
        v = r.view(layout)
        if v.expr is None:
            continue
        with np.errstate(all="ignore"):
            want = v.evaluate_at(env, sizes)
            got = evaluate(parse_printed(v), env, sizes)
        assert got.shape == want.shape, v.text
        assert np.allclose(got, want, rtol=1e-9, atol=1e-12, equal_nan=True), v.text


@CI
@given(st.integers(1, 3).flatmap(lambda d: expr(("1", "1"), d, top=True)))
def test_random_hessians(e):
    # vectors (a probability vector among them) and the symmetric matrices
    candidates = sorted(n for n in e.names if n in ("x", "p", "y", "o", "u", "a", "b", "S", "T", "Q"))
    assume(candidates)
    wrt = candidates[0]
    cell = f"{DECLS}\nf = {e.text}\n∂²f/∂{wrt}²"
    r = mm.derive(cell)[0]
    decls = parse_decls(cell)
    rng = np.random.default_rng(len(cell))
    values, _ = draw_values(decls, rng)
    with np.errstate(all="ignore"):
        y = float(np.asarray(e.fn(values)).reshape(-1)[0])
    assume(np.isfinite(y) and abs(y) < 1e4)
    symmetric = bool(decls[wrt][1] & SYMMETRIC)
    fd_compare(r, e.fn, values, wrt, symmetric=symmetric)
    if symmetric:
        assert_within_symmetric(r, values, wrt, rng)


# ====================================================================== fuzzing
ALPHABET = "abcxyzWAXnmk0123456789 +-*/@^()[]{}|‖,;:=.'\n∂²ᵀ⊙⊘⊗∘σθŷ_#"
WORDS = [
    "x",
    "W",
    "A",
    "n",
    "m",
    " : ",
    " x ",
    "=",
    "∂",
    "/",
    "(",
    ")",
    "^T",
    "^{-1}",
    "tr(",
    "det(",
    "sum(",
    "softmax(",
    "relu'(",
    "np.",
    "axis=0",
    "‖",
    "||",
    "\n",
    ";",
    ",",
    "claim ",
    "hessian(",
    "[1:]",
    ", spd",
    "scalar",
    "ℝ^n",
    "∈",
    "@",
    "⊙",
    "1/m",
    "**2",
    "²",
    "ᵀ",
    "'",
    ".T",
    "d",
    "J",
]

VALID = [
    "x : n\nW : m x n\nb : m\nz = W x + b\nJ = sum(relu(z))\n∂J/∂W, ∂J/∂b",
    "x : n; A : n x n; ∂(x^T A x)/∂x",
    "X : n x n, spd; ∂(logdet(X))/∂X",
    "θ : n + 1; X : m x n; y : m\nJ = (1/(2 m)) ‖np.hstack([np.ones((m, 1)), X]) θ - y‖²\n∂J/∂θ",
    "Θ : k x m; Y : k x m, onehot\nJ = CE(Y, softmax(Θ, axis=0))\n∂J/∂Θ",
]


def _derive_all(text: str) -> None:
    """Derive and print every view: only a MatcalcError may come out."""
    with time_limit(30):
        try:
            res = mm.derive(text)
        except MatcalcError as err:
            assert err.message
            str(err)
            return
        for r in res:
            for layout in ("shape", "numerator"):
                r.view(layout).text


FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@FUZZ
@given(st.text(alphabet=ALPHABET, max_size=60))
def test_junk_derives_or_raises_matcalc_error(text):
    _derive_all(text)


@FUZZ
@given(st.lists(st.sampled_from(WORDS), max_size=25).map("".join))
def test_token_soup_derives_or_raises_matcalc_error(text):
    _derive_all(text)


@FUZZ
@given(st.sampled_from(VALID), st.data())
def test_near_miss_cells_derive_or_raise_matcalc_error(text, data):
    """Valid cells with a few characters deleted, inserted or replaced."""
    edits = data.draw(st.integers(1, 3))
    for _ in range(edits):
        i = data.draw(st.integers(0, len(text)))
        how = data.draw(st.sampled_from(["delete", "insert", "replace"]))
        ch = data.draw(st.sampled_from(ALPHABET))
        if how == "delete":
            text = text[:i] + text[i + 1 :]
        elif how == "insert":
            text = text[:i] + ch + text[i:]
        else:
            text = text[:i] + ch + text[i + 1 :]
    _derive_all(text)


@pytest.mark.parametrize("text", VALID)
def test_the_valid_cells_of_the_fuzzer_derive(text):
    res = mm.derive(text)
    assert len(res) >= 1
    for r in res:
        assert r.check(points=1).ok
