"""Wikipedia, "Matrix calculus", section "Identities": the vector-by-vector,
scalar-by-vector, vector-by-scalar and scalar-by-matrix tables, each with its
numerator-layout and denominator-layout column
(https://en.wikipedia.org/wiki/Matrix_calculus#Identities).

Wikipedia writes |X| for det(X) and (X⁻¹)ᵀ for X⁻ᵀ; the forms below use the
engine's spelling of the same symbols.
"""

from __future__ import annotations

import numpy as np

from . import Entry

W = "Wikipedia"
inv = np.linalg.inv
det = np.linalg.det


def E(id, cell, request, wrt, f, **kw):
    return Entry(W, id, f"{cell}\n{request}", request, wrt, f, **kw)


ENTRIES = [
    # ---------------------------------------------------------------- vector-by-vector
    # table "Vector-by-vector identities": ∂a/∂x = 0 (a not a function of x)
    E(
        "vv-constant",
        "x : n; a : m; A : m x n",
        "∂(a + 0 A x)/∂x",
        "x",
        lambda v: v["a"] + 0 * v["A"] @ v["x"],
        forms={"numerator": "0", "denominator": "0", "shape": "0"},
        shapes={"numerator": ("m", "n"), "denominator": ("n", "m")},
        zero=True,
    ),
    # ∂x/∂x = I
    E("vv-identity", "x : n", "∂x/∂x", "x", lambda v: v["x"], forms={"numerator": "I", "denominator": "I"}),
    # ∂(Ax)/∂x = A (numerator) / Aᵀ (denominator)
    E(
        "vv-Ax",
        "x : n; A : m x n",
        "∂(A x)/∂x",
        "x",
        lambda v: v["A"] @ v["x"],
        forms={"numerator": "A", "denominator": "Aᵀ"},
        latex={"numerator": "A", "denominator": "A^{\\top}"},
        shapes={"numerator": ("m", "n"), "denominator": ("n", "m")},
    ),
    # ∂(xᵀA)/∂x = Aᵀ (numerator) / A (denominator)
    E(
        "vv-xTA",
        "x : n; A : n x m",
        "∂(x^T A)/∂x",
        "x",
        lambda v: v["x"].T @ v["A"],
        forms={"numerator": "Aᵀ", "denominator": "A"},
    ),
    # ∂(a u)/∂x = a ∂u/∂x with u = B x
    E(
        "vv-scalar-times-u",
        "x : n; a : scalar; B : m x n",
        "∂(a (B x))/∂x",
        "x",
        lambda v: v["a"] * (v["B"] @ v["x"]),
        forms={"numerator": "a B", "denominator": "a Bᵀ"},
    ),
    # ∂(A u)/∂x = A ∂u/∂x with u = tanh(x)
    E(
        "vv-A-times-u",
        "x : n; A : m x n",
        "∂(A tanh(x))/∂x",
        "x",
        lambda v: v["A"] @ np.tanh(v["x"]),
        forms={"numerator": "A diag(1 - tanh(x)^∘2)", "denominator": "diag(1 - tanh(x)^∘2) Aᵀ"},
    ),
    # ∂(u + v)/∂x = ∂u/∂x + ∂v/∂x with u = A x, v = B x
    E(
        "vv-sum",
        "x : n; A : m x n; B : m x n",
        "∂(A x + B x)/∂x",
        "x",
        lambda v: v["A"] @ v["x"] + v["B"] @ v["x"],
        forms={"numerator": "A + B", "denominator": ("Aᵀ + Bᵀ", "(A + B)ᵀ")},
    ),
    # chain rule ∂g(u)/∂x = ∂g/∂u ∂u/∂x with g = exp, u = A x
    E(
        "vv-chain",
        "x : n; A : m x n",
        "∂(exp(A x))/∂x",
        "x",
        lambda v: np.exp(v["A"] @ v["x"]),
        forms={"numerator": "diag(exp(A x)) A", "denominator": "Aᵀ diag(exp(A x))"},
    ),
    # ---------------------------------------------------------------- scalar-by-vector
    # table "Scalar-by-vector identities": ∂a/∂x = 0ᵀ / 0
    E(
        "sv-constant",
        "x : n; a : scalar; b : n",
        "∂(a + 0 b^T x)/∂x",
        "x",
        lambda v: v["a"] + 0 * v["b"].T @ v["x"],
        forms={"numerator": "0", "denominator": "0"},
        shapes={"numerator": ("1", "n"), "denominator": ("n", "1")},
        zero=True,
    ),
    # ∂(a·x)/∂x = ∂(aᵀx)/∂x = aᵀ / a
    E(
        "sv-aTx",
        "x : n; a : n",
        "∂(a^T x)/∂x",
        "x",
        lambda v: v["a"].T @ v["x"],
        forms={"numerator": "aᵀ", "denominator": "a"},
        shapes={"numerator": ("1", "n"), "denominator": ("n", "1")},
    ),
    # ∂(xᵀa)/∂x = aᵀ / a
    E(
        "sv-xTa",
        "x : n; a : n",
        "∂(x^T a)/∂x",
        "x",
        lambda v: v["x"].T @ v["a"],
        forms={"numerator": "aᵀ", "denominator": "a"},
    ),
    # ∂(bᵀAx)/∂x = bᵀA / Aᵀb
    E(
        "sv-bTAx",
        "x : n; A : m x n; b : m",
        "∂(b^T A x)/∂x",
        "x",
        lambda v: v["b"].T @ v["A"] @ v["x"],
        forms={"numerator": "bᵀ A", "denominator": "Aᵀ b"},
    ),
    # ∂(xᵀAx)/∂x = xᵀ(A + Aᵀ) / (A + Aᵀ)x
    E(
        "sv-xTAx",
        "x : n; A : n x n",
        "∂(x^T A x)/∂x",
        "x",
        lambda v: v["x"].T @ v["A"] @ v["x"],
        forms={"numerator": "xᵀ (A + Aᵀ)", "denominator": "(A + Aᵀ) x"},
        latex={"denominator": "\\left(A + A^{\\top}\\right) x"},
    ),
    # A symmetric: ∂(xᵀAx)/∂x = 2xᵀA / 2Ax
    E(
        "sv-xTAx-symmetric",
        "x : n; A : n x n, symmetric",
        "∂(x^T A x)/∂x",
        "x",
        lambda v: v["x"].T @ v["A"] @ v["x"],
        forms={"numerator": "2 xᵀ A", "denominator": "2 A x"},
    ),
    # ∂²(xᵀAx)/∂x∂xᵀ = A + Aᵀ
    E(
        "sv-hessian",
        "x : n; A : n x n",
        "∂²(x^T A x)/∂x²",
        "x",
        lambda v: v["x"].T @ v["A"] @ v["x"],
        kind="hessian",
        forms={"numerator": "A + Aᵀ", "denominator": "A + Aᵀ"},
        shapes={"shape": ("n", "n")},
    ),
    # A symmetric: ∂²(xᵀAx)/∂x∂xᵀ = 2A
    E(
        "sv-hessian-symmetric",
        "x : n; A : n x n, symmetric",
        "∂²(x^T A x)/∂x²",
        "x",
        lambda v: v["x"].T @ v["A"] @ v["x"],
        kind="hessian",
        forms={"shape": "2 A"},
    ),
    # ∂(xᵀx)/∂x = 2xᵀ / 2x
    E(
        "sv-xTx",
        "x : n",
        "∂(x^T x)/∂x",
        "x",
        lambda v: v["x"].T @ v["x"],
        forms={"numerator": "2 xᵀ", "denominator": "2 x"},
    ),
    # ∂(aᵀu)/∂x = aᵀ ∂u/∂x with u = A x (numerator) / (∂u/∂x)ᵀ a = Aᵀ a (denominator)
    E(
        "sv-aTu",
        "x : n; a : m; A : m x n",
        "∂(a^T (A x))/∂x",
        "x",
        lambda v: v["a"].T @ v["A"] @ v["x"],
        forms={"numerator": "aᵀ A", "denominator": "Aᵀ a"},
    ),
    # ∂(aᵀxxᵀb)/∂x = xᵀ(abᵀ + baᵀ) / (abᵀ + baᵀ)x
    E(
        "sv-aTxxTb",
        "x : n; a : n; b : n",
        "∂(a^T x x^T b)/∂x",
        "x",
        lambda v: v["a"].T @ v["x"] @ v["x"].T @ v["b"],
        forms={"numerator": "xᵀ (a bᵀ + b aᵀ)", "denominator": "(a bᵀ + b aᵀ) x"},
    ),
    # ∂((Ax + b)ᵀC(Dx + e))/∂x = (Dx + e)ᵀCᵀA + (Ax + b)ᵀCD / DᵀCᵀ(Ax + b) + AᵀC(Dx + e)
    E(
        "sv-affine-form",
        "x : n; A : m x n; b : m; C : m x p; D : p x n; e : p",
        "∂((A x + b)^T C (D x + e))/∂x",
        "x",
        lambda v: (v["A"] @ v["x"] + v["b"]).T @ v["C"] @ (v["D"] @ v["x"] + v["e"]),
        forms={
            "numerator": ("(D x + e)ᵀ Cᵀ A + (A x + b)ᵀ C D", "(A x + b)ᵀ C D + (D x + e)ᵀ Cᵀ A"),
            "denominator": ("Dᵀ Cᵀ (A x + b) + Aᵀ C (D x + e)", "Aᵀ C (D x + e) + Dᵀ Cᵀ (A x + b)"),
        },
    ),
    # ∂‖x − a‖/∂x = (x − a)ᵀ/‖x − a‖ / (x − a)/‖x − a‖
    E(
        "sv-norm",
        "x : n; a : n",
        "∂(‖x - a‖)/∂x",
        "x",
        lambda v: np.linalg.norm(v["x"] - v["a"]),
        forms={
            "numerator": ("(x - a)ᵀ/‖x - a‖", "(x - a)ᵀ / ‖x - a‖"),
            "denominator": ("(x - a)/‖x - a‖", "(x - a) / ‖x - a‖"),
        },
    ),
    # ---------------------------------------------------------------- vector-by-scalar
    # table "Vector-by-scalar identities" (numerator layout: a column; denominator: a row)
    # ∂(a u)/∂x = a ∂u/∂x with u = x b
    E(
        "vs-scalar-times-u",
        "t : scalar; a : scalar; b : n",
        "∂(a (t b))/∂t",
        "t",
        lambda v: v["a"] * v["t"] * v["b"],
        forms={"numerator": "a b", "denominator": "a bᵀ"},
        shapes={"numerator": ("n", "1"), "denominator": ("1", "n")},
    ),
    # ∂(A u)/∂x = A ∂u/∂x with u = t b
    E(
        "vs-A-times-u",
        "t : scalar; A : m x n; b : n",
        "∂(A (t b))/∂t",
        "t",
        lambda v: v["A"] @ (v["t"] * v["b"]),
        forms={"numerator": "A b", "denominator": "bᵀ Aᵀ"},
    ),
    # ∂uᵀ/∂x = (∂u/∂x)ᵀ with u = exp(t) b
    E(
        "vs-transpose",
        "t : scalar; b : n",
        "∂((exp(t) b)^T)/∂t",
        "t",
        lambda v: (np.exp(v["t"]) * v["b"]).T,
        forms={"numerator": "exp(t) bᵀ", "denominator": "exp(t) b"},
    ),
    # ∂(u + v)/∂x with u = t a, v = t² b
    E(
        "vs-sum",
        "t : scalar; a : n; b : n",
        "∂(t a + t^2 b)/∂t",
        "t",
        lambda v: v["t"] * v["a"] + v["t"] ** 2 * v["b"],
        forms={"numerator": "a + 2 t b"},
    ),
    # matrix-by-scalar (same section): ∂(t A)/∂t = A
    E(
        "ms-scalar-multiple",
        "t : scalar; A : m x n",
        "∂(t A)/∂t",
        "t",
        lambda v: v["t"] * v["A"],
        forms={"numerator": "A", "denominator": "Aᵀ"},
        shapes={"numerator": ("m", "n"), "denominator": ("n", "m")},
    ),
    # ---------------------------------------------------------------- scalar-by-matrix
    # table "Scalar-by-matrix identities"
    # ∂tr(X)/∂X = I
    E(
        "sm-trace",
        "X : n x n",
        "∂(tr(X))/∂X",
        "X",
        lambda v: np.trace(v["X"]),
        forms={"numerator": "I", "denominator": "I"},
    ),
    # ∂tr(AX)/∂X = A / Aᵀ
    E(
        "sm-tr-AX",
        "X : n x m; A : m x n",
        "∂(tr(A X))/∂X",
        "X",
        lambda v: np.trace(v["A"] @ v["X"]),
        forms={"numerator": "A", "denominator": "Aᵀ"},
        shapes={"numerator": ("m", "n"), "denominator": ("n", "m")},
    ),
    # ∂tr(XA)/∂X = A / Aᵀ
    E(
        "sm-tr-XA",
        "X : n x m; A : m x n",
        "∂(tr(X A))/∂X",
        "X",
        lambda v: np.trace(v["X"] @ v["A"]),
        forms={"numerator": "A", "denominator": "Aᵀ"},
    ),
    # ∂tr(XᵀA)/∂X = Aᵀ / A
    E(
        "sm-tr-XTA",
        "X : m x n; A : m x n",
        "∂(tr(X^T A))/∂X",
        "X",
        lambda v: np.trace(v["X"].T @ v["A"]),
        forms={"numerator": "Aᵀ", "denominator": "A"},
    ),
    # ∂tr(AXᵀ)/∂X = Aᵀ / A
    E(
        "sm-tr-AXT",
        "X : m x n; A : m x n",
        "∂(tr(A X^T))/∂X",
        "X",
        lambda v: np.trace(v["A"] @ v["X"].T),
        forms={"numerator": "Aᵀ", "denominator": "A"},
    ),
    # ∂tr(AXB)/∂X = BA / AᵀBᵀ
    E(
        "sm-tr-AXB",
        "X : m x n; A : k x m; B : n x k",
        "∂(tr(A X B))/∂X",
        "X",
        lambda v: np.trace(v["A"] @ v["X"] @ v["B"]),
        forms={"numerator": "B A", "denominator": "Aᵀ Bᵀ"},
    ),
    # ∂tr(AXᵀB)/∂X = AᵀBᵀ / BA
    E(
        "sm-tr-AXTB",
        "X : m x n; A : k x n; B : m x k",
        "∂(tr(A X^T B))/∂X",
        "X",
        lambda v: np.trace(v["A"] @ v["X"].T @ v["B"]),
        forms={"numerator": "Aᵀ Bᵀ", "denominator": "B A"},
    ),
    # ∂tr(XAXᵀ)/∂X = (A + Aᵀ)Xᵀ / X(A + Aᵀ)
    E(
        "sm-tr-XAXT",
        "X : m x n; A : n x n",
        "∂(tr(X A X^T))/∂X",
        "X",
        lambda v: np.trace(v["X"] @ v["A"] @ v["X"].T),
        forms={"numerator": "(A + Aᵀ) Xᵀ", "denominator": "X (A + Aᵀ)"},
    ),
    # ∂tr(X⁻¹A)/∂X = −X⁻¹AX⁻¹ / −X⁻ᵀAᵀX⁻ᵀ
    E(
        "sm-tr-XinvA",
        "X : n x n, invertible; A : n x n",
        "∂(tr(X^{-1} A))/∂X",
        "X",
        lambda v: np.trace(inv(v["X"]) @ v["A"]),
        forms={"numerator": "-X⁻¹ A X⁻¹", "denominator": "-X⁻ᵀ Aᵀ X⁻ᵀ"},
    ),
    # ∂tr(AXBX)/∂X = BXA + AXB / AᵀXᵀBᵀ + BᵀXᵀAᵀ
    E(
        "sm-tr-AXBX",
        "X : n x n; A : n x n; B : n x n",
        "∂(tr(A X B X))/∂X",
        "X",
        lambda v: np.trace(v["A"] @ v["X"] @ v["B"] @ v["X"]),
        forms={
            "numerator": ("B X A + A X B", "A X B + B X A"),
            "denominator": ("Aᵀ Xᵀ Bᵀ + Bᵀ Xᵀ Aᵀ", "Bᵀ Xᵀ Aᵀ + Aᵀ Xᵀ Bᵀ"),
        },
    ),
    # ∂tr(AXBXᵀC)/∂X = BXᵀCA + BᵀXᵀAᵀCᵀ / AᵀCᵀXBᵀ + CAXB
    E(
        "sm-tr-AXBXTC",
        "X : m x n; A : k x m; B : n x n; C : m x k",
        "∂(tr(A X B X^T C))/∂X",
        "X",
        lambda v: np.trace(v["A"] @ v["X"] @ v["B"] @ v["X"].T @ v["C"]),
        forms={
            "numerator": ("B Xᵀ C A + Bᵀ Xᵀ Aᵀ Cᵀ", "Bᵀ Xᵀ Aᵀ Cᵀ + B Xᵀ C A"),
            "denominator": ("Aᵀ Cᵀ X Bᵀ + C A X B", "C A X B + Aᵀ Cᵀ X Bᵀ"),
        },
    ),
    # ∂tr(Xⁿ)/∂X = n Xⁿ⁻¹ / n (Xⁿ⁻¹)ᵀ
    E(
        "sm-tr-Xn",
        "X : n x n",
        "∂(tr(X^3))/∂X",
        "X",
        lambda v: np.trace(v["X"] @ v["X"] @ v["X"]),
        forms={"numerator": "3 X²", "denominator": "3 (X²)ᵀ"},
    ),
    # ∂|X|/∂X = |X| X⁻¹ / |X| (X⁻¹)ᵀ
    E(
        "sm-det",
        "X : n x n",
        "∂(det(X))/∂X",
        "X",
        lambda v: det(v["X"]),
        forms={"numerator": "det(X) X⁻¹", "denominator": "det(X) X⁻ᵀ"},
        latex={"denominator": "\\det\\left(X\\right) X^{-\\top}"},
    ),
    # ∂ln|aX|/∂X = X⁻¹ / (X⁻¹)ᵀ
    E(
        "sm-log-det-aX",
        "X : n x n, invertible; a : scalar, positive",
        "∂(log det(a X))/∂X",
        "X",
        lambda v: np.log(det(v["a"] * v["X"])),
        forms={"numerator": "X⁻¹", "denominator": "X⁻ᵀ"},
    ),
    # ∂|AXB|/∂X = |AXB| X⁻¹ / |AXB| (X⁻¹)ᵀ (A, B square)
    E(
        "sm-det-AXB",
        "X : n x n; A : n x n; B : n x n",
        "∂(det(A X B))/∂X",
        "X",
        lambda v: det(v["A"] @ v["X"] @ v["B"]),
        forms={"numerator": "det(A X B) X⁻¹", "denominator": "det(A X B) X⁻ᵀ"},
    ),
    # ∂(aᵀXb)/∂X = baᵀ / abᵀ
    E(
        "sm-aTXb",
        "X : m x n; a : m; b : n",
        "∂(a^T X b)/∂X",
        "X",
        lambda v: v["a"].T @ v["X"] @ v["b"],
        forms={"numerator": "b aᵀ", "denominator": "a bᵀ"},
        latex={"denominator": "a b^{\\top}"},
    ),
    # ∂(aᵀXᵀb)/∂X = abᵀ / baᵀ
    E(
        "sm-aTXTb",
        "X : m x n; a : n; b : m",
        "∂(a^T X^T b)/∂X",
        "X",
        lambda v: v["a"].T @ v["X"].T @ v["b"],
        forms={"numerator": "a bᵀ", "denominator": "b aᵀ"},
    ),
    # ∂(aᵀ X⁻¹ b)... not in this table; ∂(u v)/∂X with u = tr(X), v = aᵀXb (product rule)
    E(
        "sm-product-rule",
        "X : n x n; a : n; b : n",
        "∂(tr(X) (a^T X b))/∂X",
        "X",
        lambda v: np.trace(v["X"]) * (v["a"].T @ v["X"] @ v["b"]),
        forms={"denominator": ("(aᵀ X b) I + tr(X) a bᵀ", "tr(X) a bᵀ + (aᵀ X b) I")},
    ),
]
