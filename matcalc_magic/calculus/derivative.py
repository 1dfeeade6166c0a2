"""A derivative, computed once and without a layout.

The differential ``dY = L(dX)`` is the layout-free object.  From it:

* a scalar ``Y`` gives the gradient ``G`` (``dY = ⟨G, dX⟩``, the trace
  trick, see :mod:`.adjoint`), in ``X``'s shape;
* a scalar ``X`` gives ``L(1)``, in ``Y``'s shape;
* anything else gives ``K = ∂ vec Y / ∂ (vec X)ᵀ`` (:mod:`.vectorize`),
  which for two vectors is the Jacobian itself;
* a Hessian is the ``K`` of the gradient.

Layouts (:mod:`matcalc_magic.layouts`) only arrange these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..graph import Expr, const, substitute
from ..ops.registry import MissingRule
from ..shapes import ONE
from .adjoint import adjoint
from .differentiate import differential, tangent_of
from .tidy import tidy
from .vectorize import vec_jacobian

KINDS = ("gradient", "jacobian", "hessian", "tensor")


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
    _cache: dict = field(default_factory=dict, repr=False)


def derive_one(of: Expr, wrt: Expr, order: int = 1, names=()) -> Derivative:
    """The derivative of ``of`` by ``wrt``; ``names`` (node → the user's name)
    are kept whole by the final tidying, so results read in the user's terms."""
    dx = tangent_of(wrt)
    _, d_of = differential(of, wrt, dx)
    if order == 2:
        grad = tidy(adjoint(d_of, dx, const(1)), names)
        _, d_grad = differential(grad, wrt, dx)
        d = Derivative(of, wrt, 2, "hessian", dx, d_grad, gradient=grad)
        _fill_matrix(d, d_grad, dx, names)
        return d
    if of.is_scalar:
        grad = tidy(adjoint(d_of, dx, const(1)), names)
        return Derivative(of, wrt, 1, "gradient", dx, d_of, gradient=grad, matrix=grad)
    if wrt.is_scalar:
        return Derivative(of, wrt, 1, "jacobian", dx, d_of, matrix=tidy(substitute(d_of, {dx: const(1)}), names))
    kind = "jacobian" if is_vector_shape(of.shape) and is_vector_shape(wrt.shape) else "tensor"
    d = Derivative(of, wrt, 1, kind, dx, d_of)
    _fill_matrix(d, d_of, dx, names)
    return d


def _fill_matrix(d: Derivative, linear: Expr, dx: Expr, names=()) -> None:
    try:
        d.matrix = tidy(vec_jacobian(linear, dx), names)
    except MissingRule as e:
        d.matrix_error = str(e)
