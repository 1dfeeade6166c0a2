"""A printed result read back as input: every printed form is valid input.

A view's printed right-hand side, with its where-parts (``…, where δ₁ = …;
δ₂ = …``) read as definitions, is parsed and type-checked in the context of
the cell it came from (its declarations and definitions), exactly as if the
user had typed it after them.  Two readings:

* :func:`parse_printed` gives the typed graph (a defined name the derivative
  is taken by, as in ``∂J/∂z``, stands for itself, as it does in the
  derivative): its value equals ``view.expr``'s wherever both are evaluated
  with the same arrays;
* :func:`read_back` keeps the syntax tree, for the numeric check: the witness
  (:mod:`matcalc_magic.verify.witness`) evaluates it, so the ✓ certifies the
  formula the user reads, not an internal value it was printed from.
  Index-notation views (``∂z[i]/∂W[j,k] = δ[i,j] x[k]``) are read by
  :mod:`matcalc_magic.verify.printed_index`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..typecheck import Checker
from ..errors import MatcalcError
from ..graph import Expr, is_zero, zeros
from .witness import PointValues, Reference
from ..shapes import shape_str
from ..syntax import parse
from ..syntax import tree as T

__all__ = ["parse_printed", "printed_source", "read_back", "PrintedForm"]

#: the name the printed right-hand side is defined under (no cell can use it:
#: names do not start with two underscores in the derivations we print)
RESULT = "__printed"


def printed_source(view) -> str:
    """The printed right-hand side and its where-parts as cell lines."""
    lines = [f"{name} = {text}" for name, text in view.where_text]
    lines.append(f"{RESULT} = {view.rhs_text}")
    return "\n".join(lines)


def parse_printed(view) -> Expr:
    """The graph of what ``view`` prints (its text), read with its cell's
    declarations and definitions; MatcalcError if the text cannot be read."""
    if view.expr is None:
        raise MatcalcError(f"the {view.layout} layout of {view.result.request.text} has no matrix form to read back")
    return _read_view(view)[2]


def _read_view(view) -> tuple[Checker, T.Program, Expr]:
    """(the checker after reading, the printed lines, their typed value)."""
    request = view.result.request
    source = printed_source(view)
    checker = _checker_after(view.result.cell, source)
    checker.close_each_statement = False  # a where-part's I may be sized where it is used
    printed = parse(source)
    try:
        if request.wrt_name in checker.cell.variables:
            value = _read(checker, printed)
        else:
            with checker.holding(request.wrt_name, request.wrt):
                value = _read(checker, printed)
        return checker, printed, _fit(checker, printed.statements[-1], value, view.expr.shape)
    except MatcalcError as e:
        raise e.with_source(source) from None


def _checker_after(cell, source: str) -> Checker:
    """A type checker that has read ``cell`` (declarations and definitions,
    not its requests) and goes on reading ``source``."""
    checker = Checker(source)
    checker.cell = dataclasses.replace(
        cell, source=source, definitions=dict(cell.definitions), definition_text=dict(cell.definition_text),
        labels=dict(cell.labels), node_shapes=dict(cell.node_shapes), requests=[], claims=[])
    checker.definition_syntax = {s.target.id: s.value for s in cell.program.statements if isinstance(s, T.Define)}
    return checker


def _read(checker: Checker, printed: T.Program) -> Expr:
    for stmt in printed.statements:
        checker.statement(stmt)
    return checker.cell.definitions[RESULT]


def _fit(checker: Checker, stmt: T.Define, value: Expr, shape) -> Expr:
    """The value as the view's shape (which the printed left-hand side says):
    a bare 0 is the zero of that shape, and sizes the text leaves open (I ⊗ x,
    𝟏 𝟏ᵀ) are the view's."""
    if is_zero(value) and value.shape != shape:
        return zeros(*shape)
    if not all(checker.unify(mine, theirs) for mine, theirs in zip(value.shape, shape)):
        checker.fail(f"the printed form is {shape_str(value.shape)}, but the view is {shape_str(shape)}",
                     stmt.value)
    return checker.closed(value)


# ====================================================================== for the numeric check
@dataclass
class PrintedForm:
    """A view's printed formula read back, or why it cannot be."""

    text: str
    program: T.Program | None = None  # the cell's own syntax tree
    extra: dict | None = None  # the printed where-parts and the result (name → syntax)
    shapes: dict | None = None  # sizes of the syntax nodes, for a bare I or 𝟏
    index: object = None  # an index-notation reading (printed_index.IndexForm)
    error: str = ""
    shape: tuple = ()  # the view's (symbolic) shape: a bare 0 is the zero of that shape

    def value(self, env: dict, sizes: dict, given: dict | None = None, point: PointValues | None = None) -> np.ndarray:
        """The printed formula's value at ``env``/``sizes`` (``given``: a
        defined name the derivative is taken by, at its varied value;
        ``point``: the cell's definitions there, shared with other readings)."""
        if self.error:
            raise ValueError(self.error)
        if self.index is not None:
            return self.index.value(env, sizes, given, point)
        out = Reference(self.program, env, sizes, self.shapes, given, self.extra, point).name(RESULT)
        if out.shape == (1, 1) and out[0, 0] == 0 and self.shape:
            from ..shapes import concrete_shape

            return np.zeros(concrete_shape(self.shape, sizes))
        return out


def read_back(view) -> PrintedForm:
    """``view``'s printed right-hand side and where-parts, parsed and
    type-checked after its cell, as syntax for the witness."""
    if view.expr is None:
        from .printed_index import read_index

        return read_index(view)
    try:
        checker, printed, _ = _read_view(view)
    except MatcalcError as e:
        return PrintedForm(view.rhs_text, error=f"the printed form does not read back as input: {e.message}")
    extra = {s.target.id: s.value for s in printed.statements if isinstance(s, T.Define)}
    return PrintedForm(view.rhs_text, view.result.cell.program, extra, checker.settled_shapes(),
                       shape=view.expr.shape)