"""What both views share: the step record, pairings ⟨G, dX⟩, rule names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import graph as G
from ..graph import Expr, make
from ..ops import build as B
from ..ops.properties import sums_to_one
from ..ops.registry import FUNC, rule
from ..render.names import name_latex, name_text
from ..shapes import ONE, shape_latex
from .format import Formatter, Product, flat_shapes, shape_str, with_shapes
from .world import World, is_column, push_transpose


@dataclass
class Step:
    """One line of a derivation.

    ``expr`` is what the line shows, as an expression that evaluates (None
    for prose); ``role`` says what its value is: ``definition`` (the named
    quantity), ``local`` (that quantity's differential), ``differential``
    (``dJ``; for a Jacobian ``vec dY``), ``gradient`` (∂J/∂``quantity``, laid
    out as ``layout`` says: ``shape`` its own shape, ``numerator`` the
    transpose, ``vec`` the row (vec G)ᵀ), ``jacobian`` (the vec-layout
    matrix ∂vec Y/∂(vec X)ᵀ) or ``""``.
    """

    latex: str
    text: str
    rule: str = ""
    expr: Expr | None = None
    shapes: list = field(default_factory=list)  # [(factor text, shape text)]
    group: str = ""  # forward, local, chain, result, delta, gradient, jacobian, note
    lhs: str = ""
    lhs_latex: str = ""
    rhs: str = ""
    rhs_latex: str = ""
    note: str = ""  # one sentence on why (a transpose, a layout)
    rule_latex: str = ""
    note_latex: str = ""
    role: str = ""
    quantity: str | None = None
    layout: str = ""
    products: list = field(default_factory=list)  # [Product]
    symbol: Expr | None = None  # the δ this step introduces, if any
    context: Any = field(default=None, repr=False, compare=False)

    def __str__(self) -> str:
        extra = "".join(f"    ({x})" for x in (self.rule, self.note) if x)
        return self.text + extra


@dataclass
class Context:
    """The world a derivation lives in, and the symbols it introduces."""

    result: Any
    world: World
    fmt: Formatter
    symbols: list = field(default_factory=list)  # [(δ var, value over the world's names)]


# ====================================================================== making steps
def step(ctx: Context, lhs: str, lhs_latex: str, expr: Expr | None, *, rhs: str | None = None,
         rhs_latex: str | None = None, products: list | None = None, expand_root: bool = False,
         **kw) -> Step:
    """A step ``lhs = expr`` with the shapes of the main product."""
    fmt = ctx.fmt
    if rhs is None:
        rhs = fmt.text(expr, expand_root)
    if rhs_latex is None:
        rhs_latex = fmt.braced_latex(expr, expand_root)
    if products is None:
        products = fmt.products(expr, expand_root) if expr is not None else []
    text = with_shapes(f"{lhs} = {rhs}", products)
    return Step(latex=f"{lhs_latex} = {rhs_latex}", text=text, expr=expr, shapes=flat_shapes(products),
                lhs=lhs, lhs_latex=lhs_latex, rhs=rhs, rhs_latex=rhs_latex, products=products,
                context=ctx, **kw)


def prose(ctx: Context, text: str, latex: str | None = None, **kw) -> Step:
    return Step(latex=latex if latex is not None else "\\text{" + _latex_escape(text) + "}", text=text,
                context=ctx, **kw)


def _latex_escape(text: str) -> str:
    for a, b in (("\\", "\\backslash "), ("{", "\\{"), ("}", "\\}"), ("_", "\\_"), ("%", "\\%"),
                 ("&", "\\&"), ("#", "\\#"), ("^", "\\^{}")):
        text = text.replace(a, b)
    return text


# ====================================================================== pairings
def style_of(world: World, v: Expr) -> str:
    """How ⟨G, dv⟩ is written: ``col`` (gᵀ dv), ``trace`` (tr(Gᵀ dX), for the
    variable when it is a matrix) or ``frob`` (⟨G, dV⟩)."""
    if is_column(v.shape):
        return "col"
    if v is world.X and v.shape[0] != ONE:
        return "trace"
    return "frob"


def pair_expr(g: Expr, d: Expr, style: str) -> Expr:
    """⟨g, d⟩ as an expression that evaluates (and prints as the style says)."""
    if style == "col":
        return B.matmul(B.transpose(g), d)
    if style == "trace":
        return make("trace", (B.matmul(push_transpose(B.transpose(g)), d),))
    return make("sum", (make("hadamard", (g, d)),), (None,))


@dataclass
class Term:
    g: Expr
    d: Expr
    style: str


def terms_expr(terms: list[Term]) -> Expr:
    parts = [pair_expr(t.g, t.d, t.style) for t in terms]
    if not parts:
        return G.const(0)
    return parts[0] if len(parts) == 1 else B.add(*parts)


def terms_step(ctx: Context, lhs: str, lhs_latex: str, terms: list[Term], **kw) -> Step:
    """``dJ = ⟨G₁, d₁⟩ + ⟨G₂, d₂⟩`` with each pairing in its style."""
    fmt = ctx.fmt
    texts, latexes, products = [], [], []
    for t in terms:
        if t.style == "frob":
            texts.append(fmt.pair_text(t.g, t.d))
            latexes.append(fmt.pair_latex(t.g, t.d))
            products.append(Product("inner", [(fmt.factor_text(t.g), t.g.shape), (fmt.factor_text(t.d), t.d.shape)],
                                    (ONE, ONE)))
        else:
            e = pair_expr(t.g, t.d, t.style)
            texts.append(fmt.text(e))
            latexes.append(fmt.braced_latex(e))
            products.extend(fmt.products(e))
    if not terms:
        texts, latexes = ["0"], ["0"]
    rhs = _join(texts)
    rhs_latex = _join(latexes)
    return step(ctx, lhs, lhs_latex, terms_expr(terms), rhs=rhs, rhs_latex=rhs_latex, products=products, **kw)


def _join(parts: list[str]) -> str:
    out = parts[0]
    for p in parts[1:]:
        out += " - " + p[1:] if p.startswith("-") else " + " + p
    return out


# ====================================================================== names
def d_lhs(world: World, q) -> tuple[str, str]:
    """``dz`` / ``\\mathrm{d}z``; for an unnamed function ``d(xᵀ A x)``."""
    if q.name is not None:
        return "d" + name_text(q.name), "\\mathrm{d}" + name_latex(q.name)
    res = world.result
    return "d" + res.of_plain if res.of_plain.startswith("(") else "d(" + res.of_plain + ")", \
        "\\mathrm{d}" + (res.of_latex if res.of_latex.startswith("\\left(") else "\\left(" + res.of_latex + "\\right)")


def shape_note(shape) -> tuple[str, str]:
    return shape_str(shape), shape_latex(shape)


# ====================================================================== rule names
_QUIET = {"add", "smul", "broadcast", "sum"}


def local_rules(world: World, q) -> str:
    """The differentiation rules a definition's local differential uses, from
    each operator's ``rule_name`` (trivial ones only when nothing else)."""
    deps: set[int] = set()
    for v in q.inputs:
        deps |= G.dependency_set(q.local, v)
    seen: list[tuple[str, str]] = []
    for node in G.postorder(q.local):
        if id(node) not in deps or node.op == "var":
            continue
        name = rule(node.op).rule_name
        if name and all(name != n for _, n in seen):
            seen.append((node.op, name))
    loud = [n for op, n in seen if op not in _QUIET]
    return "; ".join(loud or [n for _, n in seen])


def ce_rule(world: World, q) -> str | None:
    """The softmax/cross-entropy rule, when ``q`` is CE(y, softmax(θ)) with a
    one-hot (or probability) y."""
    nodes = G.postorder(q.local)
    lsm = [n for n in nodes if n.op == "logsoftmax"]
    targets = [n for n in nodes if sums_to_one(n)]
    if not lsm or not targets:
        return None
    fmt = world_fmt(world)
    theta = fmt.text(lsm[0].args[0])
    # d of an unnamed argument needs brackets: d(U h + b2), not dU h + b2
    d_theta = "d" + fmt.operand_text(lsm[0].args[0], FUNC)
    s = B.softmax(lsm[0].args[0], lsm[0].params[0])
    s_text = fmt.text(world.refold(s))
    y = fmt.text(targets[0])
    return (f"softmax/cross-entropy rule: d(−{y}ᵀ log softmax({theta})) = ({s_text} − {y})ᵀ {d_theta}, "
            f"since 𝟏ᵀ{y} = 1")


def world_fmt(world: World) -> Formatter:
    return Formatter(world.labels)


_MOVES = {
    # op: (vector phrasing, matrix phrasing)
    "transpose": ("the transpose of a scalar is itself: {d}ᵀ a = aᵀ {d}", "⟨G, dXᵀ⟩ = ⟨Gᵀ, dX⟩"),
    "matmul": ("gᵀ (A {d}) = (Aᵀ g)ᵀ {d}", "⟨G, A dX B⟩ = ⟨Aᵀ G Bᵀ, dX⟩ (cyclic property of the trace)"),
    "hadamard": ("gᵀ (a ⊙ {d}) = (g ⊙ a)ᵀ {d}", "⟨G, A ⊙ dX⟩ = ⟨G ⊙ A, dX⟩"),
    "hdiv": ("gᵀ ({d} ⊘ a) = (g ⊘ a)ᵀ {d}", "⟨G, dX ⊘ A⟩ = ⟨G ⊘ A, dX⟩"),
    "broadcast": ("⟨G, {d} 𝟏ᵀ⟩ = ⟨G 𝟏, {d}⟩: a broadcast quantity collects the sum over its copies",) * 2,
    "sum": ("⟨g, 𝟏ᵀ dX⟩ = ⟨𝟏 g, dX⟩: a sum spreads its cotangent over what it sums",) * 2,
    "trace": ("tr(A) = ⟨I, A⟩",) * 2,
    "diag": ("⟨G, diag(dv)⟩ = ⟨diag(G), dv⟩",) * 2,
    "diagvec": ("⟨g, diag(dX)⟩ = ⟨diag(g), dX⟩",) * 2,
    "vec": ("⟨g, vec dX⟩ = ⟨vec⁻¹ g, dX⟩",) * 2,
    "concat": ("⟨G, [dA, dB]⟩ = ⟨G_A, dA⟩ + ⟨G_B, dB⟩",) * 2,
    "rows": ("⟨G, dX[i:j]⟩ = ⟨[0; G; 0], dX⟩",) * 2,
    "cols": ("⟨G, dX[:, i:j]⟩ = ⟨[0, G, 0], dX⟩",) * 2,
}


def move_rules(linear: Expr, tangents: list[Expr], vector: bool) -> list[str]:
    """The identities that move ``linear``'s operators off the differentials
    ``tangents`` (the adjoint, one transpose rule per operator)."""
    out: list[str] = []
    d = "dv"
    if len(tangents) == 1:
        d = _tangent_text(tangents[0])
    for t in tangents:
        deps = G.dependency_set(linear, t)
        for node in reversed(G.postorder(linear)):
            if id(node) not in deps or node is t:
                continue
            phrases = _MOVES.get(node.op)
            if phrases is None:
                continue
            if node.op == "smul":
                continue
            # a broadcast names the differential only when it copies it: in 𝟏 (sᵀ dU h)
            # the copies are of sᵀ dU h, and "⟨G, dU 𝟏ᵀ⟩ = ⟨G 𝟏, dU⟩" would be wrong
            dn = d if node.op != "broadcast" or node.args[0] is t else "dv"
            phrase = (phrases[0] if vector else phrases[-1]).format(d=dn)
            if phrase not in out:
                out.append(phrase)
    return out


def _tangent_text(t: Expr) -> str:
    return "d" + name_text(t.params[0][1:])


__all__ = [
    "Context",
    "Step",
    "Term",
    "ce_rule",
    "d_lhs",
    "local_rules",
    "move_rules",
    "pair_expr",
    "prose",
    "step",
    "style_of",
    "terms_expr",
    "terms_step",
]
