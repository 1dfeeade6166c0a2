"""A cell's results as one program: parameters, assignments, outputs.

The outputs are each differentiated function's value and every requested
derivative in one layout; the program is the graph of all of them together,
rewritten for speed (:mod:`.rewrite`) and cut into assignments
(:mod:`.schedule`).  Backends only print it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .. import layouts as L
from ..errors import MatcalcError
from ..graph import Expr, leaves, postorder, rebuild_all
from ..shapes import ONE
from . import rewrite, schedule
from .names import Namer, result_name, value_name


@dataclass(frozen=True)
class Output:
    """One returned array: ``node``'s value, for a tensor reshaped (C order)
    to ``dims`` and its axes permuted by ``perm``; a function's scalar value
    is returned 0-d."""

    key: str
    node: Expr
    about: str = ""  # what it is, in the cell's notation
    dims: tuple | None = None
    perm: tuple | None = None
    scalar: bool = False
    result: object = field(default=None, compare=False)  # the Result shown, if a derivative


@dataclass(frozen=True)
class Param:
    name: str  # as declared
    py: str  # as a Python parameter
    node: Expr

    @property
    def form(self) -> str:
        rows, cols = self.node.shape
        if rows == ONE and cols == ONE:
            return "scalar"
        return "column" if cols == ONE else "row" if rows == ONE else "matrix"


@dataclass
class Program:
    cell: object
    params: list[Param]
    outputs: list[Output]
    steps: list[tuple[str, Expr]]  # (name, node), in order
    names: dict = field(default_factory=dict)  # node → its name (parameters and steps)
    layout: str = L.DEFAULT_LAYOUT


# ====================================================================== what is returned
def cell_outputs(derivation, layout: str) -> list[Output]:
    """Every differentiated function's value (once each), then every result
    in ``layout``, in the cell's order."""
    cell = derivation.cell
    values: dict[str, Output] = {}
    results = []
    for r in derivation.results:
        req = r.request
        key = value_name(req)
        if key not in values:
            values[key] = Output(key, req.of, req.of_text, scalar=req.of.is_scalar)
        results.append(view_output(r.view(layout), result_name(req, cell)))
    return list(values.values()) + results


def view_output(view, key: str) -> Output:
    """The array ``view.evaluate`` gives, as an output named ``key``."""
    d = view.result.derivative
    about = view.lhs_text
    if view.expr is not None:
        return Output(key, view.expr, about, result=view.result)
    if d.matrix is None:
        raise MatcalcError(f"no code for {view.result.request.text}: the derivative has no closed form"
                           + (f" ({d.matrix_error})" if d.matrix_error else ""), view.result.request.span)
    dims, perm = _arrangement(d, view.layout)
    return Output(key, d.matrix, about, dims, perm, result=view.result)


def _arrangement(d, layout: str) -> tuple[tuple, tuple | None]:
    """How the kind's matrix becomes the view's index array (what
    ``layouts.tensor_from_matrix`` and ``layouts.arrange`` do), as a C-order
    reshape and a permutation: the column-major reshape of a (pq × rs) matrix
    into (p, q, r, s) is the C-order reshape into (q, p, s, r) with the axes
    of each pair swapped; size-1 axes are dropped."""
    if d.kind in L.GRADIENT_LIKE or (d.kind == "jacobian" and d.wrt.is_scalar):
        shape = d.wrt.shape if d.kind in L.GRADIENT_LIKE else d.of.shape
        return tuple(x for x in shape if x != ONE), None
    rows = d.wrt.shape if d.kind == "hessian" else d.of.shape
    (p, q), (r, s) = rows, d.wrt.shape
    axes = [(x, k) for x, k in ((q, 1), (p, 0), (s, 3), (r, 2)) if x != ONE]
    want = [0, 1, 2, 3]
    if d.kind == "tensor" and layout == "denominator":
        want = [2, 3, 0, 1]
    logical = [k for _, k in axes]
    perm = tuple(logical.index(k) for k in want if k in logical)
    return tuple(x for x, _ in axes), (None if perm == tuple(range(len(perm))) else perm)


# ====================================================================== the program
def build(cell, outputs: list[Output], layout: str = L.DEFAULT_LAYOUT, taken=()) -> Program:
    """The program computing ``outputs`` from the cell's variables."""
    labels = dict(cell.labels)
    roots, labels = _with_definitions(cell, [o.node for o in outputs], labels)
    roots, labels = rewrite.lower(roots, labels)
    outputs = [replace(o, node=r) for o, r in zip(outputs, roots)]
    used = {n.params[0] for r in roots for n in leaves(r, "var")}
    used |= {o.result.request.wrt_name for o in outputs if o.result is not None}  # what it is a function of
    namer = Namer([*taken, *cell.dims])
    params = [Param(name, namer.claim(name), node) for name, node in cell.variables.items() if name in used]
    fixed = {p.node: p.py for p in params}
    wanted = {o.node: o.key for o in outputs if o.node not in labels}
    steps, names = schedule.schedule(roots, labels, namer, fixed, wanted)
    return Program(cell, params, outputs, steps, names, layout)


def _with_definitions(cell, roots: list[Expr], labels: dict) -> tuple[list[Expr], dict]:
    """A derivative by a defined name (∂J/∂θ for θ = …) holds θ as a variable;
    the program computes it from θ's definition, like everything else."""
    mapping = {}
    for r in roots:
        for v in leaves(r, "var"):
            name = v.params[0]
            if name not in cell.variables and name in cell.definitions:
                mapping[v] = cell.definitions[name]
    if not mapping:
        return roots, labels
    new: dict = {}
    out = []
    for r in roots:
        memo = rebuild_all(r, lambda node, _args: mapping.get(node))
        new.update(memo)
        out.append(memo[id(r)])
    carried: dict = {}
    for r in roots:
        for node in postorder(r):
            image = new.get(id(node))
            if node in labels and image is not None and image not in carried:
                carried[image] = labels[node]
    for node, name in labels.items():  # labels of nodes the rebuild kept as they were
        carried.setdefault(node, name)
    return out, carried
