"""The parser: cell text -> syntax tree (matcalc_magic.syntax)."""

from __future__ import annotations

import subprocess
import sys
import time
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcalc_magic.errors import MatcalcError, Span
from matcalc_magic.syntax import parse
from cells import CS224N_CLAIMED as CS224N
from matcalc_magic.syntax.tree import (
    Abs,
    BinOp,
    Call,
    Claim,
    Decl,
    Define,
    Deriv,
    DimBin,
    DimName,
    DimNum,
    Hessian,
    Index,
    Inverse,
    Juxt,
    Block,
    ListLit,
    Name,
    Neg,
    Norm,
    Number,
    Program,
    Requests,
    Slice,
    Transpose,
    TupleLit,
)

# Spans are excluded from node equality, so expected trees use a dummy span.
_ = Span(0, 0)


def N(id):
    return Name(_, id)


def Num(v):
    return Number(_, v)


def B(op, left, right):
    return BinOp(_, op, left, right)


def J(left, right):
    return Juxt(_, left, right)


def Tr(x):
    return Transpose(_, x)


def Inv(x, transpose=False):
    return Inverse(_, x, transpose)


def Ng(x):
    return Neg(_, x)


def C(func, *args, kwargs=(), primes=0):
    return Call(_, func, tuple(args), tuple(kwargs), primes)


def D(of, wrt, order=1):
    return Deriv(_, N(of) if isinstance(of, str) else of, N(wrt), order)


def Dn(name):
    return DimName(_, name)


def Dk(value):
    return DimNum(_, value)


def decl(names, dims, props=()):
    return Decl(_, tuple(N(n) for n in names), tuple(dims), tuple(N(p) for p in props))


def stmts(src):
    prog = parse(src)
    assert isinstance(prog, Program)
    assert prog.source == src
    return prog.statements


def stmt(src):
    (s,) = stmts(src)
    return s


def expr(src):
    """The value of ``z = <src>``."""
    s = stmt("z = " + src)
    assert isinstance(s, Define) and s.target == N("z")
    return s.value


def err(src) -> MatcalcError:
    with pytest.raises(MatcalcError) as info:
        parse(src)
    e = info.value
    assert type(e) is MatcalcError
    assert e.source == src
    # raised "from None": no lark exception chained or shown as context
    assert e.__cause__ is None and e.__suppress_context__
    assert e.span is not None
    return e


def text_of(src, node):
    return src[node.span.start : node.span.end]


# =========================================================================
# declarations
# =========================================================================
@pytest.mark.parametrize(
    "src, expected",
    [
        ("W : m x n", decl("W", [Dn("m"), Dn("n")])),
        ("W : m × n", decl("W", [Dn("m"), Dn("n")])),
        ("W:m x n", decl("W", [Dn("m"), Dn("n")])),
        ("x : n", decl("x", [Dn("n")])),
        ("r : 1 x n", decl("r", [Dk(1), Dn("n")])),
        ("W : 3 x 4", decl("W", [Dk(3), Dk(4)])),
        ("c : scalar", decl("c", [])),
        ("x, y : n", decl("xy", [Dn("n")])),
        ("X : (n+1) x m", decl("X", [DimBin(_, "+", Dn("n"), Dk(1)), Dn("m")])),
        ("θ : n + 1", decl("θ", [DimBin(_, "+", Dn("n"), Dk(1))])),
        ("v : 2*n - 1", decl("v", [DimBin(_, "-", DimBin(_, "*", Dk(2), Dn("n")), Dk(1))])),
        ("v : n - (k - 1)", decl("v", [DimBin(_, "-", Dn("n"), DimBin(_, "-", Dn("k"), Dk(1)))])),
        ("A : n x n, symmetric", decl("A", [Dn("n"), Dn("n")], ["symmetric"])),
        ("y : m, onehot", decl("y", [Dn("m")], ["onehot"])),
        ("S : n x n, SPD, Invertible", decl("S", [Dn("n"), Dn("n")], ["spd", "invertible"])),
        ("c : scalar, positive", decl("c", [], ["positive"])),
        # textbook form
        ("x ∈ ℝ^n", decl("x", [Dn("n")])),
        ("x ∈ ℝ^{n}", decl("x", [Dn("n")])),
        ("W ∈ ℝ^{m×n}", decl("W", [Dn("m"), Dn("n")])),
        ("W ∈ R^{m x n}", decl("W", [Dn("m"), Dn("n")])),
        ("W ∈ ℝ^{m \\times n}", decl("W", [Dn("m"), Dn("n")])),
        ("W \\in \\mathbb{R}^{m x n}", decl("W", [Dn("m"), Dn("n")])),
        ("c ∈ ℝ", decl("c", [])),
        ("x ∈ ℝ^{n+1}", decl("x", [DimBin(_, "+", Dn("n"), Dk(1))])),
        ("x ∈ ℝ^(n+1)", decl("x", [DimBin(_, "+", Dn("n"), Dk(1))])),
        ("A ∈ ℝ^{n×n}, symmetric", decl("A", [Dn("n"), Dn("n")], ["symmetric"])),
        ("x, y ∈ ℝ^n", decl("xy", [Dn("n")])),
        ("W ∈ ℝᵐˣⁿ", decl("W", [Dn("m"), Dn("n")])),
        ("x ∈ ℝⁿ", decl("x", [Dn("n")])),
        ("v ∈ ℝ³", decl("v", [Dk(3)])),
        # a size glued to its 'x'
        ("W : mxn", decl("W", [Dn("m"), Dn("n")])),
        ("W ∈ ℝ^{nxn}", decl("W", [Dn("n"), Dn("n")])),
    ],
)
def test_declarations(src, expected):
    assert stmt(src) == expected


def test_x_is_a_name_and_a_separator():
    # 'x' is declared (a name at the start) and separates sizes after one
    assert stmt("x : n") == decl("x", [Dn("n")])
    assert stmt("x : m x n") == decl("x", [Dn("m"), Dn("n")])
    assert stmt("x, W : n") == decl("xW", [Dn("n")])
    # and is an ordinary name in expressions
    assert expr("W x") == J(N("W"), N("x"))
    assert expr("x x") == J(N("x"), N("x"))
    assert stmt("A : n x n, x") == decl("A", [Dn("n"), Dn("n")], ["x"])


def test_declaration_spans():
    src = "W ∈ ℝ^{m×n}, Symmetric  # a comment"
    d = stmt(src)
    assert text_of(src, d) == "W ∈ ℝ^{m×n}, Symmetric"
    assert text_of(src, d.names[0]) == "W"
    assert [text_of(src, x) for x in d.dims] == ["m", "n"]
    assert text_of(src, d.props[0]) == "Symmetric"
    assert d.props[0].id == "symmetric"
    src = "X : (n+1) x m"
    d = stmt(src)
    assert text_of(src, d) == src
    assert text_of(src, d.dims[0]) == "n+1"


# =========================================================================
# definitions
# =========================================================================
def test_definitions():
    assert stmt("z = W x + b1") == Define(_, N("z"), B("+", J(N("W"), N("x")), N("b1")))
    assert stmt("z := W x + b1") == stmt("z = W x + b1")
    assert stmt("h = relu(z)") == Define(_, N("h"), C("relu", N("z")))


def test_names_starting_with_d_are_ordinary_outside_requests():
    assert stmt("dz = a - y") == Define(_, N("dz"), B("-", N("a"), N("y")))
    assert stmt("dW = dz x^T") == Define(_, N("dW"), J(N("dz"), Tr(N("x"))))
    assert stmt("J = dz / dx") == Define(_, N("J"), B("/", N("dz"), N("dx")))
    assert stmt("dx : n") == decl(["dx"], [Dn("n")])


def test_mixed_notation_is_kept_apart():
    assert expr("W @ x + b") == B("+", B("@", N("W"), N("x")), N("b"))
    assert expr("W x + b") == B("+", J(N("W"), N("x")), N("b"))
    assert expr("W @ x + b") != expr("W x + b")
    assert expr("a * b") == B("*", N("a"), N("b"))
    assert expr("a ⊙ b") == B("⊙", N("a"), N("b"))
    assert expr("a ∘ b") == B("⊙", N("a"), N("b"))


# =========================================================================
# requests and claims
# =========================================================================
@pytest.mark.parametrize(
    "src, items",
    [
        ("∂J/∂W", [D("J", "W")]),
        ("dJ/dW", [D("J", "W")]),
        ("dJ/dW, dJ/db", [D("J", "W"), D("J", "b")]),
        ("∂ J / ∂ W_1", [D("J", "W_1")]),
        ("∂J/∂W₁", [D("J", "W₁")]),
        ("∂ŷ/∂θ", [D("ŷ", "θ")]),
        ("\\partial J / \\partial W", [D("J", "W")]),
        ("ddz/ddW", [D("dz", "dW")]),
        ("∂(x^T A x)/∂x", [D(J(J(Tr(N("x")), N("A")), N("x")), "x")]),
        ("d(x^T A x)/dx", [D(J(J(Tr(N("x")), N("A")), N("x")), "x")]),
        ("∂σ(z)/∂z", [D(C("σ", N("z")), "z")]),
        ("∂²J/∂x²", [D("J", "x", 2)]),
        ("∂²J/∂x∂x^T", [D("J", "x", 2)]),
        ("∂²J/∂x∂xᵀ", [D("J", "x", 2)]),
        ("∂²J/∂x∂x^{T}", [D("J", "x", 2)]),
        ("∂²J/∂x∂x'", [D("J", "x", 2)]),
        ("∂²J/∂x∂x", [D("J", "x", 2)]),
        ("∂²(x^T A x)/∂x²", [D(J(J(Tr(N("x")), N("A")), N("x")), "x", 2)]),
        ("d²J/dx²", [D("J", "x", 2)]),
        ("hessian(J, x)", [Hessian(_, N("J"), N("x"))]),
        ("hessian(x^T A x, x)", [Hessian(_, J(J(Tr(N("x")), N("A")), N("x")), N("x"))]),
        ("hessian(J, x), ∂J/∂x, dJ/dA", [Hessian(_, N("J"), N("x")), D("J", "x"), D("J", "A")]),
        ("d J / d W", [D("J", "W")]),
        ("d (x^T x)/dx", [D(J(Tr(N("x")), N("x")), "x")]),
        ("dJ/dW, dJ/db,", [D("J", "W"), D("J", "b")]),
    ],
)
def test_requests(src, items):
    assert stmt(src) == Requests(_, tuple(items))


def test_request_spans():
    src = "dJ/dW, ∂ J / ∂ W_1, ∂²J/∂x∂xᵀ"
    r = stmt(src)
    assert text_of(src, r) == src
    a, b, c = r.items
    assert text_of(src, a) == "dJ/dW"
    # the names inside dJ/dW point at J and W, without the d
    assert text_of(src, a.of) == "J" and text_of(src, a.wrt) == "W"
    assert text_of(src, b) == "∂ J / ∂ W_1"
    assert text_of(src, b.wrt) == "W_1"
    assert text_of(src, c) == "∂²J/∂x∂xᵀ"


@pytest.mark.parametrize(
    "src, target, value",
    [
        ("claim ∂J/∂W = (ŷ - y) x^T", D("J", "W"), J(B("-", N("ŷ"), N("y")), Tr(N("x")))),
        ("claim dJ/db = δ", D("J", "b"), N("δ")),
        ("claim hessian(J, x) = A + A^T", Hessian(_, N("J"), N("x")), B("+", N("A"), Tr(N("A")))),
        ("claim ∂²J/∂x² = 2 A", D("J", "x", 2), J(Num(2), N("A"))),
        ("claim d(x^T x)/dx = 2 x", D(J(Tr(N("x")), N("x")), "x"), J(Num(2), N("x"))),
        ("claim ∂J/∂x := W^T δ", D("J", "x"), J(Tr(N("W")), N("δ"))),
        ("claim ∂J/∂x = (∂J/∂z) W", D("J", "x"), J(D("J", "z"), N("W"))),
        ("claim ∂J/∂x = ∂J/∂z W", D("J", "x"), J(D("J", "z"), N("W"))),
    ],
)
def test_claims(src, target, value):
    assert stmt(src) == Claim(_, target, value)


def test_claim_span():
    src = "claim ∂J/∂W = (ŷ - y) x^T"
    c = stmt(src)
    assert text_of(src, c) == src
    assert text_of(src, c.target) == "∂J/∂W"
    assert text_of(src, c.value) == "(ŷ - y) x^T"


def test_soft_keywords():
    # claim, scalar and hessian are keywords only where they are keywords
    assert stmt("claim = 3") == Define(_, N("claim"), Num(3))
    assert stmt("claim : n") == decl(["claim"], [Dn("n")])
    assert stmt("scalar = 2") == Define(_, N("scalar"), Num(2))
    assert expr("scalar x") == J(N("scalar"), N("x"))
    assert expr("hessian + h") == B("+", N("hessian"), N("h"))
    assert stmt("c : n") == decl("c", [Dn("n")])
    assert expr("c claim") == J(N("c"), N("claim"))
    assert expr("hessian(J, x) + 1") == B("+", Hessian(_, N("J"), N("x")), Num(1))


# =========================================================================
# expressions: precedence
# =========================================================================
@pytest.mark.parametrize(
    "src, expected",
    [
        ("a + b - c", B("-", B("+", N("a"), N("b")), N("c"))),
        ("a - b + c", B("+", B("-", N("a"), N("b")), N("c"))),
        ("a b c", J(J(N("a"), N("b")), N("c"))),
        ("a * b c", J(B("*", N("a"), N("b")), N("c"))),
        ("a b * c", B("*", J(N("a"), N("b")), N("c"))),
        ("a / b c", J(B("/", N("a"), N("b")), N("c"))),
        ("a @ b / c ⊘ d ⊗ e", B("⊗", B("⊘", B("/", B("@", N("a"), N("b")), N("c")), N("d")), N("e"))),
        ("a + b c", B("+", N("a"), J(N("b"), N("c")))),
        ("W x - b", B("-", J(N("W"), N("x")), N("b"))),
        ("a -b", B("-", N("a"), N("b"))),
        ("a +b", B("+", N("a"), N("b"))),
        ("a * -b", B("*", N("a"), Ng(N("b")))),
        ("a @ +b", B("@", N("a"), N("b"))),
        ("-a", Ng(N("a"))),
        ("+a", N("a")),
        ("--a", Ng(Ng(N("a")))),
        ("-a b", J(Ng(N("a")), N("b"))),
        ("-x**2", Ng(B("**", N("x"), Num(2)))),
        ("-x^T", Ng(Tr(N("x")))),
        ("-x^2", Ng(B("^", N("x"), Num(2)))),
        ("x**-1", B("**", N("x"), Ng(Num(1)))),
        ("2**3**2", B("**", Num(2), B("**", Num(3), Num(2)))),
        ("a^b^c", B("^", N("a"), B("^", N("b"), N("c")))),
        ("x^T A x", J(J(Tr(N("x")), N("A")), N("x"))),
        ("2 x", J(Num(2), N("x"))),
        ("2x", J(Num(2), N("x"))),
        ("(1/m) X^T (h - y)", J(J(B("/", Num(1), N("m")), Tr(N("X"))), B("-", N("h"), N("y")))),
        ("δ x^T", J(N("δ"), Tr(N("x")))),
        ("W (x + b)", J(N("W"), B("+", N("x"), N("b")))),
        ("log det(X)", J(N("log"), C("det", N("X")))),
        ("-(1/m) X", J(Ng(B("/", Num(1), N("m"))), N("X"))),
        ("A⁻¹ b", J(Inv(N("A")), N("b"))),
        ("x' A x", J(J(Tr(N("x")), N("A")), N("x"))),
        ("x' (y)", J(Tr(N("x")), N("y"))),
        ("a (b, c)", J(N("a"), TupleLit(_, (N("b"), N("c"))))),
        ("2 ‖x‖", J(Num(2), Norm(_, N("x")))),
        ("‖x‖ ‖y‖", J(Norm(_, N("x")), Norm(_, N("y")))),
        ("‖x‖‖y‖", J(Norm(_, N("x")), Norm(_, N("y")))),
        ("|a| |b|", J(Abs(_, N("a")), Abs(_, N("b")))),
        ("a |b|", J(N("a"), Abs(_, N("b")))),
    ],
)
def test_precedence(src, expected):
    assert expr(src) == expected


def test_unicode_minus():
    assert expr("a − b") == B("-", N("a"), N("b"))
    assert expr("−a") == Ng(N("a"))
    assert stmt("v : n − 1") == decl("v", [DimBin(_, "-", Dn("n"), Dk(1))])


def test_juxtaposed_operand_never_starts_with_a_sign():
    assert expr("W x - b") == B("-", J(N("W"), N("x")), N("b"))
    assert expr("W x + -b") == B("+", J(N("W"), N("x")), Ng(N("b")))


# =========================================================================
# powers, transposes, inverses
# =========================================================================
@pytest.mark.parametrize(
    "src",
    [
        "x^T", "x^⊤", "x^{T}", "x^\\top", "x^{\\top}", "x^{⊤}", "xᵀ", "x'", "x′", "x.T", "x ^ T",
        "x^⊺", "x^\\intercal", "x^\\mathsf{T}", "x^{\\mathsf{T}}",
    ],
)
def test_transposes(src):
    assert expr(src) == Tr(N("x"))


def test_transpose_of_expressions():
    assert expr("(W x)'") == Tr(J(N("W"), N("x")))
    assert expr("(W x).T") == Tr(J(N("W"), N("x")))
    assert expr("(W x)^T") == Tr(J(N("W"), N("x")))
    assert expr("x^TAx") == J(Tr(N("x")), N("Ax"))  # ^T takes just the T, as in TeX
    assert expr("x^T(A x)") == J(Tr(N("x")), J(N("A"), N("x")))
    assert expr("x^Tb") == J(Tr(N("x")), N("b"))
    assert expr("x^{Tk}") == B("^", N("x"), N("Tk"))
    assert expr("x^{ T }") == Tr(N("x"))
    assert expr("x''") == Tr(Tr(N("x")))
    assert expr("np.linalg.inv(A).T") == Tr(C("np.linalg.inv", N("A")))
    assert expr("X.T @ X") == B("@", Tr(N("X")), N("X"))


@pytest.mark.parametrize("src", ["A^{-1}", "A^-1", "A⁻¹", "A^(-1)", "A^{ -1 }", "A^{−1}"])
def test_inverses(src):
    assert expr(src) == Inv(N("A"))


@pytest.mark.parametrize("src", ["A^{-T}", "A^{-⊤}", "A⁻ᵀ", "A^-T", "A^{-\\top}"])
def test_inverse_transposes(src):
    assert expr(src) == Inv(N("A"), transpose=True)


@pytest.mark.parametrize(
    "src, expected",
    [
        ("A^2", B("^", N("A"), Num(2))),
        ("A^{k}", B("^", N("A"), N("k"))),
        ("A^(k+1)", B("^", N("A"), B("+", N("k"), Num(1)))),
        ("A^{k+1}", B("^", N("A"), B("+", N("k"), Num(1)))),
        ("A^-2", B("^", N("A"), Ng(Num(2)))),
        ("A^{-2}", B("^", N("A"), Ng(Num(2)))),
        ("x²", B("^", N("x"), Num(2))),
        ("x³", B("^", N("x"), Num(3))),
        ("x¹⁰", B("^", N("x"), Num(10))),
        ("A⁻²", B("^", N("A"), Ng(Num(2)))),
        ("x**2", B("**", N("x"), Num(2))),
        ("e^{-x}", B("^", N("e"), Ng(N("x")))),
        ("x²ᵀ", Tr(B("^", N("x"), Num(2)))),
    ],
)
def test_powers(src, expected):
    assert expr(src) == expected


# =========================================================================
# postfix: subscripts, calls, primes
# =========================================================================
@pytest.mark.parametrize(
    "src, expected",
    [
        ("θ[1:]", Index(_, N("θ"), (Slice(_, Num(1), None),))),
        ("Θ[:, 1:]", Index(_, N("Θ"), (Slice(_, None, None), Slice(_, Num(1), None)))),
        ("X[0:2, :]", Index(_, N("X"), (Slice(_, Num(0), Num(2)), Slice(_, None, None)))),
        ("x[0]", Index(_, N("x"), (Num(0),))),
        ("x[:n-1]", Index(_, N("x"), (Slice(_, None, B("-", N("n"), Num(1))),))),
        ("X[i, j]", Index(_, N("X"), (N("i"), N("j")))),
        ("(W x)[0]", Index(_, J(N("W"), N("x")), (Num(0),))),
        ("X[:, 0]^T", Tr(Index(_, N("X"), (Slice(_, None, None), Num(0))))),
    ],
)
def test_subscripts(src, expected):
    assert expr(src) == expected


@pytest.mark.parametrize(
    "src, expected",
    [
        ("relu(z)", C("relu", N("z"))),
        ("σ(z)", C("σ", N("z"))),
        ("f()", C("f")),
        ("f(a, b,)", C("f", N("a"), N("b"))),
        ("np.exp(x)", C("np.exp", N("x"))),
        ("np.linalg.inv(A)", C("np.linalg.inv", N("A"))),
        ("numpy.log(x)", C("numpy.log", N("x"))),
        ("math.exp(x)", C("math.exp", N("x"))),
        ("scipy.special.expit(x)", C("scipy.special.expit", N("x"))),
        ("np.sum(X, axis=0)", C("np.sum", N("X"), kwargs=[("axis", Num(0))])),
        (
            "sum(X, axis=1, keepdims=True)",
            C("sum", N("X"), kwargs=[("axis", Num(1)), ("keepdims", N("True"))]),
        ),
        ("np.ones((m, 1))", C("np.ones", TupleLit(_, (N("m"), Num(1))))),
        (
            "np.hstack([np.ones((m, 1)), X])",
            C("np.hstack", ListLit(_, (C("np.ones", TupleLit(_, (N("m"), Num(1)))), N("X")))),
        ),
        ("relu'(z)", C("relu", N("z"), primes=1)),
        ("σ'(z)", C("σ", N("z"), primes=1)),
        ("f''(x)", C("f", N("x"), primes=2)),
        ("W(x + b)", C("W", B("+", N("x"), N("b")))),
        ("f(x)(y)", J(C("f", N("x")), N("y"))),
        ("f(\n  x,\n  y\n)", C("f", N("x"), N("y"))),
    ],
)
def test_calls(src, expected):
    assert expr(src) == expected


def test_call_spans():
    src = "z = relu'(W x) + np.sum(X, axis=0)"
    call1 = stmt(src).value.left
    call2 = stmt(src).value.right
    assert text_of(src, call1) == "relu'(W x)"
    assert src[call1.func_span.start : call1.func_span.end] == "relu"
    assert text_of(src, call2) == "np.sum(X, axis=0)"
    assert src[call2.func_span.start : call2.func_span.end] == "np.sum"
    assert text_of(src, call2.kwargs[0][1]) == "0"


def test_a_bracket_after_a_space_is_a_block_not_a_subscript():
    """θ[1:] subscripts; (λ/m) [0; θ[1:]] multiplies by a block, as printed
    (the checker still reads x [0], all integers, as a subscript)."""
    assert expr("c [0; θ[1:]]") == J(
        N("c"), Block(_, ((Num(0),), (Index(_, N("θ"), (Slice(_, Num(1), None),)),)))
    )
    assert expr("c [a, b]") == J(N("c"), ListLit(_, (N("a"), N("b"))))
    assert expr("x [0]") == J(N("x"), ListLit(_, (Num(0),)))
    assert expr("[a, b; c, d]") == Block(_, ((N("a"), N("b")), (N("c"), N("d"))))


def test_literals():
    assert expr("(m, 1)") == TupleLit(_, (N("m"), Num(1)))
    assert expr("(m,)") == TupleLit(_, (N("m"),))
    assert expr("()") == TupleLit(_, ())
    assert expr("[a, b]") == ListLit(_, (N("a"), N("b")))
    assert expr("[]") == ListLit(_, ())
    assert expr("[[1, 2], [3, 4]]") == ListLit(
        _, (ListLit(_, (Num(1), Num(2))), ListLit(_, (Num(3), Num(4))))
    )
    assert expr("[a, b][0]") == Index(_, ListLit(_, (N("a"), N("b"))), (Num(0),))


# =========================================================================
# atoms: numbers, names, norms
# =========================================================================
@pytest.mark.parametrize(
    "src, value",
    [
        ("2", 2),
        ("0", 0),
        ("0.5", Fraction(1, 2)),
        (".5", Fraction(1, 2)),
        ("1e-3", Fraction(1, 1000)),
        ("2.5e2", Fraction(250)),
        ("1.", Fraction(1)),
    ],
)
def test_numbers(src, value):
    n = expr(src)
    assert n == Num(value)
    assert type(n.value) is type(value)


def test_decimal_numbers_are_exact():
    assert expr("0.1").value == Fraction("0.1")
    assert isinstance(expr("0.1").value, Fraction)
    assert isinstance(expr("10").value, int)


@pytest.mark.parametrize(
    "src, id",
    [
        ("θ", "θ"),
        ("Θ", "Θ"),
        ("λ", "λ"),
        ("ŷ", "ŷ"),
        ("y\u0302", "ŷ"),  # combining circumflex, normalised to NFC
        ("α_1", "α_1"),
        ("x_hat", "x_hat"),
        ("W₁", "W₁"),
        ("b_{1}", "b_1"),
        ("W_{12}", "W_12"),
        ("b1", "b1"),
        ("_tmp", "_tmp"),
        ("np.pi", "np.pi"),
        ("x\u0304", "x̄"),
    ],
)
def test_names(src, id):
    assert expr(src) == N(id)


def test_name_spans_are_on_the_original_text():
    src = "y\u0302 = b_{1} x"
    s = stmt(src)
    assert s.target.id == "ŷ"
    assert s.target.span == Span(0, 2)
    assert text_of(src, s.value.left) == "b_{1}"
    assert text_of(src, s.value.right) == "x"


@pytest.mark.parametrize(
    "src, expected",
    [
        ("‖x‖", Norm(_, N("x"))),
        ("||x||", Norm(_, N("x"))),
        ("\\|x\\|", Norm(_, N("x"))),
        ("‖X‖_F", Norm(_, N("X"), "F")),
        ("‖X‖_{F}", Norm(_, N("X"), "F")),
        ("‖X‖_fro", Norm(_, N("X"), "fro")),
        ("‖x‖_2", Norm(_, N("x"), "2")),
        ("‖x‖₂", Norm(_, N("x"), "2")),
        ("‖x‖_1", Norm(_, N("x"), "1")),
        ("‖x‖_∞", Norm(_, N("x"), "inf")),
        ("‖x‖²", Norm(_, N("x"), None, Num(2))),
        ("||x||^2", Norm(_, N("x"), None, Num(2))),
        ("‖X‖_F^2", Norm(_, N("X"), "F", Num(2))),
        ("‖x‖₂²", Norm(_, N("x"), "2", Num(2))),
        ("‖x‖_2^{2}", Norm(_, N("x"), "2", Num(2))),
        ("‖W x - y‖²", Norm(_, B("-", J(N("W"), N("x")), N("y")), None, Num(2))),
        ("‖θ[1:]‖²", Norm(_, Index(_, N("θ"), (Slice(_, Num(1), None),)), None, Num(2))),
        ("|x|", Abs(_, N("x"))),
        ("|x - y|", Abs(_, B("-", N("x"), N("y")))),
        ("|x|^2", B("^", Abs(_, N("x")), Num(2))),
        ("‖ |x| ‖", Norm(_, Abs(_, N("x")))),
        ("‖(a ‖b‖)‖", Norm(_, J(N("a"), Norm(_, N("b"))))),
        ("-‖x‖²", Ng(Norm(_, N("x"), None, Num(2)))),
        ("‖x‖ ** 3", Norm(_, N("x"), None, Num(3))),  # NumPy's power of a norm
        ("2 ||x|| ** 3", J(Num(2), Norm(_, N("x"), None, Num(3)))),
    ],
)
def test_norms(src, expected):
    assert expr(src) == expected


# =========================================================================
# cells
# =========================================================================


def test_cs224n_cell():
    prog = parse(CS224N)
    assert prog.source == CS224N
    assert prog.span == Span(0, len(CS224N))
    assert prog.statements == (
        decl("x", [Dn("n")]),
        decl("W", [Dn("m"), Dn("n")]),
        decl(["b1"], [Dn("m")]),
        decl("U", [Dn("k"), Dn("m")]),
        decl(["b2"], [Dn("k")]),
        decl("y", [Dn("k")], ["onehot"]),
        Define(_, N("z"), B("+", J(N("W"), N("x")), N("b1"))),
        Define(_, N("h"), C("relu", N("z"))),
        Define(_, N("θ"), B("+", J(N("U"), N("h")), N("b2"))),
        Define(_, N("ŷ"), C("softmax", N("θ"))),
        Define(_, N("J"), C("CE", N("y"), N("ŷ"))),
        Requests(_, (D("J", "U"), D("J", "b2"), D("J", "W"), D("J", "b1"), D("J", "x"))),
        Claim(_, D("J", "θ"), B("-", N("ŷ"), N("y"))),
    )
    # a few spans
    lines = CS224N.splitlines()
    z = prog.statements[6]
    assert text_of(CS224N, z) == lines[6] == "z = W x + b1"
    assert text_of(CS224N, z.value.left) == "W x"
    req = prog.statements[11]
    assert text_of(CS224N, req) == lines[11]
    assert text_of(CS224N, req.items[2]) == "∂J/∂W"
    assert text_of(CS224N, req.items[2].wrt) == "W"
    claim = prog.statements[12]
    assert text_of(CS224N, claim) == lines[12]


NG_LOGISTIC = """\
# logistic regression, Andrew Ng's notation
X : m x n
Y : m x 1
W : n x 1
b : scalar
Z = X W + b
A = σ(Z)
J = -(1/m) np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A))
dJ/dW, dJ/db
"""


def test_ng_cell():
    s = stmts(NG_LOGISTIC)
    assert len(s) == 8
    assert s[3] == decl("b", [])
    assert s[4] == Define(_, N("Z"), B("+", J(N("X"), N("W")), N("b")))
    assert s[5] == Define(_, N("A"), C("σ", N("Z")))
    log_a = C("np.log", N("A"))
    log_1a = C("np.log", B("-", Num(1), N("A")))
    assert s[6] == Define(
        _,
        N("J"),
        J(
            Ng(B("/", Num(1), N("m"))),
            C("np.sum", B("+", B("*", N("Y"), log_a), B("*", B("-", Num(1), N("Y")), log_1a))),
        ),
    )
    assert s[7] == Requests(_, (D("J", "W"), D("J", "b")))


def test_ng_style_lines():
    assert stmt("Z = W X + b") == Define(_, N("Z"), B("+", J(N("W"), N("X")), N("b")))
    assert stmt("X1 = np.hstack([np.ones((m, 1)), X])") == Define(
        _,
        N("X1"),
        C("np.hstack", ListLit(_, (C("np.ones", TupleLit(_, (N("m"), Num(1)))), N("X")))),
    )
    src = "reg = (λ/(2 m)) ‖θ[1:]‖²"
    s = stmt(src)
    assert s == Define(
        _,
        N("reg"),
        J(
            B("/", N("λ"), J(Num(2), N("m"))),
            Norm(_, Index(_, N("θ"), (Slice(_, Num(1), None),)), None, Num(2)),
        ),
    )
    assert text_of(src, s.value) == "(λ/(2 m)) ‖θ[1:]‖²"
    assert text_of(src, s.value.left) == "λ/(2 m)"
    assert text_of(src, s.value.right) == "‖θ[1:]‖²"
    assert text_of(src, s.value.right.operand) == "θ[1:]"
    assert stmt("grad = (1/m) X^T (h - y)") == Define(
        _, N("grad"), J(J(B("/", Num(1), N("m")), Tr(N("X"))), B("-", N("h"), N("y")))
    )


def test_one_line_magic_form():
    assert stmts("x : n; A : n x n; ∂(x^T A x)/∂x") == (
        decl("x", [Dn("n")]),
        decl("A", [Dn("n"), Dn("n")]),
        Requests(_, (D(J(J(Tr(N("x")), N("A")), N("x")), "x"),)),
    )


def test_layout():
    assert stmts("") == ()
    assert stmts("\n\n  \n") == ()
    assert stmts("# only a comment\n   # and another") == ()
    assert stmts(";;") == ()
    assert stmts("x : n;") == (decl("x", [Dn("n")]),)
    assert stmts("x : n  # size\n\n\ny : n # more\n") == (decl("x", [Dn("n")]), decl("y", [Dn("n")]))
    assert stmts("x : n\r\ny : n\r\n") == (decl("x", [Dn("n")]), decl("y", [Dn("n")]))
    assert stmts("\tx : n\n   y : n") == (decl("x", [Dn("n")]), decl("y", [Dn("n")]))
    # newlines inside brackets continue the line
    assert stmts("X1 = np.hstack([\n    np.ones((m, 1)),  # bias\n    X,\n])\nx : n") == (
        Define(
            _,
            N("X1"),
            C("np.hstack", ListLit(_, (C("np.ones", TupleLit(_, (N("m"), Num(1)))), N("X")))),
        ),
        decl("x", [Dn("n")]),
    )
    assert expr("(a +\n b)") == B("+", N("a"), N("b"))
    assert expr("a + \\\n b") == B("+", N("a"), N("b"))


def test_statement_spans():
    src = "x : n\n  z = (a + b)   # c\ndJ/dz ; claim dJ/dz = 1"
    a, b, c, d = stmts(src)
    assert text_of(src, a) == "x : n"
    assert text_of(src, b) == "z = (a + b)"
    assert text_of(src, b.value) == "a + b"
    assert text_of(src, c) == "dJ/dz"
    assert text_of(src, d) == "claim dJ/dz = 1"


def test_expression_spans():
    src = "z = -(1/m) X^T (h - y) + A⁻¹ b ⊙ x[0:2] - ‖x‖₂²"
    v = stmt(src).value
    assert text_of(src, v) == src[4:]
    minus_norm = v.right
    assert text_of(src, minus_norm) == "‖x‖₂²"
    plus = v.left
    assert text_of(src, plus.left) == "-(1/m) X^T (h - y)"
    assert text_of(src, plus.left.left.left) == "-(1/m)"
    assert text_of(src, plus.left.left.right) == "X^T"
    assert text_of(src, plus.right) == "A⁻¹ b ⊙ x[0:2]"
    assert text_of(src, plus.right.right) == "x[0:2]"
    assert text_of(src, plus.right.right.subscripts[0]) == "0:2"
    src = "z = Θ[:, 1:] + hessian(x^T A x, x)"
    index, hess = stmt(src).value.left, stmt(src).value.right
    assert [text_of(src, s) for s in index.subscripts] == [":", "1:"]
    assert text_of(src, hess) == "hessian(x^T A x, x)"
    assert text_of(src, hess.of) == "x^T A x"


# =========================================================================
# errors
# =========================================================================
@pytest.mark.parametrize(
    "src, line, column, message",
    [
        ("z = W x )", 1, 9, "unexpected ')'"),
        ("z = W x +", 1, 10, "expected an expression after '+'"),
        ("z = W x +   # why", 1, 10, "expected an expression after '+'"),
        ("z = (W x + )", 1, 12, "expected an expression after '+'"),
        ("z = a + * b", 1, 9, "expected an expression after '+'"),
        ("z =", 1, 4, "expected an expression after '='"),
        ("x : n\nz = W x +\ny = 2", 2, 10, "expected an expression after '+'"),
        ("z = f(x", 1, 6, "unclosed '(' opened here"),
        ("z = f(x\ny = 2", 1, 6, "unclosed '(' opened here"),
        ("z = [a, b", 1, 5, "unclosed '[' opened here"),
        ("z = ‖x", 1, 5, "unclosed '‖' opened here"),
        ("z = (‖x)", 1, 6, "unclosed '‖' opened here"),
        ("z = (a]", 1, 7, "']' does not match '(' opened at line 1, column 5"),
        ("z = a × b", 1, 7, "unexpected '×'"),
        ("z = a $ b", 1, 7, "unexpected character '$'"),
        ('z = "a b"', 1, 5, "unexpected character '\"'"),  # a quoted word is an argument ('fro'), not a sentence
        ("W : m x", 1, 8, "expected a size after 'x'"),
        ("W : m x n x p", 1, 11, "unexpected 'x'"),
        ("x :", 1, 4, "expected a size after ':'"),
        ("W : 2.5 x n", 1, 5, "a size must be a whole number"),
        ("x^T A x", 1, 2, "unexpected '^'"),
        ("+ x", 1, 1, "unexpected '+'"),
        ("relu(z)", 1, 1, "'relu(...)' on its own line is not a request"),
        ("J/W", 1, 1, "'J/W' is not a request"),
        ("dJ/W", 1, 1, "'dJ/W' is not a request"),
        ("hessian(J)", 1, 1, "hessian takes two arguments"),
        ("hessian(J, x + y)", 1, 12, "must be a variable"),
        ("claim ∂J/∂W", 1, 12, "a claim needs a value"),
        ("∂J/∂", 1, 5, "expected a name after '∂'"),
        ("∂²J/∂x∂y", 1, 8, "mixed second derivatives are not supported"),
        ("∂³J/∂x³", 1, 2, "only first and second derivatives"),
        ("z = f(x, axis=1, 2)", 1, 18, "a positional argument cannot follow a keyword argument"),
        ("x.y = 1", 1, 2, "unexpected character '.'"),
        ("z = ‖x‖^T", 1, 9, "a norm is a number and cannot be transposed"),
        ("x : n\ny : m\n\nz = a b )\n", 4, 9, "unexpected ')'"),
        ("z = a ; ; )", 1, 11, "unexpected ')'"),
        ("z = (a\n", 1, 5, "unclosed '(' opened here"),
        ("z = a\x00", 1, 6, "unexpected character U+0000"),
        ("z = ‖x + ‖", 1, 10, "expected an expression after '+'"),
        ("z = |a - |", 1, 10, "expected an expression after '-'"),
        ("z = ‖ ‖", 1, 7, "expected an expression after '‖'"),
        ("z = ‖x + ‖y", 1, 10, "unclosed '‖' opened here"),
    ],
)
def test_syntax_errors(src, line, column, message):
    e = err(src)
    assert message in e.message
    assert (e.line, e.column) == (line, column), str(e)
    # messages speak the user's words, never lark's
    for word in ("$END", "_NL", "RPAR", "LPAR", "Token", "__ANON", "NAME", "CALLEE"):
        assert word not in e.message
        assert word not in (e.hint or "")


def test_error_rendering():
    e = err("x : n\nz = W x )")
    text = str(e)
    assert text.startswith("line 2, column 9: unexpected ')'")
    assert "2 | z = W x )" in text
    assert text.splitlines()[2].endswith("^")
    assert e.span == Span(14, 15)


@pytest.mark.parametrize("src", ["x^T A x", "W x + b", "z W = 3", "a b c", "claim ∂J/∂x^T = 1"])
def test_statement_hint(src):
    e = err(src)
    assert "declaration" in e.hint and "request" in e.hint


def test_expected_hint_inside_brackets():
    e = err("z = X[0 : 1 :]")
    assert e.message == "unexpected ':'"
    assert e.hint == "expected ',', '-', '+' or ']'"
    # a ';' inside brackets ends the statement: the bracket is unclosed
    assert err("z = f(a; b)").message == "unclosed '(' opened here"


def test_times_hint():
    assert "sizes" in err("z = a × b").hint


def test_unclosed_bracket_on_a_later_line_mentions_the_continuation():
    e = err("z = f(x\ny = 2")
    assert e.span == Span(5, 6)
    assert "line 2" in e.hint


# =========================================================================
# robustness and speed
# =========================================================================
LANGUAGE_CHARS = (
    list("abcdxyzWXAJθŷσλ_0123456789 \t\n;,:=+-*/@^'.()[]{}|#\\")
    + ["∂", "²", "³", "ᵀ", "⁻¹", "⁻ᵀ", "‖", "||", "⊙", "∘", "⊘", "⊗", "∈", "ℝ", "×", "₁"]
    + ["x", " x ", "claim ", "scalar", "hessian(", "np.", ".T", "**", ":=", "\\top", "_{", "ℝ^{"]
    + ["dJ/dW", "∂J/∂W", "relu'(", "\u0302", "\r\n", "\x00", "€", "\f", "\u00a0", "\u2028", "−"]
    + ["𝟏", "1_", "^∘", " [", "(axis=", ", onehot rows", ": (n,)"]
)


def _check_parse_total(text):
    parse("")  # the parser is built on first use; time only the parse itself
    try:
        result = parse(text)
    except MatcalcError as e:
        assert e.span is not None
        assert 0 <= e.span.start <= e.span.end <= len(text)
        assert isinstance(e.message, str) and e.message
        assert "internal error" not in e.message
        str(e)  # renders
    else:
        assert isinstance(result, Program)
    # never hangs: a generous bound, since speed itself is measured in bench/
    assert min(_time_parse(text) for _ in range(2)) < 2.0


def _time_parse(text):
    start = time.perf_counter()
    try:
        parse(text)
    except MatcalcError:
        pass
    return time.perf_counter() - start


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(LANGUAGE_CHARS), max_size=60).map("".join))
def test_fuzz_only_program_or_matcalc_error(text):
    _check_parse_total(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_fuzz_arbitrary_text(text):
    _check_parse_total(text)


# Random well-formed expressions: they must all parse.
_atoms = st.sampled_from(
    ["x", "W", "θ", "ŷ", "b_1", "2", "0.5", "relu(z)", "np.sum(X, axis=0)", "‖x‖²", "|x|", "(a + b)", "(∂J/∂z)"]
)


def _grow(children):
    return st.one_of(
        st.tuples(children, st.sampled_from([" + ", " - ", " @ ", " * ", " / ", " ⊙ ", " ", " "]), children).map(
            "".join
        ),
        children.map(lambda e: f"({e})"),
        children.map(lambda e: f"-({e})"),
        children.map(lambda e: f"({e})^T"),
        children.map(lambda e: f"({e})'"),
        children.map(lambda e: f"({e})⁻¹"),
        children.map(lambda e: f"f({e})"),
        children.map(lambda e: f"‖({e})‖_F"),
        st.tuples(children, children).map(lambda p: f"g({p[0]}, k={p[1]})"),
    )


_expressions = st.recursive(_atoms, _grow, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(_expressions)
def test_random_well_formed_expressions_parse(e):
    prog = parse(f"z = {e}\nclaim ∂J/∂x = {e}")
    assert len(prog.statements) == 2


def test_deep_nesting_is_an_error_or_a_tree_not_a_crash():
    _check_parse_total("z = " + "(" * 300 + "x" + ")" * 300)
    _check_parse_total("z = " + " + ".join(["x"] * 2000))
    _check_parse_total("z = " + "(" * 5000)


def test_warm_parse_is_fast():
    parse(CS224N)
    best = min(_time_parse(CS224N) for _ in range(30))
    assert best < 0.005, f"warm parse took {best * 1000:.2f} ms"


def test_grammar_has_no_lalr_conflicts():
    # lark resolves shift/reduce conflicts silently (as shift) unless asked
    # to report them; the grammar is meant to have none.
    import logging

    import lark
    from lark import Lark

    parse_module = sys.modules["matcalc_magic.syntax.parse"]
    messages = []

    class Collect(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())

    handler, level = Collect(), lark.logger.level
    lark.logger.addHandler(handler)
    lark.logger.setLevel(logging.DEBUG)
    try:
        Lark.open(
            "grammar.lark",
            rel_to=parse_module.__file__,
            parser="lalr",
            maybe_placeholders=True,
            postlex=parse_module._PostLex(),
            debug=True,
        )
    finally:
        lark.logger.removeHandler(handler)
        lark.logger.setLevel(level)
    assert not [m for m in messages if "conflict" in m.lower()]


def test_import_does_not_load_lark():
    code = "import sys, matcalc_magic.syntax; assert 'lark' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_bug_in_the_parser_still_surfaces_as_matcalc_error(monkeypatch):
    parse_module = sys.modules["matcalc_magic.syntax.parse"]

    def broken(*args):
        raise KeyError("oops")

    monkeypatch.setattr(parse_module, "_syntax_error", broken)
    with pytest.raises(MatcalcError) as info:
        parse("z = )")
    assert "internal error" in info.value.message
    assert "bug" in info.value.hint


def test_parse_rejects_non_text():
    with pytest.raises(TypeError):
        parse(b"x : n")  # type: ignore[arg-type]


def test_threads_do_not_mix_up_errors():
    import threading

    results = {}

    def work(i):
        try:
            parse(f"z = a + \nz{i} = (")
        except MatcalcError as e:
            results[i] = (e.line, e.column)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: (1, 8) for i in range(8)}
