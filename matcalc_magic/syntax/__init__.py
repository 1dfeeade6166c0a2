"""Reading a ``%%mderive`` cell: text -> :mod:`~matcalc_magic.syntax.tree`."""

from .parse import parse

__all__ = ["parse"]
