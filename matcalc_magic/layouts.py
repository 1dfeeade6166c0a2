"""Layouts: how one derivative is laid out, as a view of it.

For ``Y = f(X)`` the derivative is one object, ``∂Y_{ij}/∂X_{kl}``; a layout
only chooses how its indices become rows and columns:

============  ==========================  ===========================
layout        vector by vector (m, n)     scalar by matrix (W: m×n)
============  ==========================  ===========================
numerator     m×n (the Jacobian)          n×m
denominator   n×m                         m×n
shape         m×n (Jacobian)              m×n (the shape of W)
index         ∂y_i/∂x_j                   ∂J/∂W_ij
vec           ∂vec y/∂(vec x)ᵀ            1×mn
============  ==========================  ===========================

A Hessian-vector product ∇²J · v is laid out as the gradient it is the
derivative of (in the variable's shape, transposed in numerator layout).
Derivatives of or by matrices that are not gradients are 3- and 4-index
tensors: numerator, shape and index views list the output's indices first,
denominator the variable's; vec is the Magnus–Neudecker matrix.
Nothing here differentiates: every view is built from the
:class:`~matcalc_magic.calculus.derivative.Derivative`.
"""

from __future__ import annotations

import numpy as np

from .calculus.derivative import Derivative
from .graph import Expr
from .ops import build as B
from .shapes import ONE, concrete

LAYOUTS = ("numerator", "denominator", "shape", "index", "vec")
DEFAULT_LAYOUT = "shape"

DESCRIPTIONS = {
    "numerator": "numerator layout (Jacobian formulation): ∂y/∂xᵀ has y's entries down the rows",
    "denominator": "denominator layout (Hessian formulation): ∂yᵀ/∂x has x's entries down the rows",
    "shape": "shape convention (CS224n): Jacobians in numerator layout, gradients in the variable's shape",
    "index": "index notation (Ricci calculus): one entry ∂Y_ij/∂X_kl at a time",
    "vec": "vec layout (Magnus–Neudecker): ∂vec Y/∂(vec X)ᵀ",
}


def check_layout(layout: str) -> str:
    if layout not in LAYOUTS:
        from .errors import MatcalcError

        raise MatcalcError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    return layout


#: kinds laid out like a gradient: an array in the variable's shape
GRADIENT_LIKE = ("gradient", "hvp")


def index_dims(shape) -> tuple:
    """The sizes that carry an index: a column n×1 has one (n), a scalar none."""
    return tuple(d for d in shape if d != ONE)


def matrix_form(d: Derivative, layout: str, labels: dict | None = None) -> Expr | None:
    """The view as a matrix expression, or None where only indices can show it."""
    m = d.matrix
    if m is None or layout == "index":
        return None
    if d.kind in GRADIENT_LIKE:
        return {"numerator": readable_transpose(m, labels), "vec": B.transpose(B.vec(m))}.get(layout, m)
    if d.kind == "jacobian":
        if d.wrt.is_scalar:
            return {"denominator": readable_transpose(m, labels), "vec": B.vec(m)}.get(layout, m)
        return readable_transpose(m, labels) if layout == "denominator" else m
    if d.kind == "hessian":
        return m
    # tensor: only vec is a matrix
    return m if layout == "vec" else None


def readable_transpose(m: Expr, labels: dict | None = None) -> Expr:
    """Mᵀ with the transpose taken into a sum when that leaves fewer
    transposes to read: (A + X⁻ᵀ)ᵀ → Aᵀ + X⁻¹ (a named sum stays δᵀ)."""
    plain = B.transpose(m)
    if m.op != "add" or m in (labels or {}):
        return plain
    spread = B.add(*(B.transpose(a) for a in m.args))
    return spread if _transposes(spread) < _transposes(plain) else plain


def _transposes(e: Expr) -> int:
    from .graph import postorder

    return sum(1 for n in postorder(e) if n.op == "transpose") + (e.op == "transpose")


def axes(d: Derivative, layout: str) -> tuple:
    """The symbolic shape of the array a view evaluates to."""
    form = matrix_form(d, layout)
    if form is not None:
        return form.shape
    out, var = index_dims(d.of.shape), index_dims(d.wrt.shape)
    if d.kind == "hessian":
        return var + var
    if d.kind == "tensor" and layout == "denominator":
        return var + out
    return out + var


def tensor_from_matrix(d: Derivative, value: np.ndarray, sizes: dict) -> np.ndarray:
    """The canonical index array (output indices, then the variable's) from the
    kind's matrix value."""
    out_shape = [concrete(x, sizes) for x in d.of.shape]
    var_shape = [concrete(x, sizes) for x in d.wrt.shape]
    if d.kind in GRADIENT_LIKE or (d.kind == "jacobian" and d.wrt.is_scalar):
        full = value
        keep = [x != ONE for x in (d.wrt.shape if d.kind in GRADIENT_LIKE else d.of.shape)]
        return full.reshape([s for s, k in zip(full.shape, keep) if k] or [])
    if d.kind == "hessian":
        full = value.reshape(var_shape + var_shape, order="F")
        keep = [x != ONE for x in d.wrt.shape] * 2
    else:
        full = value.reshape(out_shape + var_shape, order="F")
        keep = [x != ONE for x in d.of.shape] + [x != ONE for x in d.wrt.shape]
    squeeze = tuple(i for i, k in enumerate(keep) if not k)
    return full.reshape([s for i, s in enumerate(full.shape) if i not in squeeze] or [])


def arrange(d: Derivative, layout: str, tensor: np.ndarray) -> np.ndarray:
    """A tensor view's array from the canonical index array."""
    if d.kind == "tensor" and layout == "denominator":
        n_out = len(index_dims(d.of.shape))
        order = list(range(n_out, tensor.ndim)) + list(range(n_out))
        return np.transpose(tensor, order)
    return tensor


# ------------------------------------------------------------------ left-hand sides
def lhs(d: Derivative, layout: str, of_text: str, wrt_text: str, fmt: str) -> str:
    """How the derivative is written on the left of ``=`` in this layout."""
    latex = fmt == "latex"
    T = "^{\\top}" if latex else "ᵀ"
    if d.kind == "hvp":
        return _hvp_lhs(d, layout, of_text, wrt_text, latex)
    if d.kind == "hessian":
        if layout == "index":
            i, j = ("_{ij}", "_{kl}") if len(index_dims(d.wrt.shape)) == 2 else ("_{i}", "_{j}")
            if not index_dims(d.wrt.shape):
                i = j = ""
            return (f"\\frac{{\\partial^2 {of_text}}}{{\\partial {wrt_text}{i}\\, \\partial {wrt_text}{j}}}"
                    if latex else f"∂²{of_text}/∂{wrt_text}{_bracketed(i)}∂{wrt_text}{_bracketed(j)}")
        if not is_vector_var(d):
            return (f"\\frac{{\\partial^2 {of_text}}}{{\\partial \\operatorname{{vec}} {wrt_text}\\, "
                    f"\\partial (\\operatorname{{vec}} {wrt_text})^{{\\top}}}}" if latex
                    else f"∂²{of_text}/∂vec({wrt_text})∂vec({wrt_text})ᵀ")
        return (f"\\frac{{\\partial^2 {of_text}}}{{\\partial {wrt_text}\\, \\partial {wrt_text}{T}}}" if latex
                else f"∂²{of_text}/∂{wrt_text}∂{wrt_text}ᵀ")
    if layout == "index" or (d.kind == "tensor" and layout != "vec"):
        oi, wi = _index_names(d)
        return (f"\\frac{{\\partial {_sub(of_text, oi, latex)}}}{{\\partial {_sub(wrt_text, wi, latex)}}}"
                if latex else f"∂{_sub(of_text, oi, latex)}/∂{_sub(wrt_text, wi, latex)}")
    if layout == "vec":
        bare = of_text[1:-1] if of_text.startswith("(") and of_text.endswith(")") else of_text
        bare = bare[6:-7] if bare.startswith("\\left(") and bare.endswith("\\right)") else bare
        num = of_text if d.of.shape[1] == ONE else (f"\\operatorname{{vec}} {of_text}" if latex else f"vec({bare})")
        den = wrt_text if d.wrt.shape[1] == ONE else (f"\\operatorname{{vec}} {wrt_text}" if latex
                                                          else f"vec({wrt_text})")
        den = f"({den}){T}" if d.wrt.shape[1] != ONE else f"{den}{T}"
        if d.wrt.is_scalar:
            den = wrt_text
        return f"\\frac{{\\partial {num}}}{{\\partial {den}}}" if latex else f"∂{num}/∂{den}"
    num, den = of_text, wrt_text
    if layout == "numerator" and not d.wrt.is_scalar:
        den = f"{wrt_text}{T}"
    elif layout == "denominator" and not d.of.is_scalar:
        num = f"{of_text}{T}"
    return f"\\frac{{\\partial {num}}}{{\\partial {den}}}" if latex else f"∂{num}/∂{den}"


def _hvp_lhs(d: Derivative, layout: str, of_text: str, wrt_text: str, latex: bool) -> str:
    """∇²_w J · v, arranged as the layout arranges a gradient."""
    from .render.names import name_latex, name_text

    v = d.direction.params[0]
    body = (f"\\nabla^2_{{{wrt_text}}} {of_text} \\, {name_latex(v)}" if latex
            else f"∇²_{wrt_text} {of_text} · {name_text(v)}")
    idx = "ij"[:len(index_dims(d.wrt.shape))]
    if layout == "index" and idx:
        return f"\\left({body}\\right)_{{{idx}}}" if latex else f"({body}){_bracketed(idx)}"
    if layout == "vec" and d.wrt.shape[1] != ONE:  # a matrix variable: vec(…)ᵀ
        return f"\\left(\\operatorname{{vec}} {body}\\right)^{{\\top}}" if latex else f"vec({body})ᵀ"
    if layout in ("numerator", "vec"):
        return f"\\left({body}\\right)^{{\\top}}" if latex else f"({body})ᵀ"
    return body


def is_vector_var(d: Derivative) -> bool:
    return d.wrt.shape[0] == ONE or d.wrt.shape[1] == ONE


def _index_names(d: Derivative):
    n_out = len(index_dims(d.of.shape))
    n_var = len(index_dims(d.wrt.shape))
    letters = "ijkl"
    return letters[:n_out], letters[n_out:n_out + n_var]


def _sub(name: str, idx: str, latex: bool) -> str:
    if not idx:
        return name
    if latex:
        import re

        m = re.fullmatch(r"(.*)_\{([^{}]*)\}", name)  # b_{2} → b_{2,i}, not b_{2}_{i}
        if m:
            return f"{m.group(1)}_{{{m.group(2)},{idx}}}"
        if name.startswith("\\left("):
            return f"{name}_{{{idx}}}"
        return f"{name}_{{{idx}}}"
    return f"{name}{_bracketed(idx)}"


def _bracketed(idx: str) -> str:
    """_{ij} → [i,j]: plain text indexes as the right-hand side (and the input) does."""
    idx = idx.replace("_{", "").replace("}", "")
    return f"[{','.join(idx)}]" if idx else ""
