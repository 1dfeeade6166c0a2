"""The differentials view (Magnus & Neudecker): local differentials, then the
trace trick.

For a scalar J and a variable X:

1. the forward definitions on the path from X to J, with their shapes;
2. each definition's local differential (``dz = dW x``, ``dh = relu′(z) ⊙ dz``,
   ``dJ = (ŷ − y)ᵀ dθ``), by the operators' rules;
3. back-substitution, latest quantity first: substitute ``dθ = U dh`` into
   ``dJ = gᵀ dθ``, then move ``U`` across the inner product (the adjoint of
   the local differential, one trace-trick move per operator), until
   ``dJ = tr(Gᵀ dX) = ⟨G, dX⟩ = G : dX``;
4. the identification ``∂J/∂X = G`` and its layout.

For a Jacobian the same walk keeps ``d vec Y = K d vec N`` and ends with
``dy = J dx``.
"""

from __future__ import annotations

import re

from .. import graph as G
from .. import layouts as L
from ..calculus.adjoint import adjoint
from ..calculus.vectorize import vec_jacobian
from ..graph import Expr
from ..ops import build as B
from ..render.names import name_latex, name_text
from ..shapes import ONE, shape_latex
from .common import (
    Context,
    Step,
    Term,
    ce_rule,
    d_lhs,
    local_rules,
    move_rules,
    prose,
    step,
    style_of,
    terms_step,
)
from .format import Product, shape_str
from .world import World, is_column, push_transpose

TRACE_MOVE = "a scalar is its own trace, and tr(ABC) = tr(CAB) (cyclic property of the trace)"
FROBENIUS = "tr(Gᵀ dX) = ⟨G, dX⟩ = G : dX (the Frobenius inner product)"


# ====================================================================== forward pass
def forward_steps(ctx: Context, names: set) -> list[Step]:
    """The definitions ``names`` in cell order, each with its shape."""
    w = ctx.world
    out = []
    for q in w.quantities.values():
        if q.name not in names:
            continue
        shape_t, shape_l = shape_str(q.var.shape), shape_latex(q.var.shape)
        s = step(ctx, name_text(q.name), name_latex(q.name), q.local, expand_root=True, group="forward",
                 role="definition", quantity=q.name)
        s.text = s.text.replace(f"{s.lhs} = {s.rhs}", f"{s.lhs} = {s.rhs}    ({shape_t})", 1)
        s.latex += f" \\qquad {name_latex(q.name)} : {shape_l}"
        written = " ".join(q.text.split())
        calls = set(re.findall(r"([A-Za-z_]\w*)\s*\(", written))
        if any(c not in s.rhs for c in calls):
            s.note = f"as written: {name_text(q.name)} = {written}"
        out.append(s)
    return out


def mentioned_names(world: World, steps: list[Step]) -> set:
    """Named quantities a list of steps mentions (so their definitions show)."""
    names = {q.name for q in world.path if q.name is not None}
    for s in steps:
        if s.expr is None:
            continue
        for v in G.leaves(s.expr, "var"):
            q = world.quantity_of(v)
            if q is not None:
                names.add(q.name)
    return names


# ====================================================================== local differentials
def local_steps(ctx: Context, q, canonical: dict) -> list[Step]:
    """``dq`` by the rules of its operators; for a scalar, also the canonical
    ``dq = Σ gᵀ dv`` (``dyᵀ y + yᵀ dy = 2 yᵀ dy``)."""
    w = ctx.world
    lhs, lhs_l = d_lhs(w, q)
    role = "differential" if q is w.top else "local"
    raw = q.differential
    out = [step(ctx, lhs, lhs_l, raw, group="local", role=role, quantity=q.name, rule=local_rules(w, q))]
    if raw.is_scalar and q.inputs and all(v is not w.X for v in q.inputs):
        gs = {v: w.clean(adjoint(raw, w.tangent(v), G.const(1))) for v in q.inputs}
        terms = [Term(gs[v], w.tangent(v), style_of(w, v)) for v in q.inputs]
        rule = ce_rule(w, q) or _scalar_transpose_rule(ctx, raw, q)
        if rule is None:
            vector = all(is_column(v.shape) for v in q.inputs)
            moves = move_rules(raw, [w.tangent(v) for v in q.inputs], vector)
            rule = "; ".join(m for m in moves if not m.startswith("gᵀ (A ")) or "collect the terms"
        s = terms_step(ctx, lhs, lhs_l, terms, group="local", role=role, quantity=q.name, rule=rule)
        if s.rhs != out[0].rhs:
            out.append(s)
        canonical.update(gs)
    return out


def _scalar_transpose_rule(ctx: Context, raw: Expr, q) -> str | None:
    """``dyᵀ y = yᵀ dy``: a scalar term with a transposed differential, read
    the textbook way."""
    w = ctx.world
    tangents = {w.tangent(v) for v in q.inputs}
    terms = raw.args if raw.op == "add" else (raw,)
    for t in terms:
        body = t.args[1] if t.op == "smul" else t
        if body.op == "matmul" and any(f.op == "transpose" and f.args[0] in tangents for f in body.args):
            flipped = G.make("matmul", tuple(B.transpose(f) for f in reversed(body.args)))
            return (f"the transpose of a scalar is itself: {ctx.fmt.text(body)} = {ctx.fmt.text(flipped)}")
    return None


# ====================================================================== the trace trick
def _order(w: World, v: Expr) -> int:
    return 10 ** 9 if v is w.X else w.order[w.name_of(v)]


def _terms(w: World, frontier: dict) -> list[Term]:
    return [Term(frontier[v], w.tangent(v), style_of(w, v))
            for v in sorted(frontier, key=lambda u: _order(w, u), reverse=True)]


def _move_rule(w: World, linear: Expr, inputs: list, seed: Expr) -> list[str]:
    vector = is_column(seed.shape) and all(is_column(u.shape) for u in inputs)
    rules = move_rules(linear, [w.tangent(u) for u in inputs], vector)
    if any(u is w.X and style_of(w, u) == "trace" for u in inputs):
        rules = [r for r in rules if not r.startswith(("⟨G, A dX B⟩", "gᵀ (A ", "tr(A) = ⟨I, A⟩"))]
        if linear.op == "trace" or (linear.op == "add" and all(t.op == "trace" for t in linear.args)):
            rules.append("tr(A) + tr(B) = tr(A + B)" if linear.op == "add" else "tr(Aᵀ) = tr(A)")
        else:
            rules.insert(0, TRACE_MOVE)
    return rules


def gradient_chain(ctx: Context, canonical: dict) -> tuple[list[Step], Expr | None]:
    """Back-substitution into ``dJ = ⟨G, dX⟩``; returns the steps and G."""
    w = ctx.world
    top = w.top
    lhs, lhs_l = d_lhs(w, top)
    frontier: dict = {}
    out: list[Step] = []
    if canonical:
        frontier = {v: canonical[v] for v in top.inputs}
    else:
        for v in top.inputs:
            frontier[v] = w.clean(adjoint(top.differential, w.tangent(v), G.const(1)))
        s = terms_step(ctx, lhs, lhs_l, _terms(w, frontier), group="chain", role="differential",
                       rule="; ".join(_move_rule(w, top.differential, top.inputs, G.const(1))))
        if s.rhs != ctx.fmt.text(top.differential):
            out.append(s)
    while any(v is not w.X for v in frontier):
        v = max((u for u in frontier if u is not w.X), key=lambda u: _order(w, u))
        q = w.quantity_of(v)
        g = frontier.pop(v)
        dq = "d" + name_text(q.name)
        sub_terms = [Term(g, q.differential, style_of(w, v))] + _terms(w, frontier)
        sub = terms_step(ctx, lhs, lhs_l, sub_terms, group="chain", role="differential",
                         rule=f"substitute {dq} = {ctx.fmt.text(q.differential)}")
        out.append(sub)
        merged = []
        for u in q.inputs:
            c = w.pullback(q, u, g)
            if u in frontier:
                merged.append(u)
                c = B.add(frontier[u], c)
            frontier[u] = w.clean(c)
        rules = _move_rule(w, q.differential, q.inputs, g)
        for u in merged:
            rules.append(f"collect the terms in d{name_text(w.name_of(u))}")
        move = terms_step(ctx, lhs, lhs_l, _terms(w, frontier), group="chain", role="differential",
                          rule="; ".join(rules) or "rearrange")
        if move.rhs != sub.rhs:
            out.append(move)
    if not frontier:
        return out, None
    gx = frontier[w.X]
    if style_of(w, w.X) == "trace":
        fmt = ctx.fmt
        dxt = "d" + name_text(w.x_name)
        dxl = "\\mathrm{d}" + name_latex(w.x_name)
        expr = G.make("sum", (G.make("hadamard", (gx, w.dX)),), (None,))
        # G is bracketed before ":" when it is a sum: "(A - B) : dX", not "A - B : dX"
        rhs = f"{fmt.pair_text(gx, w.dX)} = {fmt.frobenius_text(gx)} : {dxt}"
        rhs_l = f"{fmt.pair_latex(gx, w.dX)} = {fmt.frobenius_latex(gx)} : {dxl}"
        prods = [Product("inner", [(fmt.factor_text(gx), gx.shape), (dxt, w.dX.shape)], (ONE, ONE))]
        out.append(step(ctx, lhs, lhs_l, expr, rhs=rhs, rhs_latex=rhs_l, products=prods, group="chain",
                        role="differential", rule=FROBENIUS))
    return out, gx


# ====================================================================== identification
def _grad_lhs(ctx: Context, layout: str) -> tuple[str, str]:
    res = ctx.result
    d = res.derivative
    return (L.lhs(d, layout, res.of_plain, name_text(res.request.wrt_name), "text"),
            L.lhs(d, layout, res.of_latex, name_latex(res.request.wrt_name), "latex"))


def layout_value(g: Expr, layout: str) -> tuple[Expr, str]:
    """G as the layout lays it out, and the ``layout`` tag of that value."""
    if layout == "numerator":
        return push_transpose(B.transpose(g)), "numerator"
    if layout == "vec":
        return B.transpose(B.vec(g)), "vec"
    return g, "shape"


def identification_steps(ctx: Context, g: Expr, layout: str) -> list[Step]:
    """``∂J/∂X = G``, then the layout's arrangement of it, each with why."""
    w = ctx.world
    res = ctx.result
    X = w.X
    xs = shape_str(X.shape)
    x = name_text(w.x_name)
    f = res.of_plain
    lhs, lhs_l = _grad_lhs(ctx, "shape")
    vector = is_column(X.shape)
    if vector:
        why = (f"d{f} = gᵀ d{x} for every d{x}, so g is the gradient; it is a column like {x} ({xs}) "
               f"in the shape convention and in denominator layout")
    else:
        why = (f"d{f} = ⟨G, d{x}⟩ for every d{x}, so G is the gradient, laid out like {x} ({xs}): "
               f"the shape convention, and denominator layout")
    out = [step(ctx, lhs, lhs_l, g, group="result", role="gradient", quantity=w.x_name, layout="shape",
                rule="identification", note=why)]
    if layout in ("numerator", "vec", "index"):
        llhs, llhs_l = _grad_lhs(ctx, layout)
        if layout == "index":
            if res.derivative.within_symmetric:
                return out  # the index form printed is sym(G)'s: the closing step gives it
            view = res.view("index")
            out.append(step(ctx, llhs, llhs_l, g, rhs=view.rhs_text, rhs_latex=view.rhs_latex, products=[],
                            group="result", role="gradient", quantity=w.x_name, layout="shape",
                            rule="index notation",
                            note=f"d{f} = Σ G_ij d{x}_ij: each entry of G is one partial derivative"))
            return out
        value, tag = layout_value(g, layout)
        if layout == "numerator":
            if vector:
                why = (f"numerator layout writes d{f} = (∂{f}/∂{x}) d{x}: the derivative is the row gᵀ "
                       f"(1×{shape_str(X.shape).split('×')[0]}), the transpose of {x}'s shape")
            else:
                why = (f"numerator layout reads ∂{f}/∂{x} off d{f} = tr(A d{x}): A = Gᵀ, laid out like "
                       f"{x}ᵀ ({shape_str((X.shape[1], X.shape[0]))}), the transpose of {x}'s shape")
        else:
            why = f"d{f} = (vec G)ᵀ d vec {x}: the vec layout is the row (vec G)ᵀ"
        out.append(step(ctx, llhs, llhs_l, value, group="result", role="gradient", quantity=w.x_name,
                        layout=tag, rule="transpose" if layout == "numerator" else "vec", note=why))
    return out


# ====================================================================== Jacobians
_VEC_MOVES = {
    "matmul": ("A dv: the Jacobian is A", "vec(A dX B) = (Bᵀ ⊗ A) vec dX"),
    "hadamard": ("a ⊙ dv = diag(a) dv", "vec(A ⊙ dX) = diag(vec A) vec dX"),
    "hdiv": ("dv ⊘ a = diag(a)⁻¹ dv", "vec(dX ⊘ A) = diag(vec A)⁻¹ vec dX"),
    "transpose": ("vec(dvᵀ) = dv", "vec(dXᵀ) = K vec dX (the commutation matrix)"),
    "broadcast": ("vec(db 𝟏ᵀ) = (𝟏 ⊗ I) db",) * 2,
    "sum": ("𝟏ᵀ dv", "vec(𝟏ᵀ dX) = (I ⊗ 𝟏ᵀ) vec dX"),
    "trace": ("tr(dX) = (vec I)ᵀ vec dX",) * 2,
}


def _vec_rules(linear: Expr, tangents: list, vector: bool) -> str:
    out = []
    for t in tangents:
        deps = G.dependency_set(linear, t)
        for node in G.postorder(linear):
            if id(node) in deps and node.op in _VEC_MOVES:
                phrase = _VEC_MOVES[node.op][0 if vector else -1]
                if phrase not in out:
                    out.append(phrase)
    return "; ".join(out)


def _vec_terms(ctx: Context, frontier: dict) -> tuple[Expr, list]:
    w = ctx.world
    parts = [B.matmul(frontier[v], B.vec(w.tangent(v)))
             for v in sorted(frontier, key=lambda u: _order(w, u), reverse=True)]
    return (parts[0] if len(parts) == 1 else B.add(*parts)) if parts else None, parts


def _vec_lhs(w: World) -> tuple[str, str]:
    lhs, lhs_l = d_lhs(w, w.top)
    if not is_column(w.top.node.shape):
        return "vec " + lhs, "\\operatorname{vec} " + lhs_l
    return lhs, lhs_l


def jacobian_chain(ctx: Context) -> tuple[list[Step], Expr | None]:
    """``d vec Y = K d vec N``, substituted back to ``d vec Y = K d vec X``."""
    w = ctx.world
    top = w.top
    lhs, lhs_l = _vec_lhs(w)
    vector = all(is_column(q.var.shape) for q in w.path) and is_column(w.X.shape)
    frontier = {v: w.clean(vec_jacobian(top.differential, w.tangent(v))) for v in top.inputs}
    out = []
    expr, _ = _vec_terms(ctx, frontier)
    s = step(ctx, lhs, lhs_l, expr, group="chain", role="differential", layout="vec",
             rule=_vec_rules(top.differential, [w.tangent(v) for v in top.inputs], vector))
    if s.rhs != ctx.fmt.text(top.differential):
        out.append(s)
    while any(v is not w.X for v in frontier):
        v = max((u for u in frontier if u is not w.X), key=lambda u: _order(w, u))
        q = w.quantity_of(v)
        k = frontier.pop(v)
        rest, _ = _vec_terms(ctx, frontier)
        sub_expr = B.matmul(k, B.vec(q.differential))
        sub_expr = sub_expr if rest is None else B.add(sub_expr, rest)
        sub = step(ctx, lhs, lhs_l, sub_expr, group="chain", role="differential", layout="vec",
                   rule=f"substitute d{name_text(q.name)} = {ctx.fmt.text(q.differential)}")
        out.append(sub)
        for u in q.inputs:
            c = B.matmul(k, vec_jacobian(q.differential, w.tangent(u)))
            frontier[u] = w.clean(B.add(frontier[u], c) if u in frontier else c)
        expr, _ = _vec_terms(ctx, frontier)
        move = step(ctx, lhs, lhs_l, expr, group="chain", role="differential", layout="vec",
                    rule=_vec_rules(q.differential, [w.tangent(u) for u in q.inputs], vector))
        if move.rhs != sub.rhs:
            out.append(move)
    return out, frontier.get(w.X)


def jacobian_identification(ctx: Context, k: Expr, layout: str) -> list[Step]:
    res = ctx.result
    d = res.derivative
    w = ctx.world
    y = res.of_plain
    x = name_text(w.x_name)
    if d.kind == "tensor":
        lhs = L.lhs(d, "vec", y, x, "text")
        lhs_l = L.lhs(d, "vec", res.of_latex, name_latex(w.x_name), "latex")
        out = [step(ctx, lhs, lhs_l, k, group="result", role="jacobian", quantity=w.x_name, layout="vec",
                    rule="identification",
                    note=f"d vec {y} = K d vec {x}: K is the derivative in the vec layout (Magnus–Neudecker); "
                         f"as a matrix-by-matrix derivative it is a 4-index tensor")]
        if layout != "vec":
            view = res.view(layout)
            out.append(prose(ctx, f"in the {layout} layout: {view.text}", view.latex, group="result",
                             note="a 4-index tensor is shown entry by entry, not as a made-up matrix"))
        return out
    lhs = L.lhs(d, "numerator", y, x, "text")
    lhs_l = L.lhs(d, "numerator", res.of_latex, name_latex(w.x_name), "latex")
    out = [step(ctx, lhs, lhs_l, k, group="result", role="jacobian", quantity=w.x_name, layout="numerator",
                rule="identification",
                note=f"d{y} = J d{x}: J is the Jacobian, {y}'s entries down the rows (numerator layout, "
                     f"also the shape convention's)")]
    if layout == "denominator":
        llhs = L.lhs(d, layout, y, x, "text")
        llhs_l = L.lhs(d, layout, res.of_latex, name_latex(w.x_name), "latex")
        out.append(step(ctx, llhs, llhs_l, push_transpose(B.transpose(k)), group="result", role="jacobian",
                        quantity=w.x_name, layout="denominator", rule="transpose",
                        note=f"denominator layout puts {x}'s entries down the rows: the transpose of J"))
    elif layout == "index":
        view = res.view("index")
        out.append(prose(ctx, view.text, view.latex, group="result", rule="index notation"))
    return out


# ====================================================================== the view
def build(ctx: Context, layout: str) -> list[Step]:
    w = ctx.world
    d = ctx.result.derivative
    canonical: dict = {}
    body: list[Step] = []
    for q in w.path:
        body.extend(local_steps(ctx, q, canonical if q is w.top else {}))
    if d.kind == "gradient":
        chain, g = gradient_chain(ctx, canonical)
        body.extend(chain)
        if g is None:
            g = G.zeros(*w.X.shape)
        body.extend(identification_steps(ctx, g, layout))
    else:
        chain, k = jacobian_chain(ctx)
        body.extend(chain)
        if k is None:
            k = G.zeros(d.of.shape[0] * d.of.shape[1], w.X.shape[0] * w.X.shape[1])
        body.extend(jacobian_identification(ctx, k, layout))
    return forward_steps(ctx, mentioned_names(w, body)) + body
