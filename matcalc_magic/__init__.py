"""matcalc_magic: executable matrix calculus for Jupyter.

``derive(text)`` parses a derivation (declarations, definitions, requests),
differentiates it symbolically and returns results that print in every
layout and check themselves numerically.  ``%load_ext matcalc_magic``
registers the ``%%mderive`` magic.  Heavy modules load on first use.
"""

from __future__ import annotations

from ._labextension import _jupyter_labextension_paths  # noqa: F401  (the prebuilt JupyterLab extension)

__version__ = "0.1.0"

__all__ = ["derive", "parse_printed", "MatcalcError", "LAYOUTS", "load_ipython_extension", "__version__"]

LAYOUTS = ("numerator", "denominator", "shape", "index", "vec")


def derive(text: str, layout: str = "shape"):
    """Differentiate every request in ``text``; see :func:`matcalc_magic.api.derive`."""
    from .api import derive as _derive

    return _derive(text, layout)


def parse_printed(view):
    """A view's printed text read back as input; see :func:`matcalc_magic.verify.printed.parse_printed`."""
    from .verify.printed import parse_printed as _parse_printed

    return _parse_printed(view)


def __getattr__(name):
    if name == "MatcalcError":
        from .errors import MatcalcError

        return MatcalcError
    raise AttributeError(f"module 'matcalc_magic' has no attribute {name!r}")


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The Jupyter server extension: saved notebooks forget live widget models."""
    return [{"module": "matcalc_magic.saving"}]


def load_ipython_extension(ipython) -> None:
    """``%load_ext matcalc_magic``: register ``%%mderive`` and ``%mderive``."""
    from .magics import MatcalcMagics

    ipython.register_magics(MatcalcMagics)
