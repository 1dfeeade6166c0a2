"""User mistakes: exactly one MatcalcError, at the right span, with the shapes.

Each case gives the cell, the text the error's span must cover, its line and
column, a fragment of the message and, where shapes are involved, the shapes
the error reports.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import matcalc_magic as mm
from matcalc_magic.errors import MatcalcError


def error_of(text: str, layout: str = "shape") -> MatcalcError:
    with pytest.raises(MatcalcError) as info:
        mm.derive(text, layout)
    err = info.value
    # one error: no chained exception shown behind it
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)
    return err


def covered(err: MatcalcError) -> str:
    return err.source[err.span.start : err.span.end]


# (id, cell, span text, line, column, message fragment, shapes or None, hint fragment or None)
CASES = [
    # ---------------------------------------------------------------- shapes of products
    (
        "product",
        "x : m\nW : m x n\nz = W x",
        "W x",
        3,
        5,
        "W x: W is m×n, x is m×1: inner sizes n and m differ",
        {"W": "m×n", "x": "m×1"},
        "did you mean Wᵀ x?",
    ),
    (
        "product-@",
        "A : m x n\nB : m x n\nC = A @ B",
        "A @ B",
        3,
        5,
        "A @ B: A is m×n, B is m×n: inner sizes n and m differ",
        {"A": "m×n", "B": "m×n"},
        "Aᵀ B",
    ),
    ("product-column-by-column", "x : n\nJ = x x", "x x", 2, 5, "inner sizes 1 and n differ", {"x": "n×1"}, "x xᵀ"),
    (
        "product-in-a-sum",
        "x : n\nA : n x n\nB : m x m\nJ = x^T A x + x^T B x",
        "x^T B",
        4,
        15,
        "x^T B: x^T is 1×n, B is m×m: inner sizes n and m differ",
        {"x^T": "1×n", "B": "m×m"},
        None,
    ),
    (
        "product-call-syntax",
        "x : n\nW : m x n\nb : n\nz = W(x + b) + W(b)\nq = W(W)",
        "W(W)",
        5,
        5,
        "inner sizes n and m differ",
        None,
        None,
    ),
    # ---------------------------------------------------------------- broadcasting
    (
        "broadcast-add",
        "x : n\nW : m x n\nb : k\nz = W x + b",
        "W x + b",
        4,
        5,
        "cannot add W x (m×1) and b (k×1): the rows differ (m vs k)",
        {"W x": "m×1", "b": "k×1"},
        None,
    ),
    (
        "broadcast-hadamard",
        "a : n\nb : m\nc = a ⊙ b",
        "a ⊙ b",
        3,
        5,
        "the rows differ (n vs m)",
        {"a": "n×1", "b": "m×1"},
        None,
    ),
    (
        "broadcast-columns",
        "X : m x n\nr : 1 x k\nZ = X - r",
        "X - r",
        3,
        5,
        "the columns differ (n vs k)",
        {"X": "m×n", "r": "1×k"},
        None,
    ),
    ("broadcast-divide", "X : m x n\nY : n x m\nZ = X / Y", "X / Y", 3, 5, "cannot divide elementwise", None, None),
    (
        "cross-entropy",
        "y : k\np : m\nJ = CE(y, p)",
        "CE(y, p)",
        3,
        5,
        "CE(y, ŷ) needs equal shapes",
        {"y": "k×1", "p": "m×1"},
        None,
    ),
    (
        "hstack",
        "a : m x n\nb : p x q\nc = np.hstack([a, b])",
        "b",
        3,
        19,
        "hstack: the numbers of rows differ",
        {"a": "m×n", "b": "p×q"},
        None,
    ),
    # ---------------------------------------------------------------- names and functions
    ("unknown-name", "x : n\nW : m x n\nz = W xx", "xx", 3, 7, "unknown name 'xx'", None, "did you mean x?"),
    ("unknown-name-close", "W1 : m x n\nx : n\nz = W2 x", "W2", 3, 5, "unknown name 'W2'", None, "W1"),
    ("unknown-function", "x : n\nz = relux(x)", "relux", 2, 5, "unknown function 'relux'", None, "relu"),
    ("unknown-np-function", "x : n\nz = np.tanhh(x)", "np.tanhh", 2, 5, "unknown function", None, "tanh"),
    ("function-as-name", "x : n\nz = relu + x", "relu", 2, 5, "relu is a function", None, None),
    ("arity", "A : n x n\nB : n x n\nJ = tr(A, B)", "tr(A, B)", 3, 5, "tr takes 1 argument, got 2", None, None),
    ("axis", "x : n\nJ = sum(x, axis=2)", "2", 2, 17, "axis must be 0 or 1", None, None),
    (
        "softmax-needs-axis",
        "X : m x n\ns = softmax(X)",
        "softmax(X)",
        2,
        5,
        "needs axis=0 (columns), axis=1 (rows) or axis=None (all entries)",
        None,
        None,
    ),
    ("unsupported-norm", "X : m x n\nJ = ‖X‖_1", "‖X‖_1", 2, 5, "unsupported norm", None, None),
    # ---------------------------------------------------------------- square matrices only
    ("det", "X : m x n\nJ = det(X)", "det(X)", 2, 5, "det needs a square matrix; X is m×n", {"X": "m×n"}, None),
    ("logdet", "X : m x n\nJ = logdet(X)", "logdet(X)", 2, 5, "logdet needs a square matrix", {"X": "m×n"}, None),
    ("inv", "X : m x n\nY = inv(X)", "inv(X)", 2, 5, "inv needs a square matrix; X is m×n", {"X": "m×n"}, None),
    (
        "inverse-power",
        "X : m x n\nY = X^{-1}",
        "X^{-1}",
        2,
        5,
        "only a square matrix has an inverse; X is m×n",
        {"X": "m×n"},
        None,
    ),
    ("trace", "X : m x n\nJ = tr(X)", "tr(X)", 2, 5, "the trace needs a square matrix; X is m×n", {"X": "m×n"}, None),
    (
        "matrix-power",
        "A : m x n\nB = A^2",
        "A^2",
        2,
        5,
        "a matrix power needs a square matrix",
        {"A": "m×n"},
        "for an elementwise power use **",
    ),
    ("matrix-power-integer", "A : n x n\nB = A^0.5", "0.5", 2, 7, "needs an integer exponent", None, None),
    # d(Aᵏ) has |k| terms: a huge power must be refused at once, not hang
    ("matrix-power-huge", "A : n x n\nB = A^1000000", "A^1000000", 2, 5, "matrix powers go up to A^100", None, None),
    ("matrix-power-merged", "A : n x n\nB = A^60\nC = B^2", "B^2", 3, 5, "not 120", None, None),
    # ---------------------------------------------------------------- declarations
    (
        "bad-property",
        "x : n, symetric",
        "symetric",
        1,
        8,
        "unknown property 'symetric'",
        None,
        "did you mean symmetric?",
    ),
    ("unknown-property", "x : n, foo", "foo", 1, 8, "unknown property 'foo'", None, "known properties"),
    (
        "property-needs-square",
        "X : m x n, symmetric",
        "symmetric",
        1,
        12,
        "symmetric needs a square matrix",
        None,
        None,
    ),
    ("spd-needs-square", "X : m x n, spd", "spd", 1, 12, "spd needs a square matrix", None, None),
    ("size-zero", "x : 0", "0", 1, 5, "a size must be at least 1", None, None),
    ("size-zero-formula", "x : n - n", "n - n", 1, 5, "a size must be at least 1, but n - n is 0", None, None),
    ("duplicate-declaration", "x : n\nx : m", "x", 2, 1, "x is declared twice", None, None),
    ("duplicate-in-one-line", "x, x : n", "x", 1, 4, "x is declared twice", None, None),
    ("duplicate-definition", "x : n\nJ = sum(x)\nJ = 2 sum(x)", "J", 3, 1, "J is defined twice", None, None),
    ("define-a-variable", "x : n\nx = 2", "x", 2, 1, "x is a declared variable", None, None),
    ("size-as-variable", "x : n\nn : m", "n", 2, 1, "n is already used as a size", None, None),
    ("variable-as-size", "x : n\ny : x", "x", 2, 5, "x is a variable, not a size", None, None),
    # ---------------------------------------------------------------- requests
    ("wrt-undeclared", "x : n\nJ = x^T x\n∂J/∂y", "y", 3, 5, "cannot differentiate by y", None, None),
    ("wrt-a-size", "x : n\nJ = x^T x\n∂J/∂n", "n", 3, 5, "cannot differentiate by n", None, None),
    ("of-unknown", "x : n\n∂J/∂x", "J", 2, 2, "unknown name 'J'", None, None),
    ("hessian-of-a-vector", "x : n\n∂²x/∂x²", "x", 2, 3, "a Hessian needs a scalar function, but x is n×1", None, None),
    ("hessian-of-a-definition", "x : n\ny = exp(x)\n∂²y/∂x²", "y", 3, 3, "but y is n×1", None, None),
    (
        "derivative-in-an-expression",
        "x : n\nJ = sum(x)\nz = ∂J/∂x",
        "∂J/∂x",
        3,
        5,
        "a derivative can only be requested on its own line",
        None,
        None,
    ),
    ("wrt-an-alias", "x : n\ny = x\n∂y/∂y", "y", 3, 5, "y is defined as x; differentiate by that instead", None, None),
    # ---------------------------------------------------------------- syntax
    ("unclosed-paren", "x : n\nz = (x", "(", 2, 5, "unclosed '('", None, None),
]


@pytest.mark.parametrize("id, text, span, line, column, message, shapes, hint", CASES, ids=[c[0] for c in CASES])
def test_mistake_is_one_matcalc_error_at_its_span(id, text, span, line, column, message, shapes, hint):
    err = error_of(text)
    assert message in err.message
    assert covered(err) == span
    assert (err.line, err.column) == (line, column)
    assert err.end_column == column + len(span) if "\n" not in span else True
    if shapes is not None:
        assert err.shapes == shapes
    if hint is not None:
        assert err.hint and hint in err.hint
    # what the user sees: the summary, the line with carets under the span, the shapes, the hint
    shown = str(err)
    assert shown.startswith(f"line {line}, column {column}: ")
    source_line = text.splitlines()[line - 1]
    assert f"{line} | {source_line}\n" in shown
    carets = re.search(r"\n( *)(\^+)", shown)
    assert carets and len(carets.group(2)) == len(span)
    assert len(carets.group(1)) == len(f"{line} | ") + column - 1
    if shapes:
        assert "shapes: " + ", ".join(f"{k} is {v}" for k, v in shapes.items()) in shown
    if err.hint:
        assert shown.endswith("hint: " + err.hint)


def test_the_product_message_reads_like_the_textbook():
    err = error_of("x : m\nW : m x n\nz = W x")
    assert err.message == "W x: W is m×n, x is m×1: inner sizes n and m differ"


def test_wrt_suggests_a_differently_cased_name():
    err = error_of("x : n\nJ = x^T x\n∂J/∂X")
    assert err.hint and "x" in err.hint


def test_errors_render_in_ipython_and_html():
    err = error_of("x : m\nW : m x n\nz = W x")
    (line,) = err._render_traceback_()
    assert "MatcalcError" in line and "inner sizes n and m differ" in line
    html = err._repr_html_()
    assert html.startswith("<pre") and "W x: W is m×n" in html and "<script" not in html


def test_error_html_escapes_the_source():
    err = error_of("x : n\nz = <b>")
    assert "<b>" not in err._repr_html_()


def test_error_spans_in_a_cell_with_comments_and_semicolons():
    text = "# the CS224n network\nx : n   # input\nW : m x n; b : k\nz = W x + b   # wrong bias size"
    err = error_of(text)
    assert covered(err) == "W x + b" and err.line == 4 and err.column == 5


def test_the_first_mistake_is_reported():
    err = error_of("x : n\nz = W x\nq = relux(x)")
    assert err.message == "unknown name 'W'"


@pytest.mark.parametrize("layout", mm.LAYOUTS)
def test_errors_do_not_depend_on_the_layout(layout):
    assert error_of("x : m\nW : m x n\nz = W x", layout).message == error_of("x : m\nW : m x n\nz = W x").message


# a derivative that does exist but that the engine cannot express must still be an error the user can read
REFUSALS = [
    "A : m x n; B : p x q; C : m*p x n*q\n∂(sum((A ⊗ B) ⊙ C))/∂A",
]


@pytest.mark.parametrize("text", REFUSALS)
def test_refusals_are_matcalc_errors(text):
    try:
        mm.derive(text)
    except MatcalcError as err:
        assert err.line is not None and err.span is not None
        assert err.message


# inputs that have crashed or may crash an engine: each either derives or raises a MatcalcError
ODD = [
    "x : n\n∂(x ⊗ x)/∂x",
    "x : n\n∂(x^T x)/∂x, ∂(x^T x)/∂x",
    "x : 1\n∂(x^T x)/∂x",
    "X : 1 x 1\n∂(det(X))/∂X",
    "x : n\n∂(0 x)/∂x",
    "x : n\nJ = 0\n∂J/∂x",
    "x : n\n∂(sum(x) - sum(x))/∂x",
    "x : n\n∂²(sum(x))/∂x²",
    "X : n x n\n∂(X^0)/∂X",
    "X : n x n\n∂(X^{-2})/∂X",
    "θ : n + 1\n∂(θ[1:][1:])/∂θ",
    "θ : n + 2\n∂(θ[-1])/∂θ",
    "X : m x n\n∂(X[0, 0])/∂X",
    "x : n\n∂(relu'(x))/∂x",
    "x : n\n∂(‖x‖^3)/∂x",
    "x : n\n∂(‖x‖^{1/2})/∂x",
    "x : n; y : n\n∂(np.dot(x, y) x)/∂y",
    "c : scalar\n∂(c)/∂c",
    "c : scalar\n∂²(c)/∂c²",
    "A : m x n\n∂(vec(A)^T vec(A))/∂A",
    "x : n\n∂(diag(diag(x)))/∂x",
    "x : n\n∂(softmax(softmax(x)))/∂x",
    "x : n\n∂(np.linalg.norm(x, 2))/∂x",
    "X : m x n\n∂(np.linalg.norm(X, 2))/∂X",
    "x : n\n∂(np.concatenate([x, x]))/∂x",
    "x : n\n∂(np.vstack([x^T, x^T]))/∂x",
]


@pytest.mark.parametrize("text", ODD)
def test_odd_requests_derive_or_raise_matcalc_error(text):
    try:
        res = mm.derive(text)
    except MatcalcError:
        return
    for r in res:
        for layout in mm.LAYOUTS:
            v = r.view(layout)
            assert v.text and v.latex and v.shape is not None


def test_kron_of_a_vector_with_itself():
    """∂(x ⊗ x)/∂x = x ⊗ I + I ⊗ x."""
    r = mm.derive("x : n\n∂(x ⊗ x)/∂x")[0]
    x = np.array([0.5, -1.0, 2.0])
    n = len(x)
    want = np.kron(x[:, None], np.eye(n)) + np.kron(np.eye(n), x[:, None])
    np.testing.assert_allclose(r.view("numerator").evaluate({"x": x}), want, atol=1e-12)


def test_values_errors_are_matcalc_errors():
    r = mm.derive("x : n; A : m x n; ∂(A x)/∂x")[0]
    with pytest.raises(MatcalcError):
        r.view().evaluate({"x": np.ones(4), "A": np.ones((2, 3))})


def test_a_long_sum_derives():
    """a + b + c … is folded in a loop: its length costs no recursion depth."""
    r = mm.derive("x : n\ny = " + " + ".join(["x"] * 3000) + "\n∂sum(y)/∂x")[0]
    assert r.view().rhs_text == "3000 𝟏"


def test_nesting_beyond_the_recursion_limit_is_one_message():
    text = "x : n\ny = " + "tanh(" * 3000 + "x" + ")" * 3000 + "\n∂sum(y)/∂x"
    with pytest.raises(MatcalcError, match="nested too deeply") as err:
        mm.derive(text)
    assert err.value.line == 2

