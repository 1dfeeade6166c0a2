"""One rule per operator: shape, differential, transpose, evaluation, notation.

Adding an operator means registering one :class:`OpRule`; the checker, the
differentiator, the extractors, the evaluator and the printers only read the
table.  A rule's parts:

``shape(arg_shapes, params)``
    the result shape, or :class:`~matcalc_magic.shapes.ShapeError`.
``canon(args, params)``
    local simplification at construction (``x + 0 → x``); returns an Expr.
``jvp(node, tangents)``
    the differential: given the differentials of the arguments (``None``
    where an argument does not depend on the variable), the differential of
    ``node``, built only from linear operators.
``transpose(node, cotangent, i)``
    for operators linear in argument ``i``: that argument's share of the
    adjoint (the trace-trick move), i.e. ``L*`` applied to the cotangent.
``vec(node, i, k)``
    for linear operators: ``K`` with ``vec(node) = K vec(arg_i)`` as a
    factor, i.e. how the Magnus–Neudecker identification sees the op.
``evaluate(values, params, node, sizes)``
    NumPy evaluation (2-D float arrays in, 2-D array out).
``notation``
    how it prints (symbols, precedence); the printers own the layout logic.
``rule_name``
    the identity shown in step-by-step derivations, e.g. ``d(AB) = dA B + A dB``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

# Precedence levels used by every printer (higher binds tighter).
ADD = 10
NEG = 15
MUL = 20
POW = 30
FUNC = 40
ATOM = 100


@dataclass(frozen=True)
class Notation:
    """How an operator is written.

    kind: ``infix`` (symbol between operands), ``func`` (``name(args)``),
    ``postfix`` (superscript), or ``custom`` (the printer has a method
    ``_print_<op>``).  ``latex``/``text``/``numpy`` are the symbols or
    function names in each format.
    """

    kind: str
    latex: str = ""
    text: str = ""
    numpy: str = ""
    precedence: int = FUNC


@dataclass
class OpRule:
    name: str
    shape: Callable[[tuple, tuple], tuple]
    evaluate: Callable[..., Any]
    notation: Notation
    jvp: Callable | None = None
    transpose: Callable | None = None
    vec: Callable | None = None
    canon: Callable | None = None
    linear: bool = False  # linear in every argument that carries a tangent
    rule_name: str = ""
    doc: str = ""
    extra: dict = field(default_factory=dict)


_RULES: dict[str, OpRule] = {}


class MissingRule(Exception):
    """An operator has no rule for what was asked (e.g. no transpose)."""


def register(r: OpRule) -> OpRule:
    if r.name in _RULES:
        raise ValueError(f"operator {r.name!r} registered twice")
    _RULES[r.name] = r
    return r


def rule(name: str) -> OpRule:
    _ensure_loaded()
    try:
        return _RULES[name]
    except KeyError:
        raise MissingRule(f"no operator named {name!r}") from None


def all_rules() -> dict[str, OpRule]:
    _ensure_loaded()
    return dict(_RULES)


def apply(name: str, args: tuple, params: tuple = ()):
    """Build ``name(args)`` with the operator's own simplifications."""
    r = rule(name)
    if r.canon is not None:
        return r.canon(tuple(args), tuple(params))
    from ..graph import make

    return make(name, args, params)


_loaded = False


def _ensure_loaded() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        from . import algebra, elementwise, leaves, matrix_fns, reductions, reshape  # noqa: F401  (registration)
