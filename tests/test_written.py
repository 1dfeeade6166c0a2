"""Claims typeset as written (matcalc_magic/render/written.py).

A claim's LaTeX comes from its syntax tree: the user's names, transposes,
functions and numbers, with brackets where precedence needs them, never the
expression its names stand for.  NumPy's ``*``, ``/`` and ``**`` are a
multiple, a fraction and a power beside a scalar, and elementwise otherwise.
"""

from __future__ import annotations

import pytest

import matcalc_magic as mm
from matcalc_magic.claims import check_claims

DECLARATIONS = """\
x, a, b, c : n
A, B, C : n x n
W : m x n
h : m
s : scalar
X1 = np.hstack([np.ones((n, 1)), A])
δ1 = x^T
δ2 = h^T
dZ2 = W
G = W
"""

CASES = [
    ("∂(δ1 W^T)/∂W", "δ1^T h^T", "\\delta_{1}^{\\top} h^{\\top}"),
    ("∂(x^T A x)/∂x", "(δ2 W)^T", "\\left(\\delta_{2} W\\right)^{\\top}"),
    ("∂(x^T A x)/∂A", "(1/n) * np.dot(dZ2.T, W)", "\\frac{1}{n} \\operatorname{dot}\\left(dZ_{2}^{\\top}, W\\right)"),
    ("∂(sum(X1))/∂A", "X1.T[1:, :]", "{X_{1}^{\\top}}\\left[1{:}, {:}\\right]"),
    ("∂(a ⊙ x)/∂x", "a * b", "a \\odot b"),
    ("∂(2 x)/∂x", "2 * A", "2 A"),
    ("∂(2 x)/∂x", "A * 2", "A \\cdot 2"),
    ("∂(x / s)/∂x", "A / s", "\\frac{A}{s}"),
    ("∂(x ⊘ a)/∂x", "a / b", "a \\oslash b"),
    ("∂(x^T A^2 x)/∂x", "A ** 2 + A^2", "A^{\\circ 2} + A^{2}"),
    ("∂(x^T A x)/∂x", "np.linalg.inv(A) x + A^{-T} x", "A^{-1} x + A^{-\\top} x"),
    ("∂(x^T x)/∂x", "1e-5 * x + 0.5 x", "10^{-5} x + 0.5 x"),
    ("∂(x^T x)/∂x", "a - (b + c) - -x", "a - \\left(b + c\\right) - -x"),
    ("∂(x^T A x)/∂A", "A (B ⊙ C) + (A B) ⊙ C", "A \\left(B \\odot C\\right) + \\left(A B\\right) \\odot C"),
    ("∂(sum(σ(x)))/∂x", "σ'(x) + relu'(x) + np.sqrt(x)",
     "\\sigma'\\left(x\\right) + \\operatorname{relu}'\\left(x\\right) + \\sqrt{x}"),
    ("∂(sum(W))/∂W", "np.sum(G, axis=1, keepdims=True) * ‖x - a‖ / |s|",
     "\\frac{\\operatorname{sum}\\left(G, \\text{axis}=1, \\text{keepdims}=\\mathrm{True}\\right) "
     "\\cdot \\left\\| x - a \\right\\|}{\\left| s \\right|}"),
]


@pytest.mark.parametrize("request_text, written, latex", CASES, ids=[c[1] for c in CASES])
def test_claim_typeset_as_written(request_text, written, latex):
    d = mm.derive(DECLARATIONS + f"{request_text}\nclaim {request_text} = {written}\n")
    (verdict,) = check_claims(d, points=1)
    lhs, rhs = verdict.claim_latex.split(" = ", 1)
    assert rhs == latex
    assert lhs.startswith("\\frac{\\partial")


def test_the_derived_form_is_shown_beside_a_claim_written_otherwise():
    cell = "x : n\nA : n x n\nJ = x^T A x\n∂J/∂x\nclaim ∂J/∂x = A x + A^T x\nclaim ∂J/∂x = (A + A^T) x\n"
    d = mm.derive(cell)
    otherwise, alike = check_claims(d)
    assert otherwise.ok and alike.ok  # both hold …
    assert otherwise.derived_differs and not alike.derived_differs  # … only one is printed otherwise
    assert otherwise.expected_text == "∂J/∂x = (A + Aᵀ) x"
