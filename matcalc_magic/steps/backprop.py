"""The backprop view: δ's, as in CS224n's notes and Ng's dZ/dW/db.

For a scalar J, the error signal of a named quantity is ``δ = ∂J/∂z`` with
everything upstream of ``z`` held fixed (a cut of the graph at that name).
The view

1. writes each δ by the chain rule as a product of Jacobians (numerator
   layout, so the factors' shapes chain: ``δ₁ᵀ U diag(relu′(z))`` is
   (1×k)(k×m)(m×m));
2. lays it out as the requested layout does — the shape convention makes
   ``∂J/∂z`` a column like ``z``, so the row is transposed, which is where the
   ``Uᵀ`` comes from: ``δ₂ = (Uᵀ δ₁) ⊙ relu′(z)`` — with the reason for each
   transpose;
3. reads the variables' gradients off the δ's (``∂J/∂W = δ₂ xᵀ``,
   ``∂J/∂b₁ = δ₂``, ``∂J/∂x = Wᵀ δ₂``).

Quantities made by an elementwise function (``h = relu(z)``, ``A1 = tanh(Z1)``)
get no δ of their own: their diagonal Jacobian folds into the next δ, as the
notes do.  δ's are adjoints of the local differentials, with the earlier δ's
as symbols; local Jacobians are the vec Jacobians of the local differentials.
"""

from __future__ import annotations

from .. import graph as G
from .. import layouts as L
from ..calculus.adjoint import adjoint
from ..calculus.vectorize import vec_jacobian
from ..graph import Expr
from ..ops import build as B
from ..render.names import name_latex, name_text
from .common import Context, Step, step
from .differentials import (
    forward_steps,
    identification_steps,
    jacobian_identification,
    mentioned_names,
)
from .format import rule_latex, shape_str
from .world import World, is_column, is_elementwise, jvp, push_transpose

_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _delta_name(k: int) -> str:
    return "δ" + str(k).translate(_SUB)


def _jac_text(a: str, b: str, a_col: bool, b_col: bool) -> str:
    """∂a/∂bᵀ, or its vec form when a or b is not a column."""
    num = a if a_col else f"vec {a}"
    den = f"{b}ᵀ" if b_col else f"(vec {b})ᵀ"
    return f"∂{num}/∂{den}"


class Backprop:
    def __init__(self, ctx: Context, layout: str):
        self.ctx = ctx
        self.w: World = ctx.world
        self.layout = layout
        self.rows = layout == "numerator"  # δ's as rows, as the notes write them
        w = self.w
        self.path = [q for q in w.path if q is not w.top]
        self.deltas = [q for q in self.path if not is_elementwise(q.local)]
        self.symbol: dict = {}  # quantity name -> δ var (in the layout's orientation)
        for k, q in enumerate(reversed(self.deltas), 1):
            shape = (q.var.shape[1], q.var.shape[0]) if self.rows else q.var.shape
            self.symbol[q.name] = G.var(_delta_name(k), shape)
        self.seed: dict = {}  # quantity name -> its cotangent, in shape form (δ or inline)
        self.row: dict = {}  # quantity name -> (vec ∂J/∂q)ᵀ as a product of Jacobians
        self.colmap: dict = {}  # δ var -> its value over the cell's names (the symbol's orientation)
        self.steps: list[Step] = []

    # ------------------------------------------------------------ helpers
    def col_form(self, q) -> Expr:
        """The δ symbol of ``q`` as a matrix of q's shape."""
        s = self.symbol[q.name]
        return B.transpose(s) if self.rows else s

    def seed_of(self, c) -> Expr:
        if c is self.w.top:
            return G.const(1)
        return self.col_form(c) if c.name in self.symbol else self.seed[c.name]

    def shown(self, g: Expr) -> Expr:
        """A shape-form cotangent in the layout's orientation."""
        return push_transpose(B.transpose(g), rows=True) if self.rows else g

    def expand(self, g: Expr) -> Expr:
        """A shape-form expression in δ's, written with the cell's names."""
        if not self.colmap:
            return g
        return self.w.clean(push_transpose(G.substitute(g, self.colmap)))

    def jac_row(self, c, v: Expr, differential: Expr) -> Expr:
        """(vec ∂J/∂c)ᵀ ∂vec c/∂(vec v)ᵀ: one consumer's share of v's row."""
        w = self.w
        t = w.tangent(v) if (v is w.X or v in w.by_var) else G.tangent("d" + G.var_name(v), v.shape)
        if c is w.top:
            g = w.clean(adjoint(differential, t, G.const(1)))
            return B.transpose(B.vec(g))
        k = w.clean(vec_jacobian(differential, t))
        left = B.transpose(B.vec(self.col_form(c))) if c.name in self.symbol else self.row[c.name]
        return B.matmul(left, k)

    def chain_text(self, q) -> str:
        """∂J/∂θᵀ ∂θ/∂hᵀ ∂h/∂zᵀ for a quantity with one line of consumers."""
        w = self.w
        f = self.ctx.result.of_plain
        parts, cur = [], q
        while True:
            cons = w.consumers(cur.var)
            if len(cons) != 1:
                return ""
            c = cons[0]
            col_c = is_column(c.node.shape)
            if c is w.top:
                parts.append(_jac_text(f, name_text(cur.name), True, is_column(cur.var.shape)))
                break
            parts.append(_jac_text(name_text(c.name), name_text(cur.name), col_c, is_column(cur.var.shape)))
            if c.name in self.symbol:
                parts.append(_jac_text(f, name_text(c.name), True, col_c))
                break
            cur = c
        return " ".join(reversed(parts))

    def lhs_row(self, name: str, col: bool) -> str:
        f = self.ctx.result.of_plain
        return _jac_text(f, name_text(name), True, col)

    # ------------------------------------------------------------ δ's
    def delta_steps(self, q) -> None:
        w, ctx = self.w, self.ctx
        f = ctx.result.of_plain
        z = name_text(q.name)
        sym = self.symbol[q.name]
        d = name_text(G.var_name(sym))
        dl = name_latex(G.var_name(sym))
        col = is_column(q.var.shape)
        consumers = w.consumers(q.var)
        g = w.clean(B.add(*(w.pullback(c, q.var, self.seed_of(c)) for c in consumers)))
        row = B.add(*(self.jac_row(c, q.var, c.differential) for c in consumers))
        self.row[q.name] = row
        # 1. the chain rule, Jacobians in numerator layout
        chain = self.chain_text(q)
        lhs_row = self.lhs_row(q.name, col)
        first = all(c is w.top for c in consumers)
        if first:
            rule = f"the local differential of {f}: d{f} = ({lhs_row}) d{z}" if col else \
                f"the local differential of {f}: d{f} = ({lhs_row}) d vec {z}"
        else:
            rule = f"chain rule, Jacobians in numerator layout: {lhs_row} = {chain}" if chain else \
                "chain rule, Jacobians in numerator layout, summed over the quantities that use " + z
        if self.rows and col:
            lhs_t, lhs_l = f"{d} = {lhs_row}", f"{dl} = " + _latex_jac(f, q.name, True)
        else:
            lhs_t, lhs_l = lhs_row, _latex_jac(f, q.name, col)
        self.steps.append(step(ctx, lhs_t, lhs_l, row, group="delta", role="gradient", quantity=q.name,
                               layout="vec", rule=rule))
        # 2. the transposed product (shape convention / denominator layout)
        shape_s = shape_str(q.var.shape)
        if not self.rows and col:
            flipped = push_transpose(B.transpose(row))
            if self.layout == "denominator":
                why = (f"denominator layout lays ∂{f}/∂{z} out like {z}, a column ({shape_s}); its Jacobians "
                       f"are the transposes of the numerator ones, so the chain rule runs right to left and "
                       f"produces the column directly")
                r = f"{d} = ∂{f}/∂{z}; chain rule, Jacobians in denominator layout (right to left)"
            else:
                why = (f"we transpose because the shape convention lays ∂{f}/∂{z} out like {z}, a column "
                       f"({shape_s}), while the chain rule of Jacobians produces a row "
                       f"({shape_str((q.var.shape[1], q.var.shape[0]))})")
                r = f"{d} = ∂{f}/∂{z}, laid out like {z}: transpose the row" + \
                    ("; (AB)ᵀ = Bᵀ Aᵀ" if _has(row, "matmul") else "")
            s = step(ctx, d, dl, flipped, group="delta", role="gradient", quantity=q.name, layout="shape",
                     rule=r, note=why, symbol=sym)
            self.steps.append(s)
            last = s.rhs
        else:
            last = None
        # 3. the δ in the layout, compact
        shown = self.shown(g)
        if self.rows:
            why = (f"numerator layout lays ∂{f}/∂{z} out like {z}ᵀ "
                   f"({shape_str((q.var.shape[1], q.var.shape[0]))}), which is what the chain rule of Jacobians "
                   f"produces: no transpose is needed" if col else
                   f"numerator layout lays ∂{f}/∂{z} out like {z}ᵀ; reshaping the vec row gives it")
            r = "v diag(a) = v ⊙ aᵀ" if _has(row, "diag") else "rearrange"
        elif col:
            why = ""
            r = "diag(a) v = a ⊙ v" if _has(row, "diag") else "rearrange"
        else:
            why = (f"{z} is not a column: its Jacobians are 4-index tensors, written in vec form above; the "
                   f"shape convention lays ∂{f}/∂{z} out like {z} ({shape_s}), so the vec row is reshaped "
                   f"(vec⁻¹) into that shape")
            r = (f"{d} = ∂{f}/∂{z}, laid out like {z}: undo vec with (vec A)ᵀ (I ⊗ B) = (vec(Bᵀ A))ᵀ "
                 f"and (vec a)ᵀ diag(vec v) = (vec(a ⊙ v))ᵀ")
        s = step(ctx, d, dl, shown, group="delta", role="gradient", quantity=q.name,
                 layout="numerator" if self.rows else "shape", rule=r, note=why, symbol=sym)
        if self.rows:
            last = self.steps[-1].rhs
        if s.rhs != last:
            self.steps.append(s)
        else:
            self.steps[-1].symbol = sym
        # 4. the δ in terms of the cell's names
        value = self.shown(self.expand(g))
        ctx.symbols.append((sym, value))
        had = bool(self.colmap)
        self.colmap[sym] = value
        if ctx.fmt.text(value) != s.rhs:
            self.steps.append(step(ctx, d, dl, value, group="delta", role="gradient", quantity=q.name,
                                   layout="numerator" if self.rows else "shape",
                                   rule="substitute the δ's" if had else ""))

    # ------------------------------------------------------------ gradients
    def gradient_vars(self) -> list[Expr]:
        """The requested variables of the same function whose gradients follow
        from these δ's, the request's own variable last.

        Another variable qualifies only when every quantity using it lies
        strictly between X and J, where its cotangent is one of these δ's
        (``∂J/∂U = δ₁ hᵀ`` beside ``∂J/∂W``).  A variable J uses directly
        (``S`` in ``J = log det(S) + (x - μ)ᵀ S⁻¹ (x - μ)``, asked for ∂J/∂μ)
        is a branch of its own off J, not a step on the way to X."""
        w = self.w
        res = self.ctx.result
        upstream = {q.name for q in self.path}  # self.path leaves J out
        out = []
        for r in res.cell.requests:
            if r.of is not res.request.of or r.order != 1 or r.wrt is w.X:
                continue
            v = r.wrt
            if v.op != "var" or r.wrt_name not in res.cell.variables:
                continue
            users = [q for q in w.quantities.values() if any(x is v for x in G.leaves(q.local, "var"))]
            if users and all(q.name in upstream for q in users) and v not in out:
                out.append(v)
        return out + [w.X]

    def gradient_steps(self, v: Expr) -> Expr:
        w, ctx = self.w, self.ctx
        res = ctx.result
        f = res.of_plain
        name = G.var_name(v) if v is not w.X else w.x_name
        x = name_text(name)
        t = w.tangent(v) if v is w.X else G.tangent("d" + name, v.shape)
        users = [q for q in w.path if any(a is v for a in G.leaves(q.local, "var"))]
        parts, rows = [], []
        for c in users:
            dc = w.refold(jvp(c.local, {v: t}))
            if dc is None:
                continue
            parts.append(adjoint(dc, t, self.seed_of(c)))
            if is_column(v.shape):
                rows.append(self.jac_row(c, v, dc))
        if not parts:
            return G.zeros(*v.shape)
        g = w.clean(B.add(*parts))
        col = is_column(v.shape)
        d = res.derivative
        lhs_num = L.lhs(d, "numerator", f, x, "text")
        lhs_shape = L.lhs(d, "shape", f, x, "text")
        lhs_num_l = L.lhs(d, "numerator", res.of_latex, name_latex(name), "latex")
        lhs_shape_l = L.lhs(d, "shape", res.of_latex, name_latex(name), "latex")
        if col and rows and not v.is_scalar:
            row = B.add(*rows)
            self.steps.append(step(ctx, lhs_num, lhs_num_l, row, group="gradient", role="gradient",
                                   quantity=name, layout="vec",
                                   rule="chain rule, Jacobians in numerator layout"))
        shown = self.shown(g)
        if self.rows:
            why = "" if v.is_scalar else (f"numerator layout lays ∂{f}/∂{x} out like {x}ᵀ "
                                          f"({shape_str((v.shape[1], v.shape[0]))})")
            self_step = step(ctx, lhs_num, lhs_num_l, shown, group="gradient", role="gradient", quantity=name,
                             layout="numerator", rule="", note=why)
        else:
            if v.is_scalar:
                why = ""
            elif col:
                why = (f"we transpose because the shape convention lays ∂{f}/∂{x} out like {x}, a column "
                       f"({shape_str(v.shape)}), while the chain rule of Jacobians produces a row")
            else:
                gt = ctx.fmt.text(push_transpose(B.transpose(g)))
                # a symmetric G (x xᵀ, S⁻¹ - S⁻¹ a aᵀ S⁻¹) prints the same transposed: say so, not "its transpose, G"
                other = (f"numerator layout would give its transpose, {gt}" if gt != ctx.fmt.text(g) else
                         "it is symmetric, so numerator layout gives the same")
                why = f"laid out like {x} ({shape_str(v.shape)}); {other}"
            self_step = step(ctx, lhs_shape, lhs_shape_l, shown, group="gradient", role="gradient",
                             quantity=name, layout="shape", rule="", note=why)
        if not self.steps or self_step.text != self.steps[-1].text:
            self.steps.append(self_step)
        return g

    # ------------------------------------------------------------ the view
    def build(self) -> list[Step]:
        w, ctx = self.w, self.ctx
        for q in reversed(self.path):
            if q.name in self.symbol:
                self.delta_steps(q)
            else:
                cons = w.consumers(q.var)
                self.seed[q.name] = w.clean(B.add(*(w.pullback(c, q.var, self.seed_of(c)) for c in cons)))
                self.row[q.name] = B.add(*(self.jac_row(c, q.var, c.differential) for c in cons))
        gx = None
        for v in self.gradient_vars():
            g = self.gradient_steps(v)
            if v is w.X:
                gx = g
        value = self.expand(gx)
        ident = identification_steps(ctx, value, self.layout)
        while self.steps and self.steps[-1].quantity == w.x_name and self.steps[-1].rhs == ident[0].rhs \
                and self.steps[-1].layout == ident[0].layout:
            # both notes may say "laid out like X (m×n)": keep the clauses the identification lacks
            extra = [c for c in self.steps[-1].note.split("; ") if c and c not in ident[0].note]
            ident[0].note = "; ".join(extra + [ident[0].note] if ident[0].note else extra)
            self.steps.pop()
        self.steps.extend(ident)
        return forward_steps(ctx, mentioned_names(w, self.steps)) + self.steps


def _latex_jac(f: str, name: str, col: bool) -> str:
    fl = f
    z = name_latex(name)
    if col:
        return f"\\frac{{\\partial {fl}}}{{\\partial {z}^{{\\top}}}}"
    return f"\\frac{{\\partial {fl}}}{{\\partial (\\operatorname{{vec}} {z})^{{\\top}}}}"


def _has(e: Expr, op: str) -> bool:
    return any(n.op == op for n in G.postorder(e))


# ====================================================================== Jacobians
def jacobian_build(ctx: Context, layout: str) -> list[Step]:
    """For a vector (or matrix) function: the local Jacobians, then their
    product by the chain rule."""
    w = ctx.world
    steps: list[Step] = []
    ks: dict = {}
    for c in reversed(w.path):
        for v in c.inputs:
            k = w.clean(vec_jacobian(c.differential, w.tangent(v)))
            ks[(c.name, id(v))] = k
            a = name_text(c.name) if c.name is not None else ctx.result.of_plain
            b = name_text(w.name_of(v))
            lhs = _jac_text(a, b, is_column(c.node.shape), is_column(v.shape))
            steps.append(step(ctx, lhs, rule_latex(lhs), k, group="jacobian", role="", quantity=w.name_of(v),
                              rule=f"from d{a} = {ctx.fmt.text(c.differential)}"))
    prod: dict = {}

    def product(v):
        if id(v) in prod:
            return prod[id(v)]
        terms = []
        for c in w.consumers(v):
            k = ks[(c.name, id(v))]
            terms.append(k if c is w.top else B.matmul(product(c.var), k))
        prod[id(v)] = B.add(*terms)
        return prod[id(v)]

    raw = product(w.X)
    res = ctx.result
    lhs = L.lhs(res.derivative, "vec", res.of_plain, name_text(w.x_name), "text")
    lhs_l = L.lhs(res.derivative, "vec", res.of_latex, name_latex(w.x_name), "latex")
    chain = step(ctx, lhs, lhs_l, raw, group="jacobian", role="jacobian", quantity=w.x_name, layout="vec",
                 rule="chain rule: the product of the local Jacobians")
    ident = jacobian_identification(ctx, w.clean(raw), layout)
    if len(ks) > 1 and chain.rhs != ident[0].rhs:
        steps.append(chain)
    elif len(ks) == 1:
        steps.pop()  # one Jacobian: the identification says it all
    steps.extend(ident)
    return forward_steps(ctx, mentioned_names(w, steps)) + steps


def build(ctx: Context, layout: str) -> list[Step]:
    if ctx.result.derivative.kind != "gradient":
        return jacobian_build(ctx, layout)
    return Backprop(ctx, layout).build()
