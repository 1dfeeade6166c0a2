"""Syntax tree of a derivation cell: what was written, with where it was written.

The parser produces these nodes and nothing else; the checker
(:mod:`matcalc_magic.typecheck`) gives them meaning (shapes, operators).  Every
node carries a :class:`~matcalc_magic.errors.Span` so later errors can point
at the exact text.  Notation is *not* resolved here beyond spelling: ``W x``
and ``W @ x`` are different nodes (``Juxt`` vs ``BinOp('@')``) because only
the checker knows whether ``W`` is a scalar, a matrix or a function.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from fractions import Fraction
from typing import Iterator

from ..errors import Span


@dataclass(frozen=True)
class Node:
    span: Span = field(compare=False, repr=False)


# ----------------------------------------------------------------- sizes
@dataclass(frozen=True)
class DimNum(Node):
    value: int


@dataclass(frozen=True)
class DimName(Node):
    name: str


@dataclass(frozen=True)
class DimBin(Node):
    op: str  # "+", "-", "*"
    left: "Dim"
    right: "Dim"


Dim = DimNum | DimName | DimBin


# ----------------------------------------------------------------- expressions
@dataclass(frozen=True)
class Name(Node):
    """An identifier, spelled canonically: ``np.linalg.inv`` keeps its dots,
    ``b_{1}`` becomes ``b_1``; Unicode letters (θ, ŷ in NFC) are kept."""

    id: str


@dataclass(frozen=True)
class Number(Node):
    value: int | Fraction | float


@dataclass(frozen=True)
class BinOp(Node):
    """Binary operators as written.

    op is one of: ``+ - @ * / ⊙ ⊘ ⊗ ** ^``.  ``∘`` is spelled ``⊙``;
    ``×`` between expressions is not an operator (only in sizes).
    ``^`` carries every textbook power that is not a transpose or an inverse
    (``A^2``, ``A^k``); ``**`` is NumPy's elementwise power.
    """

    op: str
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True)
class Juxt(Node):
    """Juxtaposition ``a b``: matrix product, or scalar times something."""

    left: "Expr"
    right: "Expr"


@dataclass(frozen=True)
class Neg(Node):
    operand: "Expr"


@dataclass(frozen=True)
class Transpose(Node):
    """``x^T``, ``x^⊤``, ``x'`` and ``x.T``."""

    operand: "Expr"


@dataclass(frozen=True)
class Inverse(Node):
    """``A^{-1}`` (transpose=False) or ``A^{-T}`` (transpose=True)."""

    operand: "Expr"
    transpose: bool = False


@dataclass(frozen=True)
class Call(Node):
    """``f(args, key=value)``.  ``func`` is the spelled name (``np.exp``,
    ``σ``, ``relu``); ``primes`` counts primes as in ``relu'(z)``.
    ``Name(...)`` where the name is a variable is a product, which the
    checker decides."""

    func: str
    args: tuple["Expr", ...]
    kwargs: tuple[tuple[str, "Expr"], ...] = ()
    primes: int = 0
    func_span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Norm(Node):
    """``‖x‖``, ``||x||``, with optional subscript kind (``2``, ``F``, ``fro``)
    and optional power (``‖x‖²``, ``||x||^2``)."""

    operand: "Expr"
    kind: str | None = None
    power: "Expr | None" = None


@dataclass(frozen=True)
class Abs(Node):
    """``|x|`` (elementwise absolute value)."""

    operand: "Expr"


@dataclass(frozen=True)
class Slice(Node):
    """``start:stop`` inside brackets; either side may be None."""

    start: "Expr | None"
    stop: "Expr | None"


@dataclass(frozen=True)
class Index(Node):
    """``θ[1:]``, ``Θ[:, 1:]``, ``x[0]``: one or two subscripts."""

    operand: "Expr"
    subscripts: tuple["Expr | Slice", ...]


@dataclass(frozen=True)
class ListLit(Node):
    """``[a, b]`` (as in ``np.hstack([a, b])``)."""

    items: tuple["Expr", ...]


@dataclass(frozen=True)
class Block(Node):
    """``[a; b]``, ``[A, B; C, D]``: a block matrix, rows separated by ';'."""

    rows: tuple[tuple["Expr", ...], ...]


@dataclass(frozen=True)
class TupleLit(Node):
    """``(m, 1)`` (as in ``np.ones((m, 1))``)."""

    items: tuple["Expr", ...]


@dataclass(frozen=True)
class Deriv(Node):
    """``∂J/∂W``, ``dJ/dW``, ``∂(x^T A x)/∂x``.

    ``of`` is the expression being differentiated (a ``Name`` for ``∂J/∂W``),
    ``wrt`` the variable.  ``order`` is 2 for ``∂²J/∂x²`` / ``∂²J/∂x∂xᵀ``.
    """

    of: "Expr"
    wrt: Name
    order: int = 1


@dataclass(frozen=True)
class Hessian(Node):
    """``hessian(J, x)``."""

    of: "Expr"
    wrt: Name


@dataclass(frozen=True)
class HVP(Node):
    """``hvp(J, w, v)``: the Hessian of ``J`` by ``w`` applied to ``v``,
    ∇²J · v, without forming the Hessian."""

    of: "Expr"
    wrt: Name
    direction: Name


Expr = (
    Name | Number | BinOp | Juxt | Neg | Transpose | Inverse | Call | Norm | Abs
    | Index | ListLit | Block | TupleLit | Deriv | Hessian | HVP
)
Request = Deriv | Hessian | HVP


# ----------------------------------------------------------------- statements
@dataclass(frozen=True)
class Decl(Node):
    """``W : m x n, symmetric``; ``x, y : n``; ``c : scalar``.

    ``dims`` is () for a scalar, one entry for a column vector (n×1), two
    for a matrix (``1 x n`` is a row).  ``props`` are lower-cased words."""

    names: tuple[Name, ...]
    dims: tuple[Dim, ...]
    props: tuple[Name, ...] = ()


@dataclass(frozen=True)
class Define(Node):
    """``z = W x + b``."""

    target: Name
    value: Expr


@dataclass(frozen=True)
class Requests(Node):
    """A line of one or more requests: ``dJ/dW, dJ/db``."""

    items: tuple[Request, ...]


@dataclass(frozen=True)
class Claim(Node):
    """``claim ∂J/∂W = <expr>``: the user's own answer, to be checked."""

    target: Request
    value: Expr


Stmt = Decl | Define | Requests | Claim


@dataclass(frozen=True)
class Program(Node):
    statements: tuple[Stmt, ...]
    source: str = field(default="", compare=False, repr=False)


def children(node: Node) -> list[Node]:
    """The nodes right below ``node``: its operands, arguments, keyword
    values and the entries of a block's rows."""
    kids: list = []
    pending = [getattr(node, f.name) for f in fields(node)]
    while pending:
        value = pending.pop(0)
        if isinstance(value, Node):
            kids.append(value)
        elif isinstance(value, tuple):  # arguments, (keyword, value) pairs, block rows
            pending[:0] = list(value)
    return kids


def walk(node: Node) -> Iterator[Node]:
    """``node`` and every node below it, parents first."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(children(n)))
