"""Step-by-step derivations, as the textbooks and course notes write them.

Two views of one derivative:

``"differentials"`` (Magnus & Neudecker, the trace trick)
    the forward definitions with their shapes; each definition's local
    differential by its operator's rule (``dz = dW x``, ``dh = relu′(z) ⊙ dz``,
    ``dJ = (ŷ − y)ᵀ dθ``); back-substitution with each trace-trick move named,
    down to ``dJ = tr(Gᵀ dX) = ⟨G, dX⟩ = G : dX``; then ``∂J/∂X = G`` and its
    layout.  A Jacobian ends with ``dy = J dx``.

``"backprop"`` (CS224n's δ's, Ng's dZ/dW/db)
    the chain rule as a product of Jacobians, ``δ₂ = δ₁ᵀ U diag(relu′(z))``
    with the factors' shapes, then in the requested layout
    (``δ₂ = (Uᵀ δ₁) ⊙ relu′(z)`` in the shape convention) with the reason for
    each transpose, and the variables' gradients from the δ's
    (``∂J/∂W = δ₂ xᵀ``).

Every step carries its expression, so the steps can be checked numerically:
:func:`evaluation_env` gives values to the named quantities, their
differentials and the δ's.  Anything the views do not cover gets a short,
honest list instead of an error.
"""

from __future__ import annotations

from ..graph import Expr
from ..ops.registry import MissingRule
from .common import Context, Step, prose
from .format import Formatter
from .world import evaluation_env, world_of

KINDS = ("differentials", "backprop")
_ALIASES = {"differential": "differentials", "trace": "differentials", "mn": "differentials",
            "delta": "backprop", "deltas": "backprop", "chain": "backprop", "δ": "backprop"}


def build_steps(result, kind: str = "differentials", layout: str = "shape") -> list[Step]:
    """The derivation of ``result`` step by step, in ``layout``."""
    from .. import layouts as L

    kind = _ALIASES.get(kind, kind)
    L.check_layout(layout)
    if kind not in KINDS:
        from ..errors import MatcalcError

        raise MatcalcError(f"unknown kind of steps {kind!r}; choose one of {', '.join(KINDS)}")
    d = result.derivative
    if d.order != 1 or d.kind == "hessian":
        return _fallback(result, layout, "step-by-step derivations cover first derivatives; "
                                         "a Hessian is the derivative of the gradient (shown above)")
    try:
        world = world_of(result)
        ctx = Context(result, world, Formatter(world.labels))
        if not world.depends():
            return _independent(ctx, layout)
        if kind == "backprop":
            from .backprop import build
        else:
            from .differentials import build
        steps = _within_symmetric(build(ctx, layout), ctx, layout)
    except MissingRule as e:
        return _fallback(result, layout, f"no step-by-step derivation for this expression: {e}")
    except Exception as e:  # noqa: BLE001 - a derivation never takes the kernel down: say so, show the answer
        return _fallback(result, layout, f"no step-by-step derivation for this expression "
                                         f"({type(e).__name__}: {e})")
    return _finish(steps, ctx)


def _within_symmetric(steps: list[Step], ctx: Context, layout: str) -> list[Step]:
    """By a symmetric matrix the result is taken within symmetric matrices:
    the last step says so, and gives the gradient sym(G) when it differs from
    the G the steps found."""
    res = ctx.result
    if not res.note:
        return steps
    view = res.view(layout)
    last = next((s for s in reversed(steps) if s.rhs), None)
    if res.kind != "gradient" or last is None or last.rhs == view.rhs_text:
        return steps + [prose(ctx, res.note, res.note_latex, group="note")]
    from .common import step

    return steps + [step(ctx, view.lhs_text, view.lhs_latex, view.expr, rhs=view.rhs_text, rhs_latex=view.rhs_latex,
                         products=None if view.expr is not None else [], group="result", role="symmetric",
                         quantity=res.request.wrt_name, layout=layout, rule=res.note, rule_latex=res.note_latex)]


def _finish(steps: list[Step], ctx) -> list[Step]:
    from .format import merge_subscripts, rule_latex

    for s in steps:
        s.context = ctx
        s.latex = merge_subscripts(s.latex)
        s.lhs_latex = merge_subscripts(s.lhs_latex)
        if s.rule and not s.rule_latex:
            s.rule_latex = rule_latex(s.rule)
        if s.note and not s.note_latex:
            s.note_latex = rule_latex(s.note)
    return steps


def _independent(ctx: Context, layout: str) -> list[Step]:
    from .format import rule_latex

    res = ctx.result
    view = res.view(layout)
    message = f"{res.of_plain} does not depend on {res.request.wrt_name}: the derivative is zero"
    return _finish([prose(ctx, message, rule_latex(message), group="note"),
                    Step(latex=view.latex, text=view.text, expr=view.expr, group="result", role="", context=ctx)],
                   ctx)


def _fallback(result, layout: str, message: str) -> list[Step]:
    from .format import rule_latex

    view = result.view(layout)
    return _finish([Step(latex=rule_latex(message), text=message, group="note"),
                    Step(latex=view.latex, text=view.text, expr=None, group="result")], None)


# ====================================================================== rendering
def render_text(steps: list[Step]) -> str:
    """The steps as plain text, one per line, with the rule used and why."""
    lines = []
    group = None
    for s in steps:
        if s.group != group and s.group:
            lines.append(f"-- {_GROUP_TITLES.get(s.group, s.group)}")
            group = s.group
        line = "  " + s.text
        if s.rule:
            line += f"\n      by: {s.rule}"
        if s.note:
            line += f"\n      why: {s.note}"
        lines.append(line)
    return "\n".join(lines)


def render_latex(steps: list[Step], notes: bool = True) -> str:
    """The steps as one ``aligned`` block, rules beside them, the reasons
    (``why``) on a line of their own."""
    rows = []
    for s in steps:
        body = s.latex.replace(" = ", " &= ", 1) if " = " in s.latex else "& " + s.latex
        if s.rule_latex:
            body += " && " + s.rule_latex
        rows.append(body)
        if notes and s.note_latex:
            rows.append("& \\qquad " + s.note_latex)
    return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"


_GROUP_TITLES = {
    "forward": "forward pass",
    "local": "local differentials",
    "chain": "back-substitution (the trace trick)",
    "result": "identification",
    "jacobian": "the chain rule as a product of Jacobians",
    "delta": "δ's",
    "gradient": "gradients",
    "note": "note",
}

__all__ = ["KINDS", "Expr", "Step", "build_steps", "evaluation_env", "render_latex", "render_text"]
