"""Kevin Clark, "Computing Neural Network Gradients" (CS224n notes,
https://web.stanford.edu/class/cs224n/readings/gradient-notes.pdf):
§2 vectorized gradients (the Jacobian, numerator layout), §3 useful identities
(1)–(7), §4 the shape convention, and the one-layer network of the final
section with its δ's.  Assignment 2 ("Understanding word2vec"): the skip-gram
gradients over a window of two outside words and with negative sampling.
"""

from __future__ import annotations

import numpy as np
from cells import CS224N, CS224N_REQUESTS
from conftest import ce, relu, sigmoid, softmax

from . import Entry

S = "CS224n"


def E(id, cell, request, wrt, f, **kw):
    return Entry(S, id, cell, request, wrt, f, **kw)


# the network of the notes' example (and of the README)
NET = CS224N.replace(CS224N_REQUESTS, CS224N_REQUESTS.rstrip("\n") + ", ∂J/∂θ, ∂J/∂z\n")

# the same, with the column error terms named: δ1 = ∂J/∂θ, δ2 = ∂J/∂z in the shape convention
NET_COLUMN_DELTAS = NET.replace("J = CE(y, ŷ)\n", "J = CE(y, ŷ)\nδ1 = ŷ - y\nδ2 = (U^T δ1) ⊙ relu'(z)\n")

# and as the notes write them, rows: δ1 = ∂J/∂θ = (ŷ − y)ᵀ, δ2 = ∂J/∂z = δ1 U ∘ relu′(z)ᵀ
NET_ROW_DELTAS = NET.replace("J = CE(y, ŷ)\n", "J = CE(y, ŷ)\nδ1 = (ŷ - y)^T\nδ2 = (δ1 U) ⊙ relu'(z)^T\n")


def _net(v, *, x=None, W=None, b1=None, U=None, b2=None, θ=None, z=None):
    x = v["x"] if x is None else x
    W = v["W"] if W is None else W
    if z is None:
        z = W @ x + (v["b1"] if b1 is None else b1)
    if θ is None:
        θ = (v["U"] if U is None else U) @ relu(z) + (v["b2"] if b2 is None else b2)
    return ce(v["y"], softmax(θ))


def _theta(values, sizes):
    return {"θ": values["U"] @ relu(values["W"] @ values["x"] + values["b1"]) + values["b2"]}


def _z(values, sizes):
    return {"z": values["W"] @ values["x"] + values["b1"]}


# assignment 2: skip-gram over a window of two outside words (one-hot y1, y2); the solution
# sums the per-word gradients, U (ŷ − y1) + U (ŷ − y2), which 𝟏ᵀy = 1 collects to U (2 ŷ − y1 − y2)
WORD2VEC_WINDOW = """v_c : d
U : d x V
y1, y2 : V, onehot
ŷ = softmax(U^T v_c)
J = CE(y1, ŷ) + CE(y2, ŷ)
∂J/∂v_c, ∂J/∂U
"""

# ... and negative sampling, the K negative outside vectors as the columns of U_neg
WORD2VEC_NEGATIVE = """v_c, u_o : d
U_neg : d x K
J = -log(σ(u_o^T v_c)) - sum(log(σ(-U_neg^T v_c)))
∂J/∂v_c, ∂J/∂u_o, ∂J/∂U_neg
"""


def _window(v):
    ŷ = softmax(v["U"].T @ v["v_c"])
    return ce(v["y1"], ŷ) + ce(v["y2"], ŷ)


def _negative(v):
    return -np.log(sigmoid(v["u_o"].T @ v["v_c"])) - np.sum(np.log(sigmoid(-v["U_neg"].T @ v["v_c"])))


DOUBLE_T = "with the notes' row δ2 named, the numerator layout prints (δ2ᵀ)ᵀ instead of δ2 (x (δ2ᵀ)ᵀ, (δ2ᵀ)ᵀ W)"

ENTRIES = [
    # §3 (1) matrix times column vector: z = W x, ∂z/∂x = W (the Jacobian; numerator layout)
    E(
        "1-Wx",
        "x : n\nW : m x n\nz = W x\n∂z/∂x",
        "∂z/∂x",
        "x",
        lambda v: v["W"] @ v["x"],
        forms={"shape": "W", "numerator": "W", "denominator": "Wᵀ"},
        shapes={"shape": ("m", "n")},
    ),
    # §3 (2) row vector times matrix: z = x W, ∂z/∂x = Wᵀ
    E(
        "2-xW",
        "x : 1 x n\nW : n x m\nz = x W\n∂z/∂x",
        "∂z/∂x",
        "x",
        lambda v: v["x"] @ v["W"],
        forms={"shape": "Wᵀ", "numerator": "Wᵀ"},
        shapes={"shape": ("m", "n")},
    ),
    # §3 (3) a vector with itself: z = x, ∂z/∂x = I
    E("3-identity", "x : n\n∂x/∂x", "∂x/∂x", "x", lambda v: v["x"], forms={"shape": "I"}),
    # §3 (4) an elementwise function: z = f(x), ∂z/∂x = diag(f′(x))
    E("4-relu", "x : n\nz = relu(x)\n∂z/∂x", "∂z/∂x", "x", lambda v: relu(v["x"]), forms={"shape": "diag(relu′(x))"}),
    E(
        "4-tanh",
        "x : n\nz = tanh(x)\n∂z/∂x",
        "∂z/∂x",
        "x",
        lambda v: np.tanh(v["x"]),
        forms={"shape": ("diag(1 - tanh(x)^∘2)", "diag(1 - z^∘2)")},
    ),
    E(
        "4-sigmoid",
        "x : n\nz = σ(x)\n∂z/∂x",
        "∂z/∂x",
        "x",
        lambda v: sigmoid(v["x"]),
        forms={"shape": ("diag(z ⊙ (1 - z))", "diag(σ(x) ⊙ (1 - σ(x)))", "diag(σ′(x))")},
    ),
    # §3 (5) matrix times column vector w.r.t. the matrix: ∂z_i/∂W_jk = δ_ij x_k, a 3-index tensor
    E(
        "5-tensor",
        "x : n\nW : m x n\nz = W x\n∂z/∂W",
        "∂z/∂W",
        "W",
        lambda v: v["W"] @ v["x"],
        kind="tensor",
        forms={"index": "δ[i,j] x[k]", "vec": "xᵀ ⊗ I"},
        shapes={"index": ("m", "m", "n"), "vec": ("m", "mn")},
    ),
    #        and with δ = ∂J/∂z (here J = uᵀz, so δ = uᵀ): ∂J/∂W = δᵀ xᵀ
    E(
        "5-delta",
        "x : n\nW : m x n\nu : m\nz = W x\nJ = u^T z\n∂J/∂W",
        "∂J/∂W",
        "W",
        lambda v: v["u"].T @ v["W"] @ v["x"],
        forms={"shape": "u xᵀ"},
        shapes={"shape": ("m", "n")},
    ),
    # §3 (6) row vector times matrix w.r.t. the matrix: z = x W, ∂J/∂W = xᵀ δ (δ = ∂J/∂z = uᵀ)
    E(
        "6-row-delta",
        "x : 1 x n\nW : n x m\nu : m\nz = x W\nJ = z u\n∂J/∂W",
        "∂J/∂W",
        "W",
        lambda v: v["x"] @ v["W"] @ v["u"],
        forms={"shape": "xᵀ uᵀ"},
        shapes={"shape": ("n", "m")},
    ),
    # §3 (7) cross-entropy w.r.t. the logits: ∂J/∂θ = ŷ − y ((ŷ − y)ᵀ as a Jacobian)
    E(
        "7-cross-entropy",
        "θ : k\ny : k, onehot\nŷ = softmax(θ)\nJ = CE(y, ŷ)\n∂J/∂θ",
        "∂J/∂θ",
        "θ",
        lambda v: ce(v["y"], softmax(v["θ"])),
        forms={"shape": "ŷ - y", "numerator": "(ŷ - y)ᵀ"},
        latex={"shape": "\\hat{y} - y"},
    ),
    # §4: the shape convention gives gradients the variable's shape, the Jacobian formulation its transpose
    E(
        "4-shape-convention",
        "x : n\nW : m x n\nb : m\nJ = sum(relu(W x + b))\n∂J/∂W",
        "∂J/∂W",
        "W",
        lambda v: np.sum(relu(v["W"] @ v["x"] + v["b"])),
        shapes={"shape": ("m", "n"), "numerator": ("n", "m")},
        forms={"shape": "relu′(W x + b) xᵀ", "numerator": "x relu′(W x + b)ᵀ"},
    ),
    # the example network: the five gradients in the shape convention
    E("net-U", NET, "∂J/∂U", "U", lambda v: _net(v), forms={"shape": "(ŷ - y) hᵀ"}, shapes={"shape": ("k", "m")}),
    E("net-b2", NET, "∂J/∂b2", "b2", lambda v: _net(v), forms={"shape": "ŷ - y"}, shapes={"shape": ("k", "1")}),
    E(
        "net-W",
        NET,
        "∂J/∂W",
        "W",
        lambda v: _net(v),
        forms={"shape": "((Uᵀ (ŷ - y)) ⊙ relu′(z)) xᵀ"},
        shapes={"shape": ("m", "n")},
    ),
    E("net-b1", NET, "∂J/∂b1", "b1", lambda v: _net(v), forms={"shape": "(Uᵀ (ŷ - y)) ⊙ relu′(z)"}),
    E(
        "net-x",
        NET,
        "∂J/∂x",
        "x",
        lambda v: _net(v),
        forms={"shape": "Wᵀ ((Uᵀ (ŷ - y)) ⊙ relu′(z))"},
        shapes={"shape": ("n", "1"), "numerator": ("1", "n")},
    ),
    # ... and the error terms themselves: δ1 = ∂J/∂θ = ŷ − y, δ2 = ∂J/∂z
    E(
        "net-delta1",
        NET,
        "∂J/∂θ",
        "θ",
        lambda v: _net(v, θ=v["θ"]),
        forms={"shape": "ŷ - y"},
        fixed=_theta,
    ),
    E(
        "net-delta2",
        NET,
        "∂J/∂z",
        "z",
        lambda v: _net(v, z=v["z"]),
        forms={"shape": "(Uᵀ (ŷ - y)) ⊙ relu′(z)"},
        fixed=_z,
    ),
    # with the (column) error terms named, the results read in terms of them
    E(
        "net-delta-U",
        NET_COLUMN_DELTAS,
        "∂J/∂U",
        "U",
        lambda v: _net(v),
        forms={"shape": "δ1 hᵀ", "numerator": "h δ1ᵀ"},
    ),
    E(
        "net-delta-b2",
        NET_COLUMN_DELTAS,
        "∂J/∂b2",
        "b2",
        lambda v: _net(v),
        forms={"shape": "δ1", "numerator": "δ1ᵀ"},
    ),
    E(
        "net-delta-W",
        NET_COLUMN_DELTAS,
        "∂J/∂W",
        "W",
        lambda v: _net(v),
        forms={"shape": "δ2 xᵀ", "numerator": "x δ2ᵀ"},
    ),
    E("net-delta-b1", NET_COLUMN_DELTAS, "∂J/∂b1", "b1", lambda v: _net(v), forms={"shape": "δ2", "numerator": "δ2ᵀ"}),
    E(
        "net-delta-x",
        NET_COLUMN_DELTAS,
        "∂J/∂x",
        "x",
        lambda v: _net(v),
        forms={"shape": "Wᵀ δ2", "numerator": "δ2ᵀ W"},
    ),
    # the notes' own forms, with row δ's: ∂J/∂U = δ1ᵀhᵀ, ∂J/∂b2 = δ1ᵀ, ∂J/∂W = δ2ᵀxᵀ, ∂J/∂b1 = δ2ᵀ, ∂J/∂x = (δ2W)ᵀ
    E(
        "notes-U",
        NET_ROW_DELTAS,
        "∂J/∂U",
        "U",
        lambda v: _net(v),
        forms={"shape": "δ1ᵀ hᵀ", "numerator": "h δ1"},
    ),
    E(
        "notes-b2",
        NET_ROW_DELTAS,
        "∂J/∂b2",
        "b2",
        lambda v: _net(v),
        forms={"shape": "δ1ᵀ", "numerator": "δ1"},
    ),
    E(
        "notes-W",
        NET_ROW_DELTAS,
        "∂J/∂W",
        "W",
        lambda v: _net(v),
        forms={"shape": "δ2ᵀ xᵀ", "numerator": "x δ2"},
    ),
    E(
        "notes-b1",
        NET_ROW_DELTAS,
        "∂J/∂b1",
        "b1",
        lambda v: _net(v),
        forms={"shape": "δ2ᵀ", "numerator": "δ2"},
    ),
    E(
        "notes-x",
        NET_ROW_DELTAS,
        "∂J/∂x",
        "x",
        lambda v: _net(v),
        forms={"shape": ("(δ2 W)ᵀ", "Wᵀ δ2ᵀ"), "numerator": "δ2 W"},
    ),
    # word2vec, a window of two words: the solution's U (ŷ − y1) + U (ŷ − y2) and v_c (ŷ − y1)ᵀ + v_c (ŷ − y2)ᵀ
    E(
        "w2v-window-vc",
        WORD2VEC_WINDOW,
        "∂J/∂v_c",
        "v_c",
        _window,
        forms={"shape": ("U (2 ŷ - y1 - y2)", "U (ŷ - y1) + U (ŷ - y2)"), "numerator": "(2 ŷ - y1 - y2)ᵀ Uᵀ"},
    ),
    E(
        "w2v-window-U",
        WORD2VEC_WINDOW,
        "∂J/∂U",
        "U",
        _window,
        forms={"shape": "v_c (2 ŷ - y1 - y2)ᵀ", "numerator": "(2 ŷ - y1 - y2) v_cᵀ"},
        shapes={"shape": ("d", "V")},
    ),
    # word2vec, negative sampling: the solution's −(1 − σ(u_oᵀv_c)) u_o + Σ_k (1 − σ(−u_kᵀv_c)) u_k, the sum
    # over k as U_neg times a vector, 1 − σ(−x) written σ(x); the u_o terms collected into one whose
    # coefficient reads as in ∂J/∂u_o, −σ(−u_oᵀ v_c)
    E(
        "w2v-negative-vc",
        WORD2VEC_NEGATIVE,
        "∂J/∂v_c",
        "v_c",
        _negative,
        forms={"shape": "U_neg σ(U_negᵀ v_c) - σ(-u_oᵀ v_c) u_o"},
    ),
    E(
        "w2v-negative-uo",
        WORD2VEC_NEGATIVE,
        "∂J/∂u_o",
        "u_o",
        _negative,
        forms={"shape": "-σ(-u_oᵀ v_c) v_c"},
    ),
    E(
        "w2v-negative-Uneg",
        WORD2VEC_NEGATIVE,
        "∂J/∂U_neg",
        "U_neg",
        _negative,
        forms={"shape": "v_c σ(U_negᵀ v_c)ᵀ"},
        shapes={"shape": ("d", "K")},
    ),
]
