"""The Matrix Cookbook (K. B. Petersen, M. S. Pedersen, version of November 15,
2012), chapter 2 "Derivatives": determinants (2.1.2), inverses (2.2), first,
second and higher order (2.4), traces (2.5) and norms (2.6).  Equation
numbers are the Cookbook's.  The Cookbook's convention is the denominator
layout (∂f/∂X has the shape of X); the forms below are the shape layout.
"""

from __future__ import annotations

import numpy as np

from . import Entry

S = "Cookbook"
inv = np.linalg.inv
det = np.linalg.det


def E(id, cell, request, wrt, f, **kw):
    return Entry(S, id, f"{cell}\n{request}", request, wrt, f, **kw)


ENTRIES = [
    # ---------------------------------------------------------------- 2.1.2 determinants
    # (49) ∂det(X)/∂X = det(X) (X⁻¹)ᵀ
    E("49-det", "X : n x n", "∂(det(X))/∂X", "X", lambda v: det(v["X"]), forms={"shape": "det(X) X⁻ᵀ"}),
    # (51) ∂det(AXB)/∂X = det(AXB) (X⁻¹)ᵀ
    E(
        "51-det-AXB",
        "X : n x n; A : n x n; B : n x n",
        "∂(det(A X B))/∂X",
        "X",
        lambda v: det(v["A"] @ v["X"] @ v["B"]),
        forms={"shape": "det(A X B) X⁻ᵀ"},
    ),
    # (53) ∂ln det(XᵀX)/∂X = 2 (X⁺)ᵀ = 2 X (XᵀX)⁻¹ for X of full column rank
    E(
        "53-logdet-XTX",
        "X : n + k x n",
        "∂(log det(X^T X))/∂X",
        "X",
        lambda v: np.log(det(v["X"].T @ v["X"])),
        forms={"shape": "2 X (Xᵀ X)⁻¹"},
    ),
    # (55) ∂det(XᵀAX)/∂X = 2 det(XᵀAX) A X (XᵀAX)⁻¹, A symmetric
    E(
        "55-det-XTAX",
        "X : n + k x n; A : n + k x n + k, spd",
        "∂(det(X^T A X))/∂X",
        "X",
        lambda v: det(v["X"].T @ v["A"] @ v["X"]),
        forms={"shape": "2 det(Xᵀ A X) A X (Xᵀ A X)⁻¹"},
    ),
    # (57) ∂ln|det(X)|/∂X = (X⁻¹)ᵀ
    E(
        "57-logdet",
        "X : n x n, invertible",
        "∂(log det(X))/∂X",
        "X",
        lambda v: np.log(det(v["X"])),
        forms={"shape": "X⁻ᵀ"},
    ),
    # (57) with the symmetric positive definite X every covariance is: X⁻¹
    E(
        "57-logdet-spd",
        "Σ : n x n, spd",
        "∂(logdet(Σ))/∂Σ",
        "Σ",
        lambda v: np.linalg.slogdet(v["Σ"])[1],
        forms={"shape": "Σ⁻¹"},
    ),
    # (59) ∂det(Xᵏ)/∂X = k det(Xᵏ) X⁻ᵀ
    E(
        "59-det-Xk",
        "X : n x n, invertible",
        "∂(det(X^2))/∂X",
        "X",
        lambda v: det(v["X"] @ v["X"]),
        forms={"shape": "2 det(X²) X⁻ᵀ"},
    ),
    # ---------------------------------------------------------------- 2.2 inverses
    # (60) ∂(X⁻¹)_kl/∂X_ij = −(X⁻¹)_ki (X⁻¹)_jl: a 4-index tensor (indices i j k l of the view)
    E(
        "60-inverse-tensor",
        "X : n x n, invertible",
        "∂(X^{-1})/∂X",
        "X",
        lambda v: inv(v["X"]),
        kind="tensor",
        forms={"index": "-(X⁻¹)[i,k] (X⁻¹)[l,j]", "vec": "-X⁻ᵀ ⊗ X⁻¹"},
        shapes={"index": ("n", "n", "n", "n"), "vec": ("n²", "n²")},
    ),
    # (61) ∂aᵀX⁻¹b/∂X = −X⁻ᵀ a bᵀ X⁻ᵀ
    E(
        "61-aTXinvb",
        "X : n x n, invertible; a : n; b : n",
        "∂(a^T X^{-1} b)/∂X",
        "X",
        lambda v: v["a"].T @ inv(v["X"]) @ v["b"],
        forms={"shape": "-X⁻ᵀ a bᵀ X⁻ᵀ"},
    ),
    # (62) ∂det(X⁻¹)/∂X = −det(X⁻¹) (X⁻¹)ᵀ
    E(
        "62-det-inverse",
        "X : n x n, invertible",
        "∂(det(X^{-1}))/∂X",
        "X",
        lambda v: det(inv(v["X"])),
        forms={"shape": ("-det(X⁻¹) X⁻ᵀ", "-(1/det(X)) X⁻ᵀ", "-X⁻ᵀ / det(X)")},
    ),
    # (63) ∂Tr(AX⁻¹B)/∂X = −(X⁻¹BAX⁻¹)ᵀ = −X⁻ᵀAᵀBᵀX⁻ᵀ
    E(
        "63-tr-AXinvB",
        "X : n x n, invertible; A : m x n; B : n x m",
        "∂(tr(A X^{-1} B))/∂X",
        "X",
        lambda v: np.trace(v["A"] @ inv(v["X"]) @ v["B"]),
        forms={"shape": ("-X⁻ᵀ Aᵀ Bᵀ X⁻ᵀ", "-(X⁻¹ B A X⁻¹)ᵀ")},
    ),
    # (64) ∂Tr((X + A)⁻¹)/∂X = −((X + A)⁻¹(X + A)⁻¹)ᵀ
    E(
        "64-tr-inverse-sum",
        "X : n x n; A : n x n, spd",
        "∂(tr((X + A)^{-1}))/∂X",
        "X",
        lambda v: np.trace(inv(v["X"] + v["A"])),
        forms={"shape": ("-((X + A)⁻¹ (X + A)⁻¹)ᵀ", "-(X + A)⁻ᵀ (X + A)⁻ᵀ")},
        fixed=lambda values, sizes: {"X": values["X"] + 3 * np.eye(len(values["X"]))},
    ),
    # ---------------------------------------------------------------- 2.4.1 first order
    # (69) ∂xᵀa/∂x = ∂aᵀx/∂x = a
    E("69-xTa", "x : n; a : n", "∂(x^T a)/∂x", "x", lambda v: v["x"].T @ v["a"], forms={"shape": "a"}),
    # (70) ∂aᵀXb/∂X = a bᵀ
    E(
        "70-aTXb",
        "X : m x n; a : m; b : n",
        "∂(a^T X b)/∂X",
        "X",
        lambda v: v["a"].T @ v["X"] @ v["b"],
        forms={"shape": "a bᵀ"},
    ),
    # (71) ∂aᵀXᵀb/∂X = b aᵀ
    E(
        "71-aTXTb",
        "X : m x n; a : n; b : m",
        "∂(a^T X^T b)/∂X",
        "X",
        lambda v: v["a"].T @ v["X"].T @ v["b"],
        forms={"shape": "b aᵀ"},
    ),
    # (72) ∂aᵀXa/∂X = ∂aᵀXᵀa/∂X = a aᵀ
    E(
        "72-aTXa",
        "X : n x n; a : n",
        "∂(a^T X a)/∂X",
        "X",
        lambda v: v["a"].T @ v["X"] @ v["a"],
        forms={"shape": "a aᵀ"},
    ),
    E(
        "72-aTXTa",
        "X : n x n; a : n",
        "∂(a^T X^T a)/∂X",
        "X",
        lambda v: v["a"].T @ v["X"].T @ v["a"],
        forms={"shape": "a aᵀ"},
    ),
    # (74) ∂(XA)_ij/∂X_mn = δ_im A_nj: a tensor; vec form Aᵀ ⊗ I
    E(
        "74-XA-tensor",
        "X : m x n; A : n x p",
        "∂(X A)/∂X",
        "X",
        lambda v: v["X"] @ v["A"],
        kind="tensor",
        forms={"index": "δ[i,k] A[l,j]", "vec": "Aᵀ ⊗ I"},
    ),
    # (75) ∂(XᵀA)_ij/∂X_mn = δ_in A_mj
    E(
        "75-XTA-tensor",
        "X : m x n; A : m x p",
        "∂(X^T A)/∂X",
        "X",
        lambda v: v["X"].T @ v["A"],
        kind="tensor",
        forms={"index": "δ[i,l] A[k,j]"},
    ),
    # ---------------------------------------------------------------- 2.4.2 second order
    # (77) ∂bᵀXᵀXc/∂X = X(bcᵀ + cbᵀ)
    E(
        "77-bTXTXc",
        "X : m x n; b : n; c : n",
        "∂(b^T X^T X c)/∂X",
        "X",
        lambda v: v["b"].T @ v["X"].T @ v["X"] @ v["c"],
        forms={"shape": "X (b cᵀ + c bᵀ)"},
    ),
    # (78) ∂(Bx + b)ᵀC(Dx + d)/∂x = BᵀC(Dx + d) + DᵀCᵀ(Bx + b)
    E(
        "78-affine-form",
        "x : n; B : m x n; b : m; C : m x p; D : p x n; d : p",
        "∂((B x + b)^T C (D x + d))/∂x",
        "x",
        lambda v: (v["B"] @ v["x"] + v["b"]).T @ v["C"] @ (v["D"] @ v["x"] + v["d"]),
        forms={"shape": ("Bᵀ C (D x + d) + Dᵀ Cᵀ (B x + b)", "Dᵀ Cᵀ (B x + b) + Bᵀ C (D x + d)")},
    ),
    # (81) ∂xᵀBx/∂x = (B + Bᵀ)x
    E(
        "81-xTBx",
        "x : n; B : n x n",
        "∂(x^T B x)/∂x",
        "x",
        lambda v: v["x"].T @ v["B"] @ v["x"],
        forms={"shape": "(B + Bᵀ) x"},
    ),
    # (82) ∂bᵀXᵀDXc/∂X = DᵀXbcᵀ + DXcbᵀ
    E(
        "82-bTXTDXc",
        "X : m x n; D : m x m; b : n; c : n",
        "∂(b^T X^T D X c)/∂X",
        "X",
        lambda v: v["b"].T @ v["X"].T @ v["D"] @ v["X"] @ v["c"],
        forms={"shape": ("Dᵀ X b cᵀ + D X c bᵀ", "D X c bᵀ + Dᵀ X b cᵀ")},
    ),
    # (83) ∂(Xb + c)ᵀD(Xb + c)/∂X = (D + Dᵀ)(Xb + c)bᵀ
    E(
        "83-affine-quadratic",
        "X : m x n; D : m x m; b : n; c : m",
        "∂((X b + c)^T D (X b + c))/∂X",
        "X",
        lambda v: (v["X"] @ v["b"] + v["c"]).T @ v["D"] @ (v["X"] @ v["b"] + v["c"]),
        forms={"shape": "(D + Dᵀ) (X b + c) bᵀ"},
    ),
    # (86) ∂(x − As)ᵀW(x − As)/∂s = −2AᵀW(x − As), W symmetric
    E(
        "86-weighted-ls-s",
        "x : m; A : m x n; s : n; W : m x m, symmetric",
        "∂((x - A s)^T W (x - A s))/∂s",
        "s",
        lambda v: (v["x"] - v["A"] @ v["s"]).T @ v["W"] @ (v["x"] - v["A"] @ v["s"]),
        forms={"shape": "-2 Aᵀ W (x - A s)"},
    ),
    # (87) ∂(x − s)ᵀW(x − s)/∂x = 2W(x − s), W symmetric
    E(
        "87-weighted-x",
        "x : n; s : n; W : n x n, symmetric",
        "∂((x - s)^T W (x - s))/∂x",
        "x",
        lambda v: (v["x"] - v["s"]).T @ v["W"] @ (v["x"] - v["s"]),
        forms={"shape": "2 W (x - s)"},
    ),
    # (88) ∂(x − s)ᵀW(x − s)/∂s = −2W(x − s)
    E(
        "88-weighted-s",
        "x : n; s : n; W : n x n, symmetric",
        "∂((x - s)^T W (x - s))/∂s",
        "s",
        lambda v: (v["x"] - v["s"]).T @ v["W"] @ (v["x"] - v["s"]),
        forms={"shape": "-2 W (x - s)"},
    ),
    # (90) ∂(x − As)ᵀW(x − As)/∂A = −2W(x − As)sᵀ
    E(
        "90-weighted-A",
        "x : m; A : m x n; s : n; W : m x m, symmetric",
        "∂((x - A s)^T W (x - A s))/∂A",
        "A",
        lambda v: (v["x"] - v["A"] @ v["s"]).T @ v["W"] @ (v["x"] - v["A"] @ v["s"]),
        forms={"shape": "-2 W (x - A s) sᵀ"},
    ),
    # ---------------------------------------------------------------- 2.4.3 higher order
    # (91) ∂aᵀXⁿb/∂X = Σ_r (Xʳ)ᵀ a bᵀ (X^{n−1−r})ᵀ, n = 2
    E(
        "91-aTX2b",
        "X : n x n; a : n; b : n",
        "∂(a^T X^2 b)/∂X",
        "X",
        lambda v: v["a"].T @ v["X"] @ v["X"] @ v["b"],
        forms={"shape": ("a bᵀ Xᵀ + Xᵀ a bᵀ", "Xᵀ a bᵀ + a bᵀ Xᵀ")},
    ),
    # ---------------------------------------------------------------- 2.5 traces
    # (99) ∂Tr(X)/∂X = I
    E("99-trace", "X : n x n", "∂(tr(X))/∂X", "X", lambda v: np.trace(v["X"]), forms={"shape": "I"}),
    # (100) ∂Tr(XA)/∂X = Aᵀ
    E(
        "100-tr-XA",
        "X : m x n; A : n x m",
        "∂(tr(X A))/∂X",
        "X",
        lambda v: np.trace(v["X"] @ v["A"]),
        forms={"shape": "Aᵀ"},
    ),
    # (101) ∂Tr(AXB)/∂X = AᵀBᵀ
    E(
        "101-tr-AXB",
        "X : m x n; A : k x m; B : n x k",
        "∂(tr(A X B))/∂X",
        "X",
        lambda v: np.trace(v["A"] @ v["X"] @ v["B"]),
        forms={"shape": "Aᵀ Bᵀ"},
    ),
    # (102) ∂Tr(AXᵀB)/∂X = BA
    E(
        "102-tr-AXTB",
        "X : m x n; A : k x n; B : m x k",
        "∂(tr(A X^T B))/∂X",
        "X",
        lambda v: np.trace(v["A"] @ v["X"].T @ v["B"]),
        forms={"shape": "B A"},
    ),
    # (105) ∂Tr(A ⊗ X)/∂X = Tr(A) I
    E(
        "105-tr-kron",
        "X : n x n; A : m x m",
        "∂(tr(A ⊗ X))/∂X",
        "X",
        lambda v: np.trace(np.kron(v["A"], v["X"])),
        forms={"shape": "tr(A) I"},
    ),
    # (106) ∂Tr(X²)/∂X = 2Xᵀ
    E("106-tr-X2", "X : n x n", "∂(tr(X^2))/∂X", "X", lambda v: np.trace(v["X"] @ v["X"]), forms={"shape": "2 Xᵀ"}),
    # (107) ∂Tr(X²B)/∂X = (XB + BX)ᵀ
    E(
        "107-tr-X2B",
        "X : n x n; B : n x n",
        "∂(tr(X^2 B))/∂X",
        "X",
        lambda v: np.trace(v["X"] @ v["X"] @ v["B"]),
        forms={"shape": ("(X B + B X)ᵀ", "Bᵀ Xᵀ + Xᵀ Bᵀ", "Xᵀ Bᵀ + Bᵀ Xᵀ")},
    ),
    # (108) ∂Tr(XᵀBX)/∂X = BX + BᵀX
    E(
        "108-tr-XTBX",
        "X : m x n; B : m x m",
        "∂(tr(X^T B X))/∂X",
        "X",
        lambda v: np.trace(v["X"].T @ v["B"] @ v["X"]),
        forms={"shape": ("B X + Bᵀ X", "(B + Bᵀ) X")},
    ),
    # (111) ∂Tr(XBXᵀ)/∂X = XBᵀ + XB
    E(
        "111-tr-XBXT",
        "X : m x n; B : n x n",
        "∂(tr(X B X^T))/∂X",
        "X",
        lambda v: np.trace(v["X"] @ v["B"] @ v["X"].T),
        forms={"shape": ("X Bᵀ + X B", "X (B + Bᵀ)")},
    ),
    # (114) ∂Tr(AXBX)/∂X = AᵀXᵀBᵀ + BᵀXᵀAᵀ
    E(
        "114-tr-AXBX",
        "X : n x n; A : n x n; B : n x n",
        "∂(tr(A X B X))/∂X",
        "X",
        lambda v: np.trace(v["A"] @ v["X"] @ v["B"] @ v["X"]),
        forms={"shape": ("Aᵀ Xᵀ Bᵀ + Bᵀ Xᵀ Aᵀ", "Bᵀ Xᵀ Aᵀ + Aᵀ Xᵀ Bᵀ")},
    ),
    # (115) ∂Tr(XᵀX)/∂X = ∂Tr(XXᵀ)/∂X = 2X
    E("115-tr-XTX", "X : m x n", "∂(tr(X^T X))/∂X", "X", lambda v: np.trace(v["X"].T @ v["X"]), forms={"shape": "2 X"}),
    E("115-tr-XXT", "X : m x n", "∂(tr(X X^T))/∂X", "X", lambda v: np.trace(v["X"] @ v["X"].T), forms={"shape": "2 X"}),
    # (116) ∂Tr(BᵀXᵀCXB)/∂X = CᵀXBBᵀ + CXBBᵀ
    E(
        "116-tr-BTXTCXB",
        "X : m x n; B : n x k; C : m x m",
        "∂(tr(B^T X^T C X B))/∂X",
        "X",
        lambda v: np.trace(v["B"].T @ v["X"].T @ v["C"] @ v["X"] @ v["B"]),
        forms={"shape": ("Cᵀ X B Bᵀ + C X B Bᵀ", "(C + Cᵀ) X B Bᵀ")},
    ),
    # (117) ∂Tr(XᵀBXC)/∂X = BXC + BᵀXCᵀ
    E(
        "117-tr-XTBXC",
        "X : m x n; B : m x m; C : n x n",
        "∂(tr(X^T B X C))/∂X",
        "X",
        lambda v: np.trace(v["X"].T @ v["B"] @ v["X"] @ v["C"]),
        forms={"shape": ("B X C + Bᵀ X Cᵀ", "Bᵀ X Cᵀ + B X C")},
    ),
    # (118) ∂Tr(AXBXᵀC)/∂X = AᵀCᵀXBᵀ + CAXB
    E(
        "118-tr-AXBXTC",
        "X : m x n; A : k x m; B : n x n; C : m x k",
        "∂(tr(A X B X^T C))/∂X",
        "X",
        lambda v: np.trace(v["A"] @ v["X"] @ v["B"] @ v["X"].T @ v["C"]),
        forms={"shape": ("Aᵀ Cᵀ X Bᵀ + C A X B", "C A X B + Aᵀ Cᵀ X Bᵀ")},
    ),
    # (119) ∂Tr[(AXB + C)(AXB + C)ᵀ]/∂X = 2Aᵀ(AXB + C)Bᵀ
    E(
        "119-tr-square",
        "X : m x n; A : k x m; B : n x p; C : k x p",
        "∂(tr((A X B + C) (A X B + C)^T))/∂X",
        "X",
        lambda v: np.trace((v["A"] @ v["X"] @ v["B"] + v["C"]) @ (v["A"] @ v["X"] @ v["B"] + v["C"]).T),
        forms={"shape": "2 Aᵀ (A X B + C) Bᵀ"},
    ),
    # (121) ∂Tr(Xᵏ)/∂X = k (Xᵏ⁻¹)ᵀ
    E(
        "121-tr-Xk",
        "X : n x n",
        "∂(tr(X^4))/∂X",
        "X",
        lambda v: np.trace(np.linalg.matrix_power(v["X"], 4)),
        forms={"shape": "4 (X³)ᵀ"},
    ),
    # (124) ∂Tr(AX⁻¹B)/∂X = −X⁻ᵀAᵀBᵀX⁻ᵀ
    E(
        "124-tr-AXinvB",
        "X : n x n, invertible; A : n x n; B : n x n",
        "∂(tr(A X^{-1} B))/∂X",
        "X",
        lambda v: np.trace(v["A"] @ inv(v["X"]) @ v["B"]),
        forms={"shape": "-X⁻ᵀ Aᵀ Bᵀ X⁻ᵀ"},
    ),
    # ---------------------------------------------------------------- 2.6 norms
    # (129) ∂‖x − a‖₂/∂x = (x − a)/‖x − a‖₂
    E(
        "129-norm",
        "x : n; a : n",
        "∂(‖x - a‖)/∂x",
        "x",
        lambda v: np.linalg.norm(v["x"] - v["a"]),
        forms={"shape": ("(x - a)/‖x - a‖", "(x - a) / ‖x - a‖")},
    ),
    # (131) ∂‖x‖²₂/∂x = 2x
    E("131-norm-squared", "x : n", "∂(‖x‖²)/∂x", "x", lambda v: np.sum(v["x"] ** 2), forms={"shape": "2 x"}),
    # (132) ∂‖X‖²_F/∂X = 2X
    E("132-frobenius", "X : m x n", "∂(‖X‖_F^2)/∂X", "X", lambda v: np.sum(v["X"] ** 2), forms={"shape": "2 X"}),
]
