"""Derivatives by a symmetric matrix, taken within symmetric matrices.

A variable declared ``symmetric`` (or ``spd``) only moves in symmetric
directions, so its derivative is a linear map on symmetric matrices.  Many
matrices represent that map; the one printed is the one that also vanishes on
antisymmetric directions, i.e. the derivative of ``f(sym X)`` with
``sym X = (X + Xᵀ)/2``:

* a gradient ``G`` becomes ``sym(G) = (G + Gᵀ)/2``: ``G`` itself when it is
  already symmetric (the Gaussian likelihood's ``(1/2) Σ⁻¹ y yᵀ Σ⁻¹ −
  (1/2) Σ⁻¹``), ``(1/2) (a bᵀ + b aᵀ)`` for ``aᵀ S b``;
* the vec matrix ``K`` of a Jacobian becomes ``K N`` and a Hessian ``H``
  becomes ``N H N``, with ``N = (I + K_nn)/2`` (Magnus–Neudecker's ``N_n``,
  the vec form of ``sym``).

Each agrees with the unconstrained derivative along every symmetric
direction, which is what the numeric check compares; that is also why
``Sᵀ = S`` may be used while expressions are built.  The Matrix Cookbook's
``2G − diag(G)`` is something else: the derivative by the n(n+1)/2
independent entries (Srinivasan & Panda, "What is the gradient of a scalar
function of a symmetric matrix?", arXiv:1911.06491).
"""

from __future__ import annotations

import sympy

from ..graph import Expr, eye, substitute, var_props
from ..ops import build as B
from ..ops.algebra import split_coefficient
from ..ops.properties import SYMMETRIC_PROPS, are_transposes, is_symmetric
from ..shapes import same

HALF = sympy.Rational(1, 2)


def is_symmetric_variable(v: Expr) -> bool:
    """A square matrix variable declared symmetric (or spd, psd)."""
    return (v.op == "var" and not v.is_scalar and same(v.shape[0], v.shape[1])
            and bool(var_props(v) & SYMMETRIC_PROPS))


def symmetric_part(g: Expr) -> Expr:
    """sym(G) = (G + Gᵀ)/2, written term by term: terms that are symmetric, or
    whose transpose is another term, stay as they are; the others ``t`` become
    ``(t + tᵀ)/2``, with a coefficient they share taken out."""
    if is_symmetric(g):
        return g
    terms = list(g.args) if g.op == "add" else [g]
    kept = [t for t in terms if is_symmetric(t) or any(are_transposes(t, u) for u in terms)]
    lone = [split_coefficient(t) for t in terms if not any(t is k for k in kept)]
    shared = lone[0][0] if all(c == lone[0][0] for c, _ in lone) else sympy.Integer(1)
    pairs = [B.smul(c / shared, B.add(x, B.transpose(x))) for c, x in lone]
    return B.add(*kept, B.smul(shared * HALF, B.add(*pairs)))


def symmetric_direction(dx: Expr) -> Expr:
    """sym(dX): the direction a symmetric variable actually moves in."""
    return B.smul(HALF, B.add(dx, B.transpose(dx)))


def along_symmetric(linear: Expr, dx: Expr) -> Expr:
    """A differential ``L(dX)`` restricted to symmetric directions: ``L(sym dX)``."""
    return substitute(linear, {dx: symmetric_direction(dx)})


def n_matrix(n) -> Expr:
    """N = (I + K_nn)/2, with ``vec(sym X) = N vec X``."""
    return B.smul(HALF, B.add(eye(sympy.expand(n * n)), B.commutation(n, n)))


def project_vec(k: Expr, n, hessian: bool) -> Expr:
    """``K N`` for a Jacobian's vec matrix, ``N H N`` for a Hessian; a Hessian
    that commutes with K_nn (``S⁻¹ ⊗ S⁻¹``, ``A ⊗ I + I ⊗ A``) needs one N."""
    half = n_matrix(n)
    if hessian and _swapped(k) is not k:
        return B.matmul(half, k, half)
    return B.matmul(k, half)


def _swapped(k: Expr) -> Expr | None:
    """K_nn k K_nn read off the structure (A ⊗ B → B ⊗ A), or None."""
    if k.op in ("eye", "commutation"):
        return k
    if k.op == "kron":
        a, b = k.args
        return B.kron(b, a) if same(a.shape[0], b.shape[0]) and same(a.shape[1], b.shape[1]) else None
    if k.op in ("add", "smul"):
        parts = [a if k.op == "smul" and i == 0 else _swapped(a) for i, a in enumerate(k.args)]
        return None if any(p is None for p in parts) else (B.add(*parts) if k.op == "add" else B.smul(*parts))
    return None


def convention_note(kind: str, name: str, name_latex: str, fmt: str = "text") -> str:
    """The one line shown under a derivative by the symmetric matrix ``name``."""
    if fmt == "latex":
        what = ("\\text{ is symmetric: the gradient within symmetric matrices, }"
                "\\operatorname{sym}(G) = \\tfrac{1}{2}(G + G^{\\top})" if kind == "gradient" else
                "\\text{ is symmetric: the derivative within symmetric matrices, that of }"
                f"f\\big(\\tfrac{{1}}{{2}}({name_latex} + {name_latex}^{{\\top}})\\big)")
        return name_latex + what
    if kind == "gradient":
        return f"{name} is symmetric: the gradient within symmetric matrices, sym(G) = (G + Gᵀ)/2"
    return f"{name} is symmetric: the derivative within symmetric matrices, that of f(({name} + {name}ᵀ)/2)"
