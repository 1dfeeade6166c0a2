"""Reading a ``%%mderive`` cell: text -> :mod:`~matcalc_magic.syntax.tree`."""

from .parse import canonical_name, parse

__all__ = ["canonical_name", "parse"]
