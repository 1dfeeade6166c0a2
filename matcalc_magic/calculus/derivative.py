"""A derivative, computed once and without a layout.

The differential ``dY = L(dX)`` is the layout-free object.  From it:

* a scalar ``Y`` gives the gradient ``G`` (``dY = ⟨G, dX⟩``, the trace
  trick, see :mod:`.adjoint`), in ``X``'s shape;
* a scalar ``X`` gives ``L(1)``, in ``Y``'s shape;
* anything else gives ``K = ∂ vec Y / ∂ (vec X)ᵀ`` (:mod:`.vectorize`),
  which for two vectors is the Jacobian itself;
* a Hessian is the ``K`` of the gradient;
* a Hessian-vector product ``∇²J · v`` is the differential of the gradient
  in the direction ``v``, in ``X``'s shape: the Hessian is never formed.

By a symmetric matrix every one of these is taken within symmetric matrices
(:mod:`.symmetric`).  Declared facts (``𝟏ᵀy = 1``) are used on the results
only (:mod:`.constraints`).

Layouts (:mod:`matcalc_magic.layouts`) only arrange these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..graph import Expr, const, substitute
from ..ops.registry import MissingRule
from ..shapes import ONE
from .adjoint import adjoint
from .constraints import use_facts
from .differentiate import differential, tangent_of
from .refold import fold_scaled_definitions, fold_softmax
from .symmetric import along_symmetric, is_symmetric_variable, project_vec, symmetric_part
from .tidy import tidy
from .vectorize import vec_jacobian

KINDS = ("gradient", "jacobian", "hessian", "hvp", "tensor")


def is_vector_shape(shape) -> bool:
    return shape[0] == ONE or shape[1] == ONE


@dataclass
class Derivative:
    of: Expr
    wrt: Expr
    order: int
    kind: str
    dx: Expr
    differential: Expr
    gradient: Expr | None = None  # in wrt's shape (scalar `of`)
    matrix: Expr | None = None  # the kind's canonical matrix (see module doc)
    matrix_error: str | None = None  # why there is no matrix form, if none
    within_symmetric: bool = False  # by a symmetric matrix: taken within symmetric matrices (see .symmetric)
    direction: Expr | None = None  # v of a Hessian-vector product
    _cache: dict = field(default_factory=dict, repr=False)


def derive_one(of: Expr, wrt: Expr, order: int = 1, names=(), direction: Expr | None = None) -> Derivative:
    """The derivative of ``of`` by ``wrt``; with a ``direction`` v (order 2),
    the Hessian-vector product ∇²``of`` · v.  ``names`` (node → the user's
    name) are kept whole by the final tidying, so results read in the user's
    terms."""
    dx = tangent_of(wrt)
    _, d_of = differential(of, wrt, dx)
    within = is_symmetric_variable(wrt)
    if order == 2:
        # the gradient is differentiated again: no facts about wrt in it yet
        grad = _gradient(d_of, dx, within, names, exempt=wrt)
        _, d_grad = differential(grad, wrt, dx)
        if direction is not None:  # (a symmetric variable's direction is declared symmetric too)
            hvp = _result(substitute(d_grad, {dx: direction}), names)
            return Derivative(of, wrt, 2, "hvp", dx, _linear(d_grad, dx, within), gradient=grad, matrix=hvp,
                              within_symmetric=within, direction=direction)
        d = Derivative(of, wrt, 2, "hessian", dx, _linear(d_grad, dx, within, hessian=True), gradient=grad,
                       within_symmetric=within)
        _fill_matrix(d, d_grad, dx, within, names)
        return d
    if of.is_scalar:
        grad = _gradient(d_of, dx, within, names)
        linear = along_symmetric(d_of, dx) if within else d_of  # exact everywhere; the gradient is what prints
        return Derivative(of, wrt, 1, "gradient", dx, linear, gradient=grad, matrix=grad, within_symmetric=within)
    if wrt.is_scalar:
        return Derivative(of, wrt, 1, "jacobian", dx, d_of, matrix=_result(substitute(d_of, {dx: const(1)}), names))
    kind = "jacobian" if is_vector_shape(of.shape) and is_vector_shape(wrt.shape) else "tensor"
    d = Derivative(of, wrt, 1, kind, dx, _linear(d_of, dx, within), within_symmetric=within)
    _fill_matrix(d, d_of, dx, within, names)
    return d


def _result(e: Expr, names=(), exempt: Expr | None = None) -> Expr:
    """A finished expression with the declared facts applied (except those
    about ``exempt``) and tidied, the user's ``names`` kept whole; the facts
    are tried again on the tidied form, where some only show
    ((a ⊙ π − π aᵀ π) / (aᵀ π)), tidying again if they changed it; the
    user's scaled definitions and softmaxes are folded back in last."""
    tidied = tidy(use_facts(e, exempt), names)
    used = use_facts(tidied, exempt)
    return fold_softmax(fold_scaled_definitions(tidied if used is tidied else tidy(used, names), names))


def _linear(d_of: Expr, dx: Expr, within: bool, hessian: bool = False) -> Expr:
    """The differential as the derivative's linear map (index forms are read
    off it): along symmetric directions only for a symmetric variable, and
    for a Hessian with a symmetric output too; the declared facts used."""
    if within:
        d_of = along_symmetric(d_of, dx)
        d_of = symmetric_part(d_of) if hessian else d_of
    return use_facts(d_of)


def _gradient(d_of: Expr, dx: Expr, within: bool, names=(), exempt: Expr | None = None) -> Expr:
    grad = _result(adjoint(d_of, dx, const(1)), names, exempt)
    if within:
        sym = symmetric_part(grad)
        grad = grad if sym is grad else tidy(sym, names)
    return grad


def _fill_matrix(d: Derivative, linear: Expr, dx: Expr, within: bool, names=()) -> None:
    try:
        k = vec_jacobian(linear, dx)
    except MissingRule as e:
        d.matrix_error = str(e)
        return
    if within:
        k = project_vec(k, dx.shape[0], d.kind == "hessian")
    d.matrix = _result(k, names)
