"""Leverandørservice (LS) dialect hooks — confidence: LOW.

Only what spec section 5 could confirm is encoded here: LS files use the same
128-character fixed records and N/X conventions as Betalingsservice, with system id
``LS`` at positions 001-002, and dates in ``yymmdd`` order. The LS delivery start also
carries a test marker (``TEST`` or blank) whose position is not confirmed, and neither
the LS collection input layout nor its transaction codes are known.

Do NOT build LS deliveries from this module. ``LS_OPTIONS`` only switches the system id
and date order of the shared codec so that LS can later be added as a second dialect
once the current LS guide has been obtained from Nets.
"""
from __future__ import annotations

from .options import Options

LS_OPTIONS = Options(system_id='LS', short_date_order='ymd')
"""Codec options for the LS dialect (system id ``LS``, ``yymmdd`` dates); LOW confidence."""


def detect_system(data: bytes) -> str:
    """Return ``'BS'`` or ``'LS'`` from the first two bytes of a file ('' if neither)."""
    head = bytes(data[:2])
    if head == b'BS':
        return 'BS'
    if head == b'LS':
        return 'LS'
    return ''
