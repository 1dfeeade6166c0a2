"""Andrew Ng's courses.

Deep Learning Specialization (Coursera), course 1 "Neural Networks and Deep
Learning": week 2 logistic regression (one example: dz = a − y, dw = x dz,
db = dz; vectorised with the examples as columns, X : n x m: dZ = A − Y,
dw = (1/m) X dZᵀ, db = (1/m) Σ dZ) and week 3 the two-layer network with a
tanh hidden layer and a sigmoid output (dZ2 = A2 − Y, dW2 = (1/m) dZ2 A1ᵀ,
db2 = (1/m) Σ dZ2, dZ1 = W2ᵀ dZ2 ∗ (1 − A1²), dW1 = (1/m) dZ1 Xᵀ,
db1 = (1/m) Σ dZ1).  Ng's dZ is m times ∂J/∂Z: J averages over the m
examples, his dZ is the per-example error.

Machine Learning (Coursera, 2011), examples as rows (X : m x n): linear
regression (ex1: grad = (1/m) Xᵀ(Xθ − y)), logistic regression (ex2:
grad = (1/m) Xᵀ(h − y)) and their regularised versions with θ₀ left out of
the penalty (ex2 reg: + (λ/m) θⱼ for j ≥ 1), the intercept added as a column
of ones.
"""

from __future__ import annotations

import numpy as np

from conftest import sigmoid

from . import Entry

S = "Ng"


def E(id, cell, request, wrt, f, **kw):
    return Entry(S, id, cell, request, wrt, f, **kw)


def _bce(y, a):
    return -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a))


ONE = """x : n
w : n
b : scalar
y : scalar, positive
z = w^T x + b
a = σ(z)
L = -(y log(a) + (1 - y) log(1 - a))
∂L/∂z, ∂L/∂w, ∂L/∂b
"""


def _one(v, z=None):
    z = v["w"].T @ v["x"] + v["b"] if z is None else z
    return _bce(v["y"], sigmoid(z))


VEC = """X : n x m
w : n
b : scalar
Y : 1 x m, positive
Z = w^T X + b
A = σ(Z)
J = -(1/m) sum(Y ⊙ log(A) + (1 - Y) ⊙ log(1 - A))
∂J/∂Z, ∂J/∂w, ∂J/∂b
"""


def _vec(v, Z=None):
    Z = v["w"].T @ v["X"] + v["b"] if Z is None else Z
    return _bce(v["Y"], sigmoid(Z)) / v["X"].shape[1]


TWO = """X : n x m
W1 : h x n
b1 : h
W2 : 1 x h
b2 : scalar
Y : 1 x m, positive
Z1 = W1 X + b1
A1 = tanh(Z1)
Z2 = W2 A1 + b2
A2 = σ(Z2)
J = -(1/m) sum(Y ⊙ log(A2) + (1 - Y) ⊙ log(1 - A2))
∂J/∂Z2, ∂J/∂W2, ∂J/∂b2, ∂J/∂Z1, ∂J/∂W1, ∂J/∂b1
"""


def _two(v, Z1=None, Z2=None):
    m = v["X"].shape[1]
    if Z2 is None:
        Z1 = v["W1"] @ v["X"] + v["b1"] if Z1 is None else Z1
        Z2 = v["W2"] @ np.tanh(Z1) + v["b2"]
    return _bce(v["Y"], sigmoid(Z2)) / m


def _z1(values, sizes):
    return {"Z1": values["W1"] @ values["X"] + values["b1"]}


def _z2(values, sizes):
    z1 = values["W1"] @ values["X"] + values["b1"]
    return {"Z2": values["W2"] @ np.tanh(z1) + values["b2"]}


def _z(values, sizes):
    return {"z": values["w"].T @ values["x"] + values["b"]}


def _zz(values, sizes):
    return {"Z": values["w"].T @ values["X"] + values["b"]}


LINREG = """X : m x n
θ : n
y : m
J = (1/(2 m)) ‖X θ - y‖²
∂J/∂θ
"""

LOGREG = """X : m x n
θ : n
y : m, positive
h = σ(X θ)
J = -(1/m) (y^T log(h) + (1 - y)^T log(1 - h))
∂J/∂θ
"""

LINREG_REG = """X0 : m x n
θ : n + 1
y : m
λ : scalar
X = np.hstack([np.ones((m, 1)), X0])
J = (1/(2 m)) ‖X θ - y‖² + (λ/(2 m)) ‖θ[1:]‖²
∂J/∂θ
"""

LOGREG_REG = """X0 : m x n
θ : n + 1
y : m, positive
λ : scalar
X = np.hstack([np.ones((m, 1)), X0])
h = σ(X θ)
J = -(1/m) (y^T log(h) + (1 - y)^T log(1 - h)) + (λ/(2 m)) ‖θ[1:]‖²
∂J/∂θ
"""


def _design(v):
    return np.hstack([np.ones((v["X0"].shape[0], 1)), v["X0"]])


def _y01(values, sizes):
    """Labels in (0, 1) for the logistic losses."""
    return {k: values[k] / (1 + values[k]) for k in ("y", "Y") if k in values}


ENTRIES = [
    # DL course 1 week 2, one example: dz = a − y, dw = x dz, db = dz
    E(
        "dl-logreg-dz",
        ONE,
        "∂L/∂z",
        "z",
        lambda v: _one(v, z=v["z"]),
        forms={"shape": "a - y"},
        fixed=lambda v, s: {**_z(v, s), **_y01(v, s)},
    ),
    E(
        "dl-logreg-dw",
        ONE,
        "∂L/∂w",
        "w",
        _one,
        fixed=_y01,
        forms={"shape": ("(a - y) x", "x (a - y)")},
    ),
    E("dl-logreg-db", ONE, "∂L/∂b", "b", _one, fixed=_y01, forms={"shape": "a - y"}),
    # DL course 1 week 2, vectorised over the columns of X: dZ = A − Y, dw = (1/m) X dZᵀ, db = (1/m) np.sum(dZ)
    E(
        "dl-vec-dZ",
        VEC,
        "∂J/∂Z",
        "Z",
        lambda v: _vec(v, Z=v["Z"]),
        forms={"shape": "(1/m) (A - Y)"},
        fixed=lambda v, s: {**_zz(v, s), **_y01(v, s)},
    ),
    E(
        "dl-vec-dw",
        VEC,
        "∂J/∂w",
        "w",
        _vec,
        fixed=_y01,
        forms={"shape": "(1/m) X (A - Y)ᵀ"},
        shapes={"shape": ("n", "1")},
    ),
    E("dl-vec-db", VEC, "∂J/∂b", "b", _vec, fixed=_y01, forms={"shape": ("(1/m) sum(A - Y)", "(1/m) (A - Y) 𝟏")}),
    # DL course 1 week 3, the two-layer network
    E(
        "dl-2layer-dZ2",
        TWO,
        "∂J/∂Z2",
        "Z2",
        lambda v: _two(v, Z2=v["Z2"]),
        forms={"shape": "(1/m) (A2 - Y)"},
        fixed=lambda v, s: {**_z2(v, s), **_y01(v, s)},
    ),
    E(
        "dl-2layer-dW2",
        TWO,
        "∂J/∂W2",
        "W2",
        _two,
        fixed=_y01,
        forms={"shape": "(1/m) (A2 - Y) A1ᵀ"},
        shapes={"shape": ("1", "h")},
    ),
    E(
        "dl-2layer-db2",
        TWO,
        "∂J/∂b2",
        "b2",
        _two,
        fixed=_y01,
        forms={"shape": ("(1/m) sum(A2 - Y)", "(1/m) (A2 - Y) 𝟏")},
    ),
    E(
        "dl-2layer-dZ1",
        TWO,
        "∂J/∂Z1",
        "Z1",
        lambda v: _two(v, Z1=v["Z1"]),
        forms={"shape": "(1/m) (W2ᵀ (A2 - Y)) ⊙ (1 - A1^∘2)"},
        fixed=lambda v, s: {**_z1(v, s), **_y01(v, s)},
    ),
    E(
        "dl-2layer-dW1",
        TWO,
        "∂J/∂W1",
        "W1",
        _two,
        fixed=_y01,
        forms={"shape": "(1/m) ((W2ᵀ (A2 - Y)) ⊙ (1 - A1^∘2)) Xᵀ"},
        shapes={"shape": ("h", "n")},
    ),
    E(
        "dl-2layer-db1",
        TWO,
        "∂J/∂b1",
        "b1",
        _two,
        fixed=_y01,
        forms={"shape": ("(1/m) sum((W2ᵀ (A2 - Y)) ⊙ (1 - A1^∘2), axis=1)", "(1/m) ((W2ᵀ (A2 - Y)) ⊙ (1 - A1^∘2)) 𝟏")},
        shapes={"shape": ("h", "1")},
    ),
    # ML course ex1: linear regression, J = (1/2m) Σ (Xθ − y)², grad = (1/m) Xᵀ(Xθ − y)
    E(
        "ml-linreg",
        LINREG,
        "∂J/∂θ",
        "θ",
        lambda v: np.sum((v["X"] @ v["θ"] - v["y"]) ** 2) / (2 * len(v["X"])),
        forms={"shape": "(1/m) Xᵀ (X θ - y)", "numerator": "(1/m) (X θ - y)ᵀ X"},
    ),
    # ML course ex2: logistic regression, grad = (1/m) Xᵀ(h − y)
    E(
        "ml-logreg",
        LOGREG,
        "∂J/∂θ",
        "θ",
        lambda v: _bce(v["y"], sigmoid(v["X"] @ v["θ"])) / len(v["X"]),
        forms={"shape": "(1/m) Xᵀ (h - y)"},
        fixed=_y01,
    ),
    # ML course ex1/ex2 regularised, θ₀ not penalised, the intercept as a column of ones
    E(
        "ml-linreg-reg",
        LINREG_REG,
        "∂J/∂θ",
        "θ",
        lambda v: (
            np.sum((_design(v) @ v["θ"] - v["y"]) ** 2) / (2 * len(v["X0"]))
            + v["λ"] / (2 * len(v["X0"])) * np.sum(v["θ"][1:] ** 2)
        ),
        forms={"shape": "(1/m) Xᵀ (X θ - y) + (λ/m) [0; θ[1:]]"},
    ),
    E(
        "ml-logreg-reg",
        LOGREG_REG,
        "∂J/∂θ",
        "θ",
        lambda v: (
            _bce(v["y"], sigmoid(_design(v) @ v["θ"])) / len(v["X0"])
            + v["λ"] / (2 * len(v["X0"])) * np.sum(v["θ"][1:] ** 2)
        ),
        forms={"shape": "(1/m) Xᵀ (h - y) + (λ/m) [0; θ[1:]]"},
        fixed=_y01,
    ),
    # the same gradients by the raw data: the intercept column drops out
    E(
        "ml-linreg-reg-X0",
        LINREG_REG.replace("∂J/∂θ", "∂J/∂X0"),
        "∂J/∂X0",
        "X0",
        lambda v: (
            np.sum((_design(v) @ v["θ"] - v["y"]) ** 2) / (2 * len(v["X0"]))
            + v["λ"] / (2 * len(v["X0"])) * np.sum(v["θ"][1:] ** 2)
        ),
        shapes={"shape": ("m", "n")},
    ),
]
