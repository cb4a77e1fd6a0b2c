"""Creditor references found in remittance information: ISO 11649 RF and Danish FI card.

ISO 11649: ``RF`` + two check digits + 1 to 21 letters or digits; moving the first four
characters to the end and reading letters as numbers (A=10 ... Z=35) must leave
remainder 1 modulo 97. Printed forms group by four with spaces, which are ignored.

FI card (Danish indbetalingskort): card types 71 (15-digit payment id), 75, 04 and 15
(16 digits) and 73 (no payment id); the last digit of a payment id is a modulus-10
check digit with weights 2-1-2-1... from the right. Banks pass it either as a
structured reference whose proprietary type names the card (``FIK71``, ``FI``, ``+71``
...) or as the OCR line ``+71<payment id +creditor number<``.
"""
from __future__ import annotations

import re

RF_LENGTH = (5, 25)
FI_ID_LENGTHS = {'71': 15, '75': 16, '04': 16, '15': 16, '73': 0}
_RF = re.compile(r'RF[0-9]{2}[A-Z0-9]{1,21}\Z')
_FI_TYPE = re.compile(r'(?:FIK?|\+)?\s*(71|73|75|04|15)?\Z')
_FI_OCR = re.compile(r'\+?\s*(71|73|75|04|15)\s*<\s*([0-9]*)\s*\+\s*([0-9]{8})\s*<?\Z')


def compact(reference: str) -> str:
    """The reference without spaces, in capitals."""
    return ''.join(reference.split()).upper()


def _mod97(text: str) -> int:
    return int(''.join(str(int(ch, 36)) for ch in text)) % 97


def is_rf(reference: str) -> bool:
    """True when ``reference`` is a well-formed ISO 11649 RF reference with valid checksum."""
    text = compact(reference)
    if not _RF.match(text):
        return False
    return _mod97(text[4:] + text[:4]) == 1


def make_rf(base: str) -> str:
    """Build the RF reference (compact form) for ``base`` (1-21 letters or digits)."""
    base = compact(base)
    if not re.fullmatch(r'[A-Z0-9]{1,21}', base):
        raise ValueError(f'an RF reference base has 1-21 letters or digits, got {base!r}')
    check = 98 - _mod97(base + 'RF00')
    return f'RF{check:02d}{base}'


def mod10_ok(digits: str) -> bool:
    """True when the last digit is the modulus-10 check digit (weights 2-1-2... from right)."""
    if not digits.isdigit() or not digits.isascii() or len(digits) < 2:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits[:-1])):
        product = int(ch) * (2 if i % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return (10 - total % 10) % 10 == int(digits[-1])


def fi_card_type(proprietary: str | None) -> str | None:
    """The FI card type named by a proprietary reference type, '' if FI without a type.

    ``None`` when the type does not name an FI card at all.
    """
    if proprietary is None:
        return None
    text = proprietary.strip().upper()
    if not text:
        return None
    match = _FI_TYPE.match(text)
    if match is None or (match.group(1) is None and not text.startswith('FI')):
        return None
    return match.group(1) or ''


def parse_fi_ocr(text: str) -> tuple[str, str, str] | None:
    """``(card type, payment id, creditor number)`` from an OCR line, or None."""
    match = _FI_OCR.match(text.strip())
    return None if match is None else match.groups()


def fi_payment_id_ok(payment_id: str, card_type: str = '') -> bool:
    """True when the payment id has the card type's length and a valid check digit."""
    if card_type == '73':
        return payment_id == ''
    if card_type:
        if len(payment_id) != FI_ID_LENGTHS.get(card_type, -1):
            return False
    elif len(payment_id) not in (15, 16):
        return False
    return mod10_ok(payment_id)
