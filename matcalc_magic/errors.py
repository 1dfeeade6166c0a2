"""The one error type users see, with the span of the cell it points at.

Every user mistake (syntax, unknown name, shape mismatch, unsupported
operation) becomes a :class:`MatcalcError`.  It knows the source text, so it
can show the offending line with a caret under the span; IPython displays it
through ``_render_traceback_`` so no Python traceback reaches the user.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """Half-open character range ``[start, end)`` in the cell text."""

    start: int
    end: int

    def __or__(self, other: "Span | None") -> "Span":
        if other is None:
            return self
        return Span(min(self.start, other.start), max(self.end, other.end))


def line_col(source: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a character offset."""
    offset = max(0, min(offset, len(source)))
    line = source.count("\n", 0, offset) + 1
    col = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return line, col


#: the message for input nested beyond Python's recursion limit
TOO_DEEP = "this is nested too deeply to handle; split it into shorter definitions (z1 = …, z2 = …)"


class MatcalcError(Exception):
    """A user-facing error: a message, where it is, and the shapes involved.

    ``shapes`` maps the text of each operand to its shape as printed, e.g.
    ``{"W": "m×n", "x": "m×1"}``.
    """

    def __init__(
        self,
        message: str,
        span: Span | None = None,
        source: str | None = None,
        shapes: dict[str, str] | None = None,
        hint: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.span = span
        self.source = source
        self.shapes = dict(shapes or {})
        self.hint = hint

    # -- where ---------------------------------------------------------------
    def with_source(self, source: str) -> "MatcalcError":
        """Attach the cell text (errors raised deep inside may not know it)."""
        if self.source is None:
            self.source = source
        return self

    @property
    def line(self) -> int | None:
        if self.span is None or self.source is None:
            return None
        return line_col(self.source, self.span.start)[0]

    @property
    def column(self) -> int | None:
        if self.span is None or self.source is None:
            return None
        return line_col(self.source, self.span.start)[1]

    @property
    def end_line(self) -> int | None:
        if self.span is None or self.source is None:
            return None
        return line_col(self.source, max(self.span.start, self.span.end - 1))[0]

    @property
    def end_column(self) -> int | None:
        """1-based column one past the last character of the span."""
        if self.span is None or self.source is None:
            return None
        return line_col(self.source, max(self.span.start, self.span.end - 1))[1] + 1

    def context(self) -> str:
        """The offending line with carets under the span (first line only)."""
        if self.span is None or self.source is None:
            return ""
        line_no, col = line_col(self.source, self.span.start)
        lines = self.source.split("\n")  # the same line breaks as line_col counts
        text = lines[line_no - 1].rstrip("\r") if line_no <= len(lines) else ""
        line_end = len(text) + 1
        end_line, end_col = line_col(self.source, max(self.span.start, self.span.end - 1))
        stop = end_col + 1 if end_line == line_no else line_end
        width = max(1, stop - col)
        gutter = f"{line_no} | "
        return f"{gutter}{text}\n{' ' * (len(gutter) + col - 1)}{'^' * width}"

    # -- how it reads ----------------------------------------------------------
    def summary(self) -> str:
        where = f"line {self.line}, column {self.column}: " if self.line else ""
        return f"{where}{self.message}"

    def __str__(self) -> str:
        parts = [self.summary()]
        ctx = self.context()
        if ctx:
            parts.append(ctx)
        if self.shapes:
            parts.append("shapes: " + ", ".join(f"{k} is {v}" for k, v in self.shapes.items()))
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "\n".join(parts)

    def _render_traceback_(self) -> list[str]:
        """IPython shows these lines instead of a Python traceback."""
        return ["\x1b[31mMatcalcError\x1b[0m: " + str(self)]

    def _repr_html_(self) -> str:
        from html import escape

        return (
            '<pre class="matcalc-error" style="color:#b00020">'
            + escape("MatcalcError: " + str(self))
            + "</pre>"
        )
