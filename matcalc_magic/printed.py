"""A printed result read back as input: every printed form is valid input.

``parse_printed(view)`` parses a view's printed right-hand side, with its
where-parts (``…, where δ₁ = …; δ₂ = …``) read as definitions, in the
context of the cell it came from: its declarations and definitions, and the
variable the derivative is taken by (a defined name, as in ``∂J/∂z``, stands
for itself there, as it does in the derivative).  The graph it returns has the
value of ``view.expr`` wherever both are evaluated with the same arrays.
"""

from __future__ import annotations

from .check import Checker
from .errors import MatcalcError, Span
from .graph import Expr, is_zero, zeros
from .shapes import shape_str
from .syntax import parse
from .syntax import tree as T

__all__ = ["parse_printed", "printed_source"]

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
    result = view.result
    cell, request = result.cell, result.request
    source = printed_source(view)
    checker = Checker(cell.source)
    checker.run(T.Program(Span(0, len(cell.source)), _context(parse(cell.source)), cell.source))
    printed = parse(source)
    checker.src = source
    checker.close_each_statement = False  # a where-part's I may be sized where it is used
    try:
        if request.wrt_name in checker.cell.variables:
            value = _read(checker, printed)
        else:
            with checker.holding(request.wrt_name, request.wrt):
                value = _read(checker, printed)
        return _fit(checker, printed.statements[-1], value, view.expr.shape)
    except MatcalcError as e:
        raise e.with_source(source) from None


def _context(program: T.Program) -> tuple:
    """The statements that give names meaning: declarations and definitions."""
    return tuple(s for s in program.statements if isinstance(s, (T.Decl, T.Define)))


def _read(checker: Checker, printed: T.Program) -> Expr:
    for stmt in printed.statements:
        checker.statement(stmt)
    return checker.cell.definitions[RESULT]


def _fit(checker: Checker, stmt: T.Define, value: Expr, shape) -> Expr:
    """The value as the view's shape: a bare 0 is the zero of that shape, and
    sizes the text leaves open (I ⊗ x, 𝟏 𝟏ᵀ) are the view's."""
    if is_zero(value) and value.shape != shape:
        return zeros(*shape)
    if not all(checker.unify(mine, theirs) for mine, theirs in zip(value.shape, shape)):
        checker.fail(f"the printed form is {shape_str(value.shape)}, but the view is {shape_str(shape)}",
                     stmt.value)
    return checker.closed(value)
