"""Dialect settings and the choices where the sources conflict (spec section 6).

Every choice has the default the spec recommends. Render and parse take the same
``Options`` so that a file written with a setting is read back with it.
"""
from __future__ import annotations

from dataclasses import dataclass

NET = 'net'
GROSS = 'gross'
WARN = 'warn'
STRICT = 'strict'
IGNORE = 'ignore'


@dataclass(frozen=True)
class Options:
    """Codec settings: dialect (BS/LS) and the conflict choices C1-C10 of the spec.

    system_id
        ``'BS'`` for Betalingsservice; ``'LS'`` only for the low-confidence
        Leverandørservice dialect (spec section 5).
    short_date_order
        Order of 6-digit dates: ``'dmy'`` (``ddmmyy``, BS, conflict C10) or ``'ymd'``
        (``yymmdd``, LS). Eight-digit 0601 dates are always ``ddmmyyyy``.
    blank_section_account (C1)
        ``False`` (default): BS012 positions 055-068 hold the settlement registration
        and account number (zeros for 0117/0118). ``True``: 14 blanks, as Compassion's
        writer does.
    payer_id_in_0280 (C2)
        ``False`` (default, the printed 2009/2010 guide): 0280/0283 positions 106-128
        are blanks. ``True``: a 15-digit +71 payer id (or 15 blanks) at 106-120 and
        ``00000000`` at 121-128 (Compassion, 2022). Confirm with Nets before use.
    pad_short_lines (C4)
        ``True`` (default): when reading, lines shorter than 128 characters (trailing
        blanks stripped) are right-padded. Longer lines are always rejected. Files are
        always written as full 128-character records with CR LF.
    delivery_end_filler (C5)
        Character written in BS992 positions 069-083: ``'0'`` (default) or ``' '``.
        Reading accepts both.
    reply_total_check (C6)
        How the amount totals of 0602/0603 BS092/BS992 are checked: ``'warn'``
        (default: accept the sum of the paid amounts or of the collection amounts,
        otherwise record a ``FormatWarning``), ``'strict'`` (raise instead) or
        ``'ignore'``. Record counts are always checked strictly.
    net_amount (C7)
        0601 BS092/BS992 amount: ``'net'`` (default: sign 1 minus sign 2, written as an
        absolute value) or ``'gross'`` (all amounts added regardless of sign, as
        PBS-parser and Compassion do).
    strict_reply_fillers (C8)
        ``False`` (default): fillers and constant fields of 0602/0603 records are not
        checked on import. 0601 fillers are always checked.
    duplicate_text_numbers (C9)
        ``True`` (default): when reading a 0601, a text line may repeat the previous
        line number (seen in the guide's own example). Written numbers are always
        strictly consecutive.
    reject_utf8
        ``True`` (default): a line whose non-ASCII bytes form valid UTF-8 sequences
        (e.g. ``Ã¸`` for ``ø``) is rejected as wrongly encoded.
    """

    system_id: str = 'BS'
    short_date_order: str = 'dmy'
    blank_section_account: bool = False
    payer_id_in_0280: bool = False
    pad_short_lines: bool = True
    delivery_end_filler: str = '0'
    reply_total_check: str = WARN
    net_amount: str = NET
    strict_reply_fillers: bool = False
    duplicate_text_numbers: bool = True
    reject_utf8: bool = True

    def __post_init__(self):
        if len(self.system_id) != 2 or not self.system_id.isalpha():
            raise ValueError(f'system_id must be two letters, got {self.system_id!r}')
        if self.short_date_order not in ('dmy', 'ymd'):
            raise ValueError(f"short_date_order must be 'dmy' or 'ymd', got "
                             f'{self.short_date_order!r}')
        if self.delivery_end_filler not in ('0', ' '):
            raise ValueError(f"delivery_end_filler must be '0' or ' ', got "
                             f'{self.delivery_end_filler!r}')
        if self.reply_total_check not in (WARN, STRICT, IGNORE):
            raise ValueError(f'reply_total_check must be warn, strict or ignore, got '
                             f'{self.reply_total_check!r}')
        if self.net_amount not in (NET, GROSS):
            raise ValueError(f'net_amount must be net or gross, got {self.net_amount!r}')


DEFAULT_OPTIONS = Options()
