"""FI-card payment ids (+71, +75, +04, +15) with the modulus-10 check digit (spec section 4).

Certain: type 71 ids have 15 digits, types 04/15/75 have 16, the check digit is last and
computed with weights 2-1-2-1... from the right. Our construction for type 71 is
``customer number (6 digits) + invoice number (8 digits) + check digit``; for the
16-digit types we use 7 customer digits. Type 73 cards carry no payment id.
The printed OCR line form ``+71<PPPPPPPPPPPPPPP +CCCCCCCC<`` is medium confidence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

ID_LENGTHS = {'71': 15, '75': 16, '04': 16, '15': 16, '73': 0}
CUSTOMER_DIGITS = {'71': 6, '75': 7, '04': 7, '15': 7}
INVOICE_DIGITS = 8


def _digit_string(value, what: str) -> str:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not text or not (text.isdigit() and text.isascii()):
        raise ValueError(f'{what} must be digits, got {value!r}')
    return text


def mod10_check_digit(digits: str) -> int:
    """Return the modulus-10 check digit of a digit string (weights 2-1-2... from the right)."""
    digits = _digit_string(digits, 'digits')
    total = 0
    for i, ch in enumerate(reversed(digits)):
        p = int(ch) * (2 if i % 2 == 0 else 1)
        total += p - 9 if p > 9 else p
    return (10 - total % 10) % 10


def add_check_digit(base: str) -> str:
    """Append the modulus-10 check digit to a digit string."""
    return base + str(mod10_check_digit(base))


def make_payment_id(customer, invoice, *, card_type: str = '71') -> str:
    """Build a payment id: zero-padded customer and invoice numbers plus the check digit."""
    if card_type not in CUSTOMER_DIGITS:
        raise ValueError(f'card type {card_type!r} carries no payment id we can build')
    customer = _digit_string(customer, 'customer number')
    invoice = _digit_string(invoice, 'invoice number')
    width = CUSTOMER_DIGITS[card_type]
    if len(customer.lstrip('0')) > width:
        raise ValueError(f'customer number {customer} has more than {width} digits')
    if len(invoice.lstrip('0')) > INVOICE_DIGITS:
        raise ValueError(f'invoice number {invoice} has more than {INVOICE_DIGITS} digits')
    base = customer.lstrip('0').zfill(width) + invoice.lstrip('0').zfill(INVOICE_DIGITS)
    return add_check_digit(base)


def check_payment_id(payment_id: str, card_type: str | None = None) -> bool:
    """Return True if the id is all digits, has the card type's length and a valid check digit.

    Without ``card_type`` a 15- or 16-digit id is accepted.
    """
    if not isinstance(payment_id, str) or not (payment_id.isdigit() and payment_id.isascii()):
        return False
    if card_type is None:
        if len(payment_id) not in (15, 16):
            return False
    elif len(payment_id) != ID_LENGTHS.get(card_type, -1):
        return False
    return mod10_check_digit(payment_id[:-1]) == int(payment_id[-1])


def split_payment_id(payment_id: str, card_type: str = '71') -> tuple[str, str]:
    """Return ``(customer digits, invoice digits)`` of an id built by ``make_payment_id``."""
    if not check_payment_id(payment_id, card_type):
        raise ValueError(f'invalid +{card_type} payment id {payment_id!r}')
    width = CUSTOMER_DIGITS[card_type]
    return payment_id[:width], payment_id[width:width + INVOICE_DIGITS]


def payer_id_field(payment_id: str) -> str:
    """Return a payment id right-aligned in the 16-digit 0118 field (positions 083-098)."""
    if not check_payment_id(payment_id):
        raise ValueError(f'invalid payment id {payment_id!r}')
    return payment_id.zfill(16)


@dataclass(frozen=True)
class OcrLine:
    """The payment part of an FI card's OCR line: card type, payment id, creditor number."""

    card_type: str
    payment_id: str
    creditor_number: str

    def __str__(self) -> str:
        return format_ocr_line(self.card_type, self.payment_id, self.creditor_number)


_OCR = re.compile(r'\+?\s*(\d{2})\s*<\s*(\d*)\s*\+\s*(\d{8})\s*<?')


def parse_ocr_line(text: str) -> OcrLine:
    """Parse ``+71<id +creditor<`` (or ``+73<+creditor<``); raise ValueError if invalid."""
    m = _OCR.fullmatch(text.strip())
    if m is None:
        raise ValueError(f'not an FI-card OCR line: {text!r}')
    card_type, payment_id, creditor = m.groups()
    if card_type not in ID_LENGTHS:
        raise ValueError(f'unknown FI-card type +{card_type}')
    length = ID_LENGTHS[card_type]
    if length == 0:
        if payment_id:
            raise ValueError(f'card type +{card_type} carries no payment id')
    elif len(payment_id) != length:
        raise ValueError(f'+{card_type} payment id must have {length} digits, got '
                         f'{len(payment_id)}')
    elif not check_payment_id(payment_id, card_type):
        raise ValueError(f'check digit of payment id {payment_id} is wrong')
    return OcrLine(card_type, payment_id, creditor)


def format_ocr_line(card_type: str, payment_id: str, creditor_number: str) -> str:
    """Format the OCR line ``+71<PPPPPPPPPPPPPPP +CCCCCCCC<`` (form: medium confidence)."""
    if card_type not in ID_LENGTHS:
        raise ValueError(f'unknown FI-card type +{card_type}')
    if ID_LENGTHS[card_type] == 0:
        if payment_id:
            raise ValueError(f'card type +{card_type} carries no payment id')
    elif not check_payment_id(payment_id, card_type):
        raise ValueError(f'invalid +{card_type} payment id {payment_id!r}')
    if len(creditor_number) != 8 or not creditor_number.isdigit():
        raise ValueError(f'creditor number must have 8 digits, got {creditor_number!r}')
    if payment_id:
        return f'+{card_type}<{payment_id} +{creditor_number}<'
    return f'+{card_type}<+{creditor_number}<'
