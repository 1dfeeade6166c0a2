"""The two Stack Exchange questions the project grew from.

* Question 000: "∂(Wx)/∂x = W in the CS224n note but Aᵀ on Wikipedia?" — W is
  n×m, x has m entries; the answer: W is the numerator layout (the Jacobian),
  Wᵀ the denominator layout.
* Question 001: a network with row activations, x₂ = f(x₁W₁) (one input node,
  a hidden layer of 2, an output layer of 2); ∂E/∂W₁ must have W₁'s shape
  (2×2) even though ∂E/∂x₂ and f′(x₁W₁) are 1×2; ∂x₂/∂W₁ is a 3-index tensor.
  The worked answer (differentials and the trace trick) for y = W x,
  f(y) = yᵀy gives E′ = y xᵀ: the factor 2 of d(yᵀy) = 2yᵀdy was dropped;
  the gradient is 2 y xᵀ.
"""

from __future__ import annotations

import numpy as np

from conftest import sigmoid

from . import Entry

S = "Seed"


def E(id, cell, request, wrt, f, **kw):
    return Entry(S, id, cell, request, wrt, f, **kw)


Q0 = "W : n x m\nx : m\n∂(W x)/∂x"

Q1 = """x1 : 1 x 2
W1 : 2 x 2
t : 1 x 2
x2 = σ(x1 W1)
E = (1/2) ‖x2 - t‖²
∂E/∂W1, ∂E/∂x2, ∂x2/∂W1
"""

Q1_SYMBOLIC = """x1 : 1 x p
W1 : p x q
t : 1 x q
x2 = σ(x1 W1)
E = (1/2) ‖x2 - t‖²
∂E/∂W1
"""

ANSWER = """x : n
W : m x n
y = W x
J = y^T y
∂J/∂W, ∂J/∂x
"""


def _q1(v):
    return 0.5 * np.sum((sigmoid(v["x1"] @ v["W1"]) - v["t"]) ** 2)


ENTRIES = [
    # question 000: ∂(Wx)/∂x is W (numerator layout, the note) and Wᵀ (denominator layout, Wikipedia's A^T)
    E(
        "000-numerator",
        Q0,
        "∂(W x)/∂x",
        "x",
        lambda v: v["W"] @ v["x"],
        forms={"numerator": "W", "denominator": "Wᵀ", "shape": "W"},
        shapes={"numerator": ("n", "m"), "denominator": ("m", "n")},
    ),
    # question 001: ∂E/∂W₁ has W₁'s shape, 2×2: x₁ᵀ (∂E/∂x₂ ⊙ f′(x₁W₁))
    E(
        "001-gradient-shape",
        Q1,
        "∂E/∂W1",
        "W1",
        _q1,
        shapes={"shape": ("2", "2"), "denominator": ("2", "2")},
        forms={"shape": ("x1ᵀ ((x2 - t) ⊙ x2 ⊙ (1 - x2))", "x1ᵀ ((x2 - t) ⊙ σ′(x1 W1))")},
    ),
    E("001-symbolic", Q1_SYMBOLIC, "∂E/∂W1", "W1", _q1, shapes={"shape": ("p", "q"), "numerator": ("q", "p")}),
    # ... ∂E/∂x₂ is 1×2, like x₂
    E(
        "001-dE-dx2",
        Q1,
        "∂E/∂x2",
        "x2",
        lambda v: 0.5 * np.sum((v["x2"] - v["t"]) ** 2),
        forms={"shape": "x2 - t"},
        shapes={"shape": ("1", "2")},
        fixed=lambda values, sizes: {"x2": sigmoid(values["x1"] @ values["W1"])},
    ),
    # ... and ∂x₂/∂W₁ is a tensor: ∂(x₂)_i/∂(W₁)_jk = (x₁)_j σ′(x₁W₁)_i δ_ik
    E(
        "001-tensor",
        Q1,
        "∂x2/∂W1",
        "W1",
        lambda v: sigmoid(v["x1"] @ v["W1"]),
        kind="tensor",
        shapes={"index": ("2", "2", "2"), "vec": ("2", "4")},
    ),
    # the answer's example: y = W x, J = yᵀy: ∂J/∂W = 2 y xᵀ (the answer's y xᵀ dropped the 2)
    E(
        "001-answer-factor-2",
        ANSWER,
        "∂J/∂W",
        "W",
        lambda v: np.sum((v["W"] @ v["x"]) ** 2),
        forms={"shape": "2 y xᵀ", "numerator": "2 x yᵀ"},
        shapes={"shape": ("m", "n")},
    ),
    E("001-answer-dx", ANSWER, "∂J/∂x", "x", lambda v: np.sum((v["W"] @ v["x"]) ** 2), forms={"shape": "2 Wᵀ y"}),
]
