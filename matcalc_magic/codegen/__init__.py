"""Generated code: one function per cell, in NumPy, PyTorch or JAX.

``generate(derivation)`` is what ``Derivation.code`` returns: a module with
``def derivatives(<the cell's variables>)`` returning every differentiated
function's value and every requested derivative.  One program
(:mod:`.program`: the graph, rewritten for speed by :mod:`.rewrite`, cut into
assignments by :mod:`.schedule`) is printed by a small printer per backend
(:mod:`.numpy`, :mod:`.torch`, :mod:`.jax`); :mod:`.checker` adds the
optional finite-difference check.
"""

from __future__ import annotations

from ..errors import MatcalcError
from .jax import JaxPrinter
from .numpy import NumpyPrinter
from .program import build, cell_outputs, view_output
from .source import function_source, script_source
from .torch import TorchPrinter

PRINTERS = {"numpy": NumpyPrinter, "torch": TorchPrinter, "jax": JaxPrinter}
BACKENDS = tuple(PRINTERS)


def generate(derivation, backend: str = "numpy", name: str = "derivatives", layout: str | None = None,
             check: bool = False) -> str:
    """Python source of ``name(...)`` computing the cell's values and results
    in ``layout`` (default: the derivation's), with ``check_derivatives`` if
    ``check``."""
    from .. import layouts as L

    printer_class = printer_for(backend)
    layout = L.check_layout(layout or derivation.layout)
    if not name.isidentifier():
        raise MatcalcError(f"the function's name must be a Python identifier, not {name!r}")
    program = build(derivation.cell, cell_outputs(derivation, layout), layout, taken=[name])
    source = function_source(program, printer_class(program.names), name)
    if check:
        from .checker import check_source

        source += "\n\n" + check_source(program, printer_class(program.names), name)
    return source


def view_script(view, target: str) -> str:
    """NumPy statements computing one view into ``target`` from the cell's
    variables as 2-D arrays under their own names (``View.numpy_code``)."""
    cell = view.result.cell
    program = build(cell, [view_output(view, target)], view.layout)
    return script_source(program, NumpyPrinter(program.names), target)


def printer_for(backend: str):
    try:
        return PRINTERS[backend]
    except KeyError:
        raise MatcalcError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}") from None
