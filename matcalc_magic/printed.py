"""A printed result read back as cell input, for the numeric check.

Every printed form is valid input: the right-hand side of a view's text (and
its where-parts, ``δ₁ = …``) is parsed and type-checked together with the
cell's declarations and definitions, exactly as if the user had typed it, and
then evaluated by the witness (:mod:`matcalc_magic.reference`).  So the check
certifies the formula the user reads, not an internal value it was printed
from.  Index-notation views (``∂zᵢ/∂Wⱼₖ = δ[i,j] x[k]``) are read by
:mod:`matcalc_magic.printed_index`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import MatcalcError
from .reference import Reference, node_sizes
from .syntax import tree as T

#: the name the printed formula is bound to in the program read back
PRINTED = "__printed__"


@dataclass
class PrintedForm:
    """A view's printed formula as a program, or why it cannot be read."""

    text: str
    program: T.Program | None = None
    shapes: dict | None = None
    index: object = None  # an index-notation reading (printed_index.IndexForm)
    error: str = ""

    def value(self, env: dict, sizes: dict, given: dict | None = None) -> np.ndarray:
        if self.error:
            raise ValueError(self.error)
        if self.index is not None:
            return self.index.value(env, sizes, given)
        return Reference(self.program, env, sizes, self.shapes, given).name(PRINTED)


def cell_context(cell) -> str:
    """The cell's declarations and definitions, as written (no requests or claims)."""
    program = cell.program
    return "\n".join(program.source[s.span.start:s.span.end] for s in program.statements
                     if isinstance(s, (T.Decl, T.Define)))


def read_back(view) -> PrintedForm:
    """Parse and type-check the printed right-hand side of ``view``."""
    text = view.rhs_text
    if view.expr is None:
        from .printed_index import read_index

        return read_index(view)
    lines = [cell_context(view.result.cell)]
    lines += [f"{name} = {formula}" for name, formula in view.where_text]
    lines.append(f"{PRINTED} = {text}")
    source = "\n".join(lines)
    from .check import check
    from .syntax import parse

    try:
        cell = check(parse(source))
    except MatcalcError as e:
        return PrintedForm(text, error=f"the printed form does not read back as input: {e.message}")
    return PrintedForm(text, cell.program, node_sizes(cell))
