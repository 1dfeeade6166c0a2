"""Identities and worked examples from public sources, as test data.

Each entry is one derivative: the cell it is asked in, the request, a NumPy
forward function of the variables (for finite differences), and, where the
source prints the result, the printed form per layout in the engine's plain
text notation (ᵀ, ⁻¹, ⊙, ^∘2, 𝟏).  Where a source allows two spellings of the
same formula both are listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Entry:
    source: str  # short source name, e.g. "Wikipedia", "Cookbook"
    id: str
    cell: str
    request: str  # the request text as written in the cell (also its lookup key)
    wrt: str
    f: Callable  # NumPy: {name: 2-D array} -> array, the differentiated expression
    forms: dict = field(default_factory=dict)  # layout -> printed right-hand side (str or tuple of str)
    latex: dict = field(default_factory=dict)  # layout -> right-hand side in LaTeX
    where: str | None = None  # the parts the forms name, as printed after ", where " (shape layout)
    shapes: dict = field(default_factory=dict)  # layout -> v.shape
    kind: str | None = None
    # known engine problems (the reason), each turning the tests it concerns into strict xfails
    print_bug: str | None = None  # the printed form differs from the source
    numeric_bug: str | None = None  # a layout's value or shape is wrong, or cannot be evaluated
    shape_bug: str | None = None  # v.shape differs from the source
    refused: str | None = None  # the engine refuses the request altogether
    zero: bool = False  # the derivative is identically zero
    fixed: Callable | None = None  # (values, sizes) -> values to override in the random point
