"""One row per operator and function of the language, checked numerically.

Each row is a small function of one or more declared variables, written twice:
as cell text and as NumPy.  For every variable of the row the derivative is
derived, its kind is compared with what the shapes say, and every layout is
evaluated and compared with finite differences of the NumPy function
(``conftest.fd_compare``) at random points that respect the declared
properties; ``Result.check()`` runs too.  Rows cover gradients, Jacobians,
Hessians and tensors (matrix-by-matrix derivatives).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest

import matcalc_magic as mm
from conftest import LAYOUTS, ce, check_numerically, logsumexp, norm_ws, relu, sigmoid, softmax, softplus


@dataclass
class Row:
    id: str
    decls: str
    expr: str
    wrt: tuple
    f: Callable
    order: int = 1
    text: str | None = None  # the expected shape-layout right-hand side, where there is a textbook one
    kind: str | None = None
    bad_layouts: dict = field(default_factory=dict)  # layout -> reason (engine problems)
    crash: str | None = None  # the engine cannot derive this at all (reason)
    print_bug: str | dict | None = None  # the printed form is wrong: reason, or {variable: reason}

    def cell(self, wrt: str) -> str:
        req = f"∂²({self.expr})/∂{wrt}²" if self.order == 2 else f"∂({self.expr})/∂{wrt}"
        return f"{self.decls}\n{req}"


def T(a):
    return a.T


ROWS = [
    # ------------------------------------------------------------ + − and scalar multiples
    Row("add", "x : n; y : n", "x + y", ("x", "y"), lambda v: v["x"] + v["y"], text="I"),
    Row("add-matrix", "A : m x n; B : m x n", "A + B", ("A",), lambda v: v["A"] + v["B"], kind="tensor"),
    Row("sub", "x : n; y : n", "x - y", ("y",), lambda v: v["x"] - v["y"], text="-I"),
    Row("neg", "X : m x n", "sum(-X ⊙ X)", ("X",), lambda v: np.sum(-v["X"] * v["X"]), text="-2 X"),
    Row("scalar-multiple", "c : scalar; x : n", "c x", ("c", "x"), lambda v: v["c"] * v["x"]),
    Row("scalar-multiple-star", "x : n", "3 * x", ("x",), lambda v: 3 * v["x"], text="3 I"),
    Row("scalar-divide", "c : scalar; x : n", "x / c", ("c", "x"), lambda v: v["x"] / v["c"]),
    Row("size-as-number", "x : n", "(1/n) x^T x", ("x",), lambda v: (v["x"].T @ v["x"]) / v["x"].shape[0]),
    Row("fraction", "x : n", "2.5 x", ("x",), lambda v: 2.5 * v["x"], text="2.5 I"),  # the number as written
    Row("fraction-written", "x : n", "(5/2) x", ("x",), lambda v: 2.5 * v["x"], text="(5/2) I"),
    Row(
        "scalar-by-scalar",
        "s : scalar; t : scalar",
        "s t^2 + 3 t",
        ("s", "t"),
        lambda v: v["s"] * v["t"] ** 2 + 3 * v["t"],
    ),
    # ------------------------------------------------------------ products
    Row("juxtaposition", "A : m x n; x : n", "A x", ("A", "x"), lambda v: v["A"] @ v["x"]),
    Row("matmul-@", "A : m x n; B : n x p", "A @ B", ("A", "B"), lambda v: v["A"] @ v["B"]),
    Row("matmul-chain", "A : m x n; X : n x p; B : p x k", "A X B", ("X",), lambda v: v["A"] @ v["X"] @ v["B"]),
    Row("row-times-matrix", "x : 1 x n; W : n x m", "x W", ("x", "W"), lambda v: v["x"] @ v["W"], text=None),
    Row("bilinear", "x : n; A : n x m; y : m", "x^T A y", ("x", "A", "y"), lambda v: v["x"].T @ v["A"] @ v["y"]),
    Row("dot", "x : n; y : n", "np.dot(x, y)", ("x",), lambda v: v["x"].T @ v["y"], text="y"),
    Row("inner", "X : m x n; Y : m x n", "inner(X, Y)", ("X",), lambda v: np.sum(v["X"] * v["Y"]), text="Y"),
    # ------------------------------------------------------------ transposes
    Row("transpose-^T", "A : m x n; x : m", "x^T A", ("x", "A"), lambda v: v["x"].T @ v["A"]),
    Row("transpose-prime", "x : n; y : n", "x' y", ("x",), lambda v: v["x"].T @ v["y"], text="y"),
    Row("transpose-.T", "A : m x n; x : m", "A.T @ x", ("A", "x"), lambda v: v["A"].T @ v["x"]),
    Row("transpose-ᵀ", "X : m x n", "Xᵀ", ("X",), lambda v: v["X"].T),
    Row("transpose-⊤", "A : m x n; x : m", "x^⊤ A", ("x",), lambda v: v["x"].T @ v["A"]),
    # ------------------------------------------------------------ elementwise binary
    Row("hadamard-⊙", "x : n; y : n", "x ⊙ y", ("x", "y"), lambda v: v["x"] * v["y"], text="diag(y)"),
    Row("hadamard-∘", "A : m x n; B : m x n", "A ∘ B", ("A",), lambda v: v["A"] * v["B"]),
    Row("hadamard-*", "A : m x n; B : m x n", "sum(A * B * A)", ("A",), lambda v: np.sum(v["A"] * v["B"] * v["A"])),
    Row("hdiv-⊘", "x : n; y : n, positive", "x ⊘ y", ("x", "y"), lambda v: v["x"] / v["y"]),
    Row("hdiv-/", "A : m x n; B : m x n, positive", "A / B", ("B",), lambda v: v["A"] / v["B"]),
    Row("epow-**", "x : n", "x ** 3", ("x",), lambda v: v["x"] ** 3, text="3 diag(x^∘2)"),
    Row("epow-np.power", "X : m x n, positive", "sum(np.power(X, 0.5))", ("X",), lambda v: np.sum(np.sqrt(v["X"]))),
    Row("epow-np.square", "x : n", "np.square(x)", ("x",), lambda v: v["x"] ** 2, text="2 diag(x)"),
    # ------------------------------------------------------------ matrix power
    Row("matpow-^3", "X : n x n", "X^3", ("X",), lambda v: v["X"] @ v["X"] @ v["X"]),
    Row(
        "matpow-trace",
        "X : n x n",
        "tr(X^3)",
        ("X",),
        lambda v: np.trace(v["X"] @ v["X"] @ v["X"]),
        text="3 (X²)ᵀ",
    ),
    Row("matpow-np", "X : n x n", "np.linalg.matrix_power(X, 2)", ("X",), lambda v: v["X"] @ v["X"]),
    Row("matpow-negative", "X : n x n, invertible", "X^{-2}", ("X",), lambda v: np.linalg.inv(v["X"] @ v["X"])),
    # ------------------------------------------------------------ elementwise functions
    Row("exp", "x : n", "exp(x)", ("x",), lambda v: np.exp(v["x"]), text="diag(exp(x))"),
    Row("log", "x : n, positive", "log(x)", ("x",), lambda v: np.log(v["x"])),
    Row("ln", "X : m x n, positive", "sum(ln(X))", ("X",), lambda v: np.sum(np.log(v["X"]))),
    Row("sqrt", "x : n, positive", "sqrt(x)", ("x",), lambda v: np.sqrt(v["x"])),
    Row("sin", "x : n", "sin(x)", ("x",), lambda v: np.sin(v["x"]), text="diag(cos(x))"),
    Row("cos", "X : m x n", "sum(cos(X))", ("X",), lambda v: np.sum(np.cos(v["X"])), text="-sin(X)"),
    Row("tanh", "z : n", "tanh(z)", ("z",), lambda v: np.tanh(v["z"]), text="diag(1 - tanh(z)^∘2)"),
    Row("sigma", "z : n", "σ(z)", ("z",), lambda v: sigmoid(v["z"])),
    Row("sigmoid", "X : m x n", "sum(sigmoid(X))", ("X",), lambda v: np.sum(sigmoid(v["X"]))),
    Row("relu", "z : n", "relu(z)", ("z",), lambda v: relu(v["z"]), text="diag(relu′(z))"),
    Row("np.maximum", "z : n", "np.maximum(z, 0)", ("z",), lambda v: relu(v["z"]), text="diag(relu′(z))"),
    Row("softplus", "x : n", "softplus(x)", ("x",), lambda v: softplus(v["x"]), text="diag(σ(x))"),
    Row("abs", "x : n", "abs(x)", ("x",), lambda v: np.abs(v["x"]), text="diag(sign(x))"),
    Row("abs-bars", "x : n", "sum(|x|)", ("x",), lambda v: np.sum(np.abs(v["x"])), text="sign(x)"),
    Row("sigma-prime", "z : n", "sum(σ'(z))", ("z",), lambda v: np.sum(sigmoid(v["z"]) * (1 - sigmoid(v["z"])))),
    Row("tanh-prime", "z : n", "tanh'(z)", ("z",), lambda v: 1 - np.tanh(v["z"]) ** 2),
    Row("relu-prime", "z : n", "relu'(z) ⊙ z", ("z",), lambda v: (v["z"] > 0) * v["z"], text="diag(relu′(z))"),
    Row("sign", "z : n", "sign(z) ⊙ z", ("z",), lambda v: np.sign(v["z"]) * v["z"], text="diag(sign(z))"),
    Row("cosh", "x : n", "cosh(x)", ("x",), lambda v: np.cosh(v["x"]), text="diag(sinh(x))"),
    Row("sinh", "X : m x n", "sum(sinh(X))", ("X",), lambda v: np.sum(np.sinh(v["X"])), text="cosh(X)"),
    Row("tan", "x : n, positive", "np.tan(x)", ("x",), lambda v: np.tan(v["x"]), text="diag(1 + tan(x)^∘2)"),
    Row("arctan", "x : n", "arctan(x)", ("x",), lambda v: np.arctan(v["x"])),
    Row("atan", "X : m x n", "sum(atan(X))", ("X",), lambda v: np.sum(np.arctan(v["X"]))),
    Row("log1p", "x : n, positive", "np.log1p(x)", ("x",), lambda v: np.log1p(v["x"])),
    Row("expm1", "x : n", "expm1(x)", ("x",), lambda v: np.expm1(v["x"]), text="diag(exp(x))"),
    Row("scalar-base-power", "x : n", "sum(np.e ** x + 2 ** x)", ("x",), lambda v: np.sum(np.e ** v["x"] + 2 ** v["x"])),
    # ------------------------------------------------------------ reductions
    Row("sum-all", "X : m x n; A : m x n", "sum(X ⊙ A)", ("X",), lambda v: np.sum(v["X"] * v["A"]), text="A"),
    Row(
        "sum-all-ones",
        "X : m x n",
        "sum(X)",
        ("X",),
        lambda v: np.sum(v["X"]),
        text="𝟏 𝟏ᵀ",
    ),
    Row("sum-axis0", "X : m x n", "sum(X, axis=0)", ("X",), lambda v: np.sum(v["X"], axis=0, keepdims=True)),
    Row("sum-axis1", "X : m x n", "sum(X, axis=1)", ("X",), lambda v: np.sum(v["X"], axis=1, keepdims=True)),
    Row(
        "sum-axis1-weighted",
        "X : m x n; a : m",
        "a^T sum(X, axis=1)",
        ("X",),
        lambda v: v["a"].T @ np.sum(v["X"], axis=1, keepdims=True),
        text="a 𝟏ᵀ",
    ),
    Row("np.sum-positional-axis", "X : m x n", "np.sum(X, 0)", ("X",), lambda v: np.sum(v["X"], axis=0, keepdims=True)),
    Row("mean", "X : m x n", "mean(X ⊙ X)", ("X",), lambda v: np.mean(v["X"] * v["X"])),
    Row("mean-axis", "X : m x n", "np.mean(X, axis=1)", ("X",), lambda v: np.mean(v["X"], axis=1, keepdims=True)),
    Row("var", "x : n", "np.var(x)", ("x",), lambda v: np.var(v["x"])),
    Row("var-axis0", "X : m x n", "np.var(X, axis=0)", ("X",), lambda v: np.var(v["X"], axis=0, keepdims=True)),
    Row("var-axis1-keepdims", "X : m x n", "np.var(X, axis=1, keepdims=True)", ("X",),
        lambda v: np.var(v["X"], axis=1, keepdims=True)),
    Row("var-ddof", "X : m x n", "var(X, axis=0, ddof=1)", ("X",), lambda v: np.var(v["X"], axis=0, ddof=1, keepdims=True)),
    Row("std", "X : m x n", "np.std(X)", ("X",), lambda v: np.std(v["X"])),
    Row("std-axis1", "X : m x n", "sum(std(X, axis=1))", ("X",), lambda v: np.sum(np.std(v["X"], axis=1))),
    # ------------------------------------------------------------ matrix functions
    Row("trace", "X : n x n; A : n x n", "tr(A X)", ("X",), lambda v: np.trace(v["A"] @ v["X"]), text="Aᵀ"),
    Row("np.trace", "X : n x n", "np.trace(X)", ("X",), lambda v: np.trace(v["X"]), text="I"),
    Row("det", "X : n x n", "det(X)", ("X",), lambda v: np.linalg.det(v["X"]), text="det(X) X⁻ᵀ"),
    Row("np.linalg.det", "X : n x n, invertible", "np.linalg.det(X)", ("X",), lambda v: np.linalg.det(v["X"])),
    Row("logdet", "X : n x n, spd", "logdet(X)", ("X",), lambda v: np.linalg.slogdet(v["X"])[1], text="X⁻¹"),
    Row("log-det", "X : n x n, invertible", "log det(X)", ("X",), lambda v: np.log(np.linalg.det(v["X"])), text="X⁻ᵀ"),
    Row("inv-^{-1}", "X : n x n, invertible", "X^{-1}", ("X",), lambda v: np.linalg.inv(v["X"])),
    Row(
        "inv-⁻¹",
        "X : n x n, invertible; a : n; b : n",
        "a^T X⁻¹ b",
        ("X", "a"),
        lambda v: v["a"].T @ np.linalg.inv(v["X"]) @ v["b"],
    ),
    Row("inv-np.linalg.inv", "X : n x n, invertible", "np.linalg.inv(X)", ("X",), lambda v: np.linalg.inv(v["X"])),
    Row("inv-transpose", "X : n x n, invertible", "X^{-T}", ("X",), lambda v: np.linalg.inv(v["X"]).T),
    Row(
        "diag-vector-to-matrix",
        "x : n",
        "diag(x)",
        ("x",),
        lambda v: np.diag(v["x"].ravel()),
    ),
    Row(
        "diag-vector-trace",
        "a : n; X : n x n",
        "tr(diag(a) X)",
        ("a", "X"),
        lambda v: np.trace(np.diag(v["a"].ravel()) @ v["X"]),
    ),
    Row(
        "diag-matrix-to-vector",
        "X : n x n",
        "diag(X)",
        ("X",),
        lambda v: np.diag(v["X"]).reshape(-1, 1),
    ),
    Row(
        "diag-matrix-sum",
        "X : n x n; a : n",
        "a^T diag(X)",
        ("X",),
        lambda v: v["a"].T @ np.diag(v["X"]).reshape(-1, 1),
    ),
    Row(
        "kron",
        "A : m x n; B : p x q",
        "kron(A, B)",
        ("A", "B"),
        lambda v: np.kron(v["A"], v["B"]),
    ),
    Row(
        "kron-⊗-scalar",
        "A : m x n; B : p x q; C : m*p x n*q",
        "sum((A ⊗ B) ⊙ C)",
        ("A",),
        lambda v: np.sum(np.kron(v["A"], v["B"]) * v["C"]),
    ),
    Row(
        "kron-vectors",
        "x : n",
        "x ⊗ x",
        ("x",),
        lambda v: np.kron(v["x"], v["x"]),
    ),
    Row(
        "vec",
        "X : m x n",
        "vec(X)",
        ("X",),
        lambda v: v["X"].reshape(-1, 1, order="F"),
    ),
    Row("vec-inner", "X : m x n; a : m*n", "a^T vec(X)", ("X",), lambda v: v["a"].T @ v["X"].reshape(-1, 1, order="F")),
    Row("outer", "a : m; b : n", "outer(a, b)", ("a", "b"), lambda v: v["a"] @ v["b"].T),
    Row(
        "np.outer-scalar",
        "a : m; b : n; C : m x n",
        "sum(np.outer(a, b) ⊙ C)",
        ("b",),
        lambda v: np.sum((v["a"] @ v["b"].T) * v["C"]),
        text="Cᵀ a",
    ),
    # ------------------------------------------------------------ softmax family
    Row(
        "softmax-vector",
        "x : n",
        "softmax(x)",
        ("x",),
        lambda v: softmax(v["x"]),
        text="diag(softmax(x)) - softmax(x) softmax(x)ᵀ",
    ),
    Row(
        "softmax-matrix-axis0",
        "Θ : k x m",
        "softmax(Θ, axis=0)",
        ("Θ",),
        lambda v: softmax(v["Θ"], 0),
    ),
    Row(
        "softmax-matrix-axis1",
        "Θ : k x m",
        "softmax(Θ, axis=1)",
        ("Θ",),
        lambda v: softmax(v["Θ"], 1),
    ),
    Row("log_softmax", "x : n", "log_softmax(x)", ("x",), lambda v: v["x"] - logsumexp(v["x"])),
    Row("log_softmax-axis1", "X : k x m", "log_softmax(X, axis=1)", ("X",), lambda v: v["X"] - logsumexp(v["X"], 1)),
    Row("logsumexp", "x : n", "logsumexp(x)", ("x",), lambda v: logsumexp(v["x"]), text="softmax(x)"),
    Row("logsumexp-axis0", "X : k x m", "logsumexp(X, axis=0)", ("X",), lambda v: logsumexp(v["X"], 0)),
    Row(
        "CE-onehot",
        "θ : k; y : k, onehot",
        "CE(y, softmax(θ))",
        ("θ",),
        lambda v: ce(v["y"], softmax(v["θ"])),
        text="softmax(θ) - y",
    ),
    Row(
        "CE-probability",
        "θ : k; y : k, probability",
        "CE(y, softmax(θ))",
        ("θ",),
        lambda v: ce(v["y"], softmax(v["θ"])),
        text="softmax(θ) - y",
    ),
    Row("CE-general", "θ : k; y : k", "CE(y, softmax(θ))", ("θ", "y"), lambda v: ce(v["y"], softmax(v["θ"]))),
    Row(
        "CE-batch",
        "Θ : k x m; Y : k x m, onehot",
        "CE(Y, softmax(Θ, axis=0))",
        ("Θ",),
        lambda v: ce(v["Y"], softmax(v["Θ"], 0)),
        text="softmax(Θ, axis=0) - Y",
    ),
    # ------------------------------------------------------------ norms
    Row("norm", "x : n", "‖x‖", ("x",), lambda v: np.linalg.norm(v["x"])),
    Row("norm-squared", "x : n", "‖x‖²", ("x",), lambda v: np.sum(v["x"] ** 2), text="2 x"),
    Row(
        "norm-pipes", "x : n; a : n", "||x - a||^2", ("x",), lambda v: np.sum((v["x"] - v["a"]) ** 2), text="2 (x - a)"
    ),
    Row("norm-frobenius-squared", "X : m x n", "||X||_F^2", ("X",), lambda v: np.sum(v["X"] ** 2), text="2 X"),
    Row("norm-frobenius", "X : m x n", "‖X‖_F", ("X",), lambda v: np.linalg.norm(v["X"])),
    Row("np.linalg.norm-vector", "x : n", "np.linalg.norm(x)", ("x",), lambda v: np.linalg.norm(v["x"])),
    Row("np.linalg.norm-matrix", "X : m x n", "np.linalg.norm(X)", ("X",), lambda v: np.linalg.norm(v["X"])),
    Row(
        "np.linalg.norm-fro",
        "X : m x n",
        "np.linalg.norm(X, 'fro')",
        ("X",),
        lambda v: np.linalg.norm(v["X"]),
    ),
    # ------------------------------------------------------------ constructors with symbolic sizes
    Row("np.ones", "x : n", "np.ones((n, 1))^T x", ("x",), lambda v: np.sum(v["x"]), text="𝟏"),
    Row("np.ones-matrix", "X : m x n", "np.ones((1, m)) X", ("X",), lambda v: np.sum(v["X"], axis=0, keepdims=True)),
    Row("np.zeros", "X : m x n", "X + np.zeros((m, n))", ("X",), lambda v: v["X"]),
    Row(
        "np.zeros-stacked",
        "X : m x n; C : m x n + 1",
        "sum(np.hstack([np.zeros((m, 1)), X]) ⊙ C)",
        ("X",),
        lambda v: np.sum(np.hstack([np.zeros((len(v["X"]), 1)), v["X"]]) * v["C"]),
    ),
    Row(
        "np.eye",
        "x : n; A : n x n",
        "(A + np.eye(n)) x",
        ("x", "A"),
        lambda v: (v["A"] + np.eye(len(v["A"]))) @ v["x"],
        text="A + I",
    ),
    # ------------------------------------------------------------ slicing and stacking
    Row("slice-vector", "θ : n + 1", "θ[1:]", ("θ",), lambda v: v["θ"][1:]),
    Row("slice-norm", "θ : n + 1", "‖θ[1:]‖²", ("θ",), lambda v: np.sum(v["θ"][1:] ** 2)),
    Row("slice-index", "θ : n + 1; x : n + 1", "θ[0] x", ("θ",), lambda v: v["θ"][0, 0] * v["x"]),
    Row(
        "slice-columns",
        "Θ : k x m",
        "Θ[:, 1:]",
        ("Θ",),
        lambda v: v["Θ"][:, 1:],
    ),
    Row("slice-columns-sum", "Θ : k x m", "sum(Θ[:, 1:] ⊙ Θ[:, 1:])", ("Θ",), lambda v: np.sum(v["Θ"][:, 1:] ** 2)),
    Row(
        "slice-rows",
        "Θ : k x m",
        "Θ[1:, :]",
        ("Θ",),
        lambda v: v["Θ"][1:, :],
    ),
    Row(
        "hstack",
        "X : m x n; θ : n + 1",
        "np.hstack([np.ones((m, 1)), X]) θ",
        ("X", "θ"),
        lambda v: np.hstack([np.ones((len(v["X"]), 1)), v["X"]]) @ v["θ"],
    ),
    Row(
        "hstack-tensor",
        "X : m x n",
        "np.hstack([np.ones((m, 1)), X])",
        ("X",),
        lambda v: np.hstack([np.ones((len(v["X"]), 1)), v["X"]]),
    ),
    Row(
        "vstack",
        "a : m x n; b : p x n",
        "np.vstack([a, b])",
        ("a", "b"),
        lambda v: np.vstack([v["a"], v["b"]]),
    ),
    Row(
        "concatenate",
        "a : m; b : p; c : m + p",
        "c^T np.concatenate([a, b], axis=0)",
        ("a", "b"),
        lambda v: v["c"].T @ np.vstack([v["a"], v["b"]]),
    ),
    # ------------------------------------------------------------ broadcasting
    Row("bias-over-columns", "W : m x n; X : n x p; b : m", "W X + b", ("b", "W"), lambda v: v["W"] @ v["X"] + v["b"]),
    Row(
        "bias-over-columns-loss",
        "W : m x n; X : n x p; b : m",
        "sum(tanh(W X + b))",
        ("b", "W", "X"),
        lambda v: np.sum(np.tanh(v["W"] @ v["X"] + v["b"])),
    ),
    Row(
        "bias-over-rows",
        "X : p x n; W : n x m; r : 1 x m",
        "sum(tanh(X W + r))",
        ("r", "W"),
        lambda v: np.sum(np.tanh(v["X"] @ v["W"] + v["r"])),
    ),
    Row("bias-over-rows-tensor", "X : m x n; r : 1 x n", "X + r", ("r",), lambda v: v["X"] + v["r"]),
    Row(
        "scalar-broadcast",
        "X : m x n; c : scalar",
        "exp(c X) + c",
        ("c", "X"),
        lambda v: np.exp(v["c"] * v["X"]) + v["c"],
    ),
    # ------------------------------------------------------------ Hessians
    Row(
        "hessian-quadratic",
        "x : n; A : n x n",
        "x^T A x",
        ("x",),
        lambda v: v["x"].T @ v["A"] @ v["x"],
        order=2,
        text="A + Aᵀ",
    ),
    Row(
        "hessian-logsumexp",
        "x : n",
        "logsumexp(x)",
        ("x",),
        lambda v: logsumexp(v["x"]),
        order=2,
        text="diag(softmax(x)) - softmax(x) softmax(x)ᵀ",
    ),
    Row("hessian-exp", "x : n", "sum(exp(x))", ("x",), lambda v: np.sum(np.exp(v["x"])), order=2, text="diag(exp(x))"),
    Row("hessian-frobenius", "X : m x n", "‖X‖_F^2", ("X",), lambda v: np.sum(v["X"] ** 2), order=2, text="2 I"),
    Row(
        "hessian-trace-quadratic",
        "X : m x n; A : n x n",
        "tr(X A X^T)",
        ("X",),
        lambda v: np.trace(v["X"] @ v["A"] @ v["X"].T),
        order=2,
    ),
    Row(
        "hessian-logdet", "X : n x n, invertible", "log det(X)", ("X",), lambda v: np.linalg.slogdet(v["X"])[1], order=2
    ),
    Row("hessian-scalar", "c : scalar", "c^3 + exp(c)", ("c",), lambda v: v["c"] ** 3 + np.exp(v["c"]), order=2),
    Row(
        "hessian-logistic",
        "X : m x n; w : n; y : m, positive",
        "sum(softplus(X w)) - y^T X w",
        ("w",),
        lambda v: np.sum(softplus(v["X"] @ v["w"])) - v["y"].T @ v["X"] @ v["w"],
        order=2,
    ),
]

CASES = [(row, w) for row in ROWS for w in row.wrt]


def _id(case):
    row, w = case
    return f"{row.id}-d{w}" if len(row.wrt) > 1 else row.id


@functools.lru_cache(maxsize=None)
def derived(cell: str):
    return mm.derive(cell)[0]


def _crash_marks(row):
    if row.crash:
        return [pytest.mark.xfail(strict=True, reason="engine: " + row.crash)]
    return []


def _params(cases, extra_marks=lambda row, w: []):
    return [pytest.param(row, w, marks=_crash_marks(row) + extra_marks(row, w), id=_id((row, w))) for row, w in cases]


@pytest.mark.parametrize("row, wrt", _params(CASES))
def test_every_layout_matches_finite_differences(row, wrt):
    """Kind, shape and value of every layout against finite differences, and check()."""
    cell = row.cell(wrt)
    r = derived(cell)
    if row.kind:
        assert r.kind == row.kind
    good = tuple(layout for layout in LAYOUTS if layout not in row.bad_layouts)
    check_numerically(r, row.f, cell, wrt, seed=sum(map(ord, row.id + wrt)), points=2, layouts=good)




def _print_marks(row, w):
    bug = row.print_bug.get(w) if isinstance(row.print_bug, dict) else row.print_bug
    return [pytest.mark.xfail(strict=True, reason="engine: " + bug)] if bug else []


@pytest.mark.parametrize("row, wrt", _params(CASES, _print_marks))
def test_printed_forms_are_well_formed(row, wrt):
    """Every layout prints (text and LaTeX) without showing the differential
    d<variable>, and the first row's textbook form where one is given."""
    r = derived(row.cell(wrt))
    tangent = re.compile(rf"(?<![\w∂])d{re.escape(wrt)}(?![\w])")
    for layout in LAYOUTS:
        v = r.view(layout)
        text, latex = v.text, v.latex
        assert text.count("=") >= 1 and latex
        assert not tangent.search(v.rhs_text), f"{layout}: {v.rhs_text}"
        assert "\\mathrm{d}" + wrt not in v.rhs_latex and "d" + wrt + "[" not in v.rhs_text
        assert v.rhs_text.strip() and "None" not in v.rhs_text
        assert "no closed form" not in v.rhs_text, f"{layout}: {v.rhs_text}"
    if row.text is not None and wrt == row.wrt[0]:
        assert norm_ws(r.view("shape").rhs_text) == norm_ws(row.text)


def test_the_table_covers_every_operator():
    """Every operator registered in the engine appears in some row (through a
    spelling that builds it), so a new operator without a row fails here."""
    from matcalc_magic.ops.registry import all_rules

    built = set()
    for row, w in CASES:
        if row.crash:
            continue
        r = derived(row.cell(w))
        stack = [r.request.of]
        while stack:
            e = stack.pop()
            built.add(e.op)
            stack.extend(e.args)
    # leaves and the operators only derivatives are made of
    internal = {"var", "tangent", "const", "commutation", "unvec", "pad_rows", "pad_cols"}
    missing = [name for name in all_rules() if name not in built and name not in internal]
    assert not missing, f"operators without a row: {missing}"


# ====================================================================== constants in printed results
def _xf(reason):
    return pytest.mark.xfail(strict=True, reason="engine: " + reason)



# (id, cell, layout, textbook right-hand side, NumPy function of the values, variable, engine problem)
PRINTED = [
    (
        "bias-sum",
        "W : m x n; X : n x p; b : m\nZ = W X + b\n∂(sum(Z))/∂b",
        "shape",
        "p 𝟏",
        lambda v: np.sum(v["W"] @ v["X"] + v["b"]),
        "b",
        None,
    ),
    (
        "mean",
        "X : m x n\n∂(mean(X))/∂X",
        "shape",
        "(1/(m n)) 𝟏 𝟏ᵀ",
        lambda v: np.mean(v["X"]),
        "X",
        None,
    ),
    (
        "row-sum",
        "x : 1 x n; W : n x m\n∂(sum(x W))/∂x",
        "shape",
        "𝟏ᵀ Wᵀ",
        lambda v: np.sum(v["x"] @ v["W"]),
        "x",
        None,
    ),
    (
        "column-sum",
        "x : n; A : m x n\n∂(sum(A x))/∂x",
        "shape",
        "Aᵀ 𝟏",
        lambda v: np.sum(v["A"] @ v["x"]),
        "x",
        None,
    ),
    (
        "scalar-broadcast",
        "X : m x n; c : scalar\n∂(X + c)/∂c",
        "shape",
        "𝟏 𝟏ᵀ",
        lambda v: v["X"] + v["c"],
        "c",
        None,
    ),
    (
        "scalar-product",
        "s : scalar; t : scalar\n∂(s t^2)/∂t",
        "shape",
        "2 s t",
        lambda v: v["s"] * v["t"] ** 2,
        "t",
        None,
    ),
    ("pi", "x : n\n∂(π x)/∂x", "shape", "π I", lambda v: np.pi * v["x"], "x", None),
    ("ones-vector", "x : n\n∂(np.ones((n, 1))^T x)/∂x", "shape", "𝟏", lambda v: np.sum(v["x"]), "x", None),
]


@pytest.mark.parametrize("id, cell, layout, text, f, wrt, bug", PRINTED, ids=[p[0] for p in PRINTED])
def test_constants_values(id, cell, layout, text, f, wrt, bug):
    check_numerically(derived(cell), f, cell, wrt, points=1)


@pytest.mark.parametrize(
    "id, cell, layout, text, f, wrt, bug",
    [pytest.param(*p, marks=[_xf(p[-1])] if p[-1] else [], id=p[0]) for p in PRINTED],
)
def test_constants_print_with_their_shape(id, cell, layout, text, f, wrt, bug):
    assert norm_ws(derived(cell).view(layout).rhs_text) == text
