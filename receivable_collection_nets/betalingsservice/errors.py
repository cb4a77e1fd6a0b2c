"""Errors and warnings raised or collected by the Betalingsservice codec."""
from __future__ import annotations

from dataclasses import dataclass


def _where(field: str, position: tuple[int, int] | None) -> str:
    if position is None:
        return field
    start, end = position
    if start == end:
        return f'{field} (pos {start:03d})'
    return f'{field} (pos {start:03d}-{end:03d})'


class FormatError(ValueError):
    """A record or file that breaks the format, naming line, field and position."""

    def __init__(
            self, line: int, field: str, message: str,
            position: tuple[int, int] | None = None):
        super().__init__(f'line {line}, {_where(field, position)}: {message}')
        self.line = line
        self.field = field
        self.message = message
        self.position = position

    def __reduce__(self):
        return (type(self), (self.line, self.field, self.message, self.position))


@dataclass(frozen=True)
class FormatWarning:
    """A tolerated irregularity in a reply file (e.g. an unusual total, conflict C6)."""

    line: int
    field: str
    message: str
    position: tuple[int, int] | None = None

    def __str__(self) -> str:
        return f'line {self.line}, {_where(self.field, self.position)}: {self.message}'


class ExportError(ValueError):
    """Input data that cannot be laid out as a valid 0601 delivery."""

    def __init__(
            self, message: str, *, section: str | None = None,
            customer_number: str | None = None, reference: str | None = None,
            field: str | None = None):
        parts = []
        if section:
            parts.append(f'section {section}')
        if customer_number is not None:
            parts.append(f'customer {customer_number!r}')
        if reference:
            parts.append(f'invoice {reference!r}')
        if field:
            parts.append(field)
        prefix = ', '.join(parts)
        super().__init__(f'{prefix}: {message}' if prefix else message)
        self.message = message
        self.section = section
        self.customer_number = customer_number
        self.reference = reference
        self.field = field
