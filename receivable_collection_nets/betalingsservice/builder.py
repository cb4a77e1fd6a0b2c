"""Lay out a 0601 collection delivery from plain data (spec section 2 and 7).

The caller passes ``CreditorSection`` objects holding ``CollectionOrder`` objects; the
builder writes the delivery start, section start, BS022 debtor blocks, BS042
collections, BS052/BS062 text lines, and computes every section and delivery total from
the records it wrote. Clock and delivery id are passed in; nothing is read from the
environment.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from .codec import parse, render, with_totals
from .errors import ExportError, FormatError
from .layout import amount_to_ore
from .options import DEFAULT_OPTIONS, Options
from .payment_id import check_payment_id
from .records import (
    SECTIONS_0601,
    CardCollection,
    CardText,
    Collection,
    DebtorAddress,
    DebtorIdentity,
    DebtorPostcode,
    DeliveryStart,
    NotificationText,
    OcrCardCollection,
    Record,
    SectionStart,
)

AUTOMATIC = 'automatic'   # "automatic payments only": mandate numbers from 0603 (C3)
SLIPS = 'slips'           # "BS + payment slips": mandate number written as zeros (C3)

_TRANSACTION = {'0112': '0280', '0113': '0283', '0117': '0285', '0118': '0286'}
_REFERENCE_WIDTH = {'0112': 30, '0113': 30, '0117': 9, '0118': 9}
_ZERO_MANDATE = '0' * 9
CUSTOMER_WIDTH = 15    # BS042 customer number, positions 028-042
TEXT_WIDTH = 60        # BS052/BS062 text line, positions 053-112
TEXT_LINES = 5000      # text line numbers 00001-05000 per collection and record type

# Explicit replacements for characters outside ISO-8859-1 (spec section 1).
_REPLACEMENTS = {
    '€': 'EUR', '‚': ',', '„': '"', '“': '"', '”': '"', '‟': '"', '‘': "'", '’': "'",
    '‛': "'", '′': "'", '″': '"', '‹': '<', '›': '>', '–': '-', '—': '-', '‐': '-',
    '‑': '-', '−': '-', '…': '...', '•': '*', '™': 'TM', 'Œ': 'OE', 'œ': 'oe',
    'Š': 'S', 'š': 's', 'Ž': 'Z', 'ž': 'z', 'Ÿ': 'Y', 'ƒ': 'f', 'ˆ': '^', '˜': '~',
    '‰': '%o', '†': '+', '‡': '+', 'ł': 'l', 'Ł': 'L', 'đ': 'd', 'Đ': 'D', 'ı': 'i',
    '\t': ' ', '\n': ' ', '\r': ' ', '\u2009': ' ', '\u202f': ' ', '\u200b': '',
}


def to_latin1(text: str) -> str:
    """Replace characters outside printable ISO-8859-1 explicitly (``€`` -> ``EUR``...)."""
    if text.isascii() and text.isprintable():
        return text
    out = []
    for ch in text:
        o = ord(ch)
        if 0x20 <= o <= 0x7e or 0xa0 <= o <= 0xff:
            out.append(ch)
        elif ch in _REPLACEMENTS:
            out.append(_REPLACEMENTS[ch])
        else:
            base = ''.join(c for c in unicodedata.normalize('NFKD', ch)
                           if 0x20 <= ord(c) <= 0x7e or 0xa0 <= ord(c) <= 0xff)
            out.append(base or '?')
    return ''.join(out)


def fit_text_lines(lines: Iterable[str]) -> tuple[str, ...]:
    """Fit free text to BS052/BS062 lines: Latin-1, 60 characters, at most 5000 lines.

    Trailing blanks and the blank lines at the start and end are dropped; blank lines
    inside the text are kept (Nets prints them).
    """
    fitted = [to_latin1(line)[:TEXT_WIDTH].rstrip(' ') for line in lines]
    while fitted and not fitted[-1]:
        fitted.pop()
    start = next((n for n, line in enumerate(fitted) if line), len(fitted))
    return tuple(fitted[start:start + TEXT_LINES])


@dataclass(frozen=True)
class Replacement:
    """A text changed to fit ISO-8859-1, reported for the invoice and field concerned."""

    customer_number: str
    reference: str
    field: str
    original: str
    written: str


@dataclass(frozen=True)
class Debtor:
    """Debtor name and address for BS022 records: line 1 = name, up to 5 lines."""

    lines: tuple[str, ...]
    postcode: str = ''
    country: str = ''       # ISO 3166 alpha-2; '' or 'DK' for Denmark
    cpr_cvr: str = ''       # optional record 00010


@dataclass(frozen=True)
class CollectionOrder:
    """One collection to lay out; ``amount`` > 0 collects, < 0 pays out, 0 only notifies."""

    customer_number: str
    payment_date: date
    amount: Decimal
    mandate_number: str = ''
    reference: str = ''
    texts: tuple[str, ...] = ()        # BS052 notification lines
    card_texts: tuple[str, ...] = ()   # BS062 lines printed only on the FI card
    debtor: Debtor | None = None
    payer_id: str = ''                 # 0118 OCR payer id; 0280 payer id under C2


@dataclass(frozen=True)
class CreditorSection:
    """One 0601 section: a creditor's debtor group and section type with its collections.

    ``agreement`` settles conflict C3: ``'automatic'`` (default, automatic payments only:
    the mandate number from 0603 is required) or ``'slips'`` (BS + payment slips: the
    mandate number is written as zeros and Nets looks it up).
    """

    pbs_number: str
    debtor_group: int
    collections: tuple[CollectionOrder, ...]
    section: str = '0112'
    creditor_id: str = ''
    bank_reg: str = ''
    bank_account: str = ''
    main_text: str = ''
    agreement: str = AUTOMATIC
    created: date | None = None


def is_weekday(day: date) -> bool:
    """Default banking-day test: Monday to Friday (pass a calendar for holidays)."""
    return day.weekday() < 5


def add_banking_days(day: date, count: int,
                     is_banking_day: Callable[[date], bool] | None = None) -> date:
    """Return the date ``count`` banking days after ``day``."""
    is_banking_day = is_banking_day or is_weekday
    while count > 0:
        day += timedelta(days=1)
        if is_banking_day(day):
            count -= 1
    return day


def replacement_deadline(payment_date: date,
                         is_banking_day: Callable[[date], bool] | None = None) -> datetime:
    """Return the 0113 deadline: 09:00 on the 6th-last banking day of the month before."""
    is_banking_day = is_banking_day or is_weekday
    last = payment_date.replace(day=1) - timedelta(days=1)
    day = last
    found = 0
    while True:
        if is_banking_day(day):
            found += 1
            if found == 6:
                return datetime.combine(day, time(9, 0))
        day -= timedelta(days=1)


class _Context:
    def __init__(self, options, replacements):
        self.options = options
        self.replacements = replacements

    def text(self, value, width, field, customer='', reference=''):
        """Transliterate, cut at the field boundary and drop trailing blanks."""
        if value is None:
            value = ''
        if not isinstance(value, str):
            raise ExportError(f'must be text, got {value!r}', customer_number=customer,
                              reference=reference, field=field)
        written = to_latin1(value)
        if written != value and self.replacements is not None:
            self.replacements.append(Replacement(customer, reference, field, value, written))
        return written[:width].rstrip(' ')


def _digits(value, width, field, *, required=True, **where):
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None or value == '':
        if required:
            raise ExportError('missing', field=field, **where)
        return '0' * width
    if not isinstance(value, str) or not (value.isdigit() and value.isascii()):
        raise ExportError(f'must be digits, got {value!r}', field=field, **where)
    if len(value) > width:
        raise ExportError(f'{value} has more than {width} digits', field=field, **where)
    return value.zfill(width)


def _section_records(sec: CreditorSection, created, ctx: _Context, checks) -> list[Record]:
    options = ctx.options
    where = f'{sec.pbs_number}/{sec.section}/{sec.debtor_group}'
    if sec.section not in SECTIONS_0601:
        raise ExportError(f'unknown section {sec.section!r}', section=where)
    if sec.agreement not in (AUTOMATIC, SLIPS):
        raise ExportError(f'agreement must be {AUTOMATIC!r} or {SLIPS!r}', section=where)
    pbs = _digits(sec.pbs_number, 8, 'PBS number', section=where)
    if not isinstance(sec.debtor_group, int) or not 0 <= sec.debtor_group <= 99999:
        raise ExportError('must be an integer 0-99999', section=where, field='debtor group')
    card = sec.section in ('0117', '0118')
    if options.blank_section_account:
        reg = account = ''
    elif card:                        # C1: zeros for the FI-card sections
        reg, account = '0000', '0' * 10
    else:
        reg = _digits(sec.bank_reg, 4, 'registration number', section=where)
        account = _digits(sec.bank_account, 10, 'account number', section=where)
    main_text = '' if card else ctx.text(sec.main_text, 60, 'main text')
    records = [SectionStart(
        pbs, sec.section, sec.debtor_group, ctx.text(sec.creditor_id, 15, 'creditor id'),
        sec.created or created, reg, account, main_text)]
    seen = set()
    for order in sec.collections:
        records.extend(_collection_records(sec, pbs, order, ctx, where, seen, checks))
    return records


def _collection_records(sec, pbs, order: CollectionOrder, ctx, where, seen, checks):
    section = sec.section
    raw_customer = order.customer_number
    raw_reference = order.reference or ''

    def fail(message, field=None):
        return ExportError(message, section=where, customer_number=raw_customer,
                           reference=raw_reference, field=field)

    if not isinstance(raw_customer, str) or not raw_customer.strip():
        raise fail('missing', 'customer number')
    customer = ctx.text(raw_customer.strip().upper(), 99, 'customer number', raw_customer,
                        raw_reference)
    if len(customer) > CUSTOMER_WIDTH:
        raise fail(f'{customer!r} has more than {CUSTOMER_WIDTH} characters',
                   'customer number')
    reference = ctx.text(raw_reference, _REFERENCE_WIDTH[section], 'reference', raw_customer,
                         raw_reference)
    group = sec.debtor_group
    # amount and sign code
    value = order.amount
    if type(value) is not Decimal:
        raise fail(f'must be a Decimal, got {type(value).__name__}', 'amount')
    try:
        amount_to_ore(abs(value))
    except ValueError as exc:
        raise fail(str(exc), 'amount') from None
    if abs(value) >= Decimal('100000000000'):
        raise fail(f'{value} does not fit 13 digits of øre', 'amount')
    sign = 1 if value > 0 else 2 if value < 0 else 0
    if sign == 2 and section not in ('0112', '0113'):
        raise fail(f'payouts (negative amounts) are not allowed in section {section}', 'amount')
    # dates
    if type(order.payment_date) is not date:
        raise fail(f'must be a date, got {order.payment_date!r}', 'payment date')
    key = (customer, order.payment_date)
    if key in seen:
        raise fail(f'second collection on {order.payment_date} in this section; merge the '
                   'invoices into one collection', 'customer number')
    seen.add(key)
    checks(section, order.payment_date, fail)
    # mandate (C3)
    if section in ('0112', '0113') and sec.agreement == AUTOMATIC:
        mandate = _digits(order.mandate_number, 9, 'mandate number', required=False,
                          section=where, customer_number=raw_customer, reference=raw_reference)
        if mandate == _ZERO_MANDATE:
            raise fail('no active mandate for this debtor (automatic payments only)',
                       'mandate number')
    else:
        mandate = _ZERO_MANDATE
    # debtor records
    debtor = order.debtor
    records = []
    if debtor is not None:
        if section == '0113':
            raise fail('section 0113 takes no debtor records', 'debtor')
        if section == '0112' and sec.agreement != SLIPS:
            raise fail('debtor records in section 0112 are for "BS + payment slips" '
                       'creditors only', 'debtor')
        records.extend(_debtor_records(debtor, pbs, group, customer, ctx, raw_customer,
                                       raw_reference, fail))
    elif section in ('0117', '0118'):
        raise fail(f'section {section} needs the debtor name and address', 'debtor')
    # collection record
    ore_value = abs(value).quantize(Decimal('0.01'))
    payer_id = order.payer_id or ''
    if section in ('0112', '0113'):
        if payer_id and not ctx.options.payer_id_in_0280:
            raise fail('a payer id in 0280 needs Options(payer_id_in_0280=True) (C2)',
                       'payer id')
        if payer_id and not check_payment_id(payer_id, '71'):
            raise fail(f'{payer_id!r} is not a valid 15-digit +71 id', 'payer id')
        records.append(Collection(pbs, _TRANSACTION[section], group, customer, mandate,
                                  order.payment_date, sign, ore_value, reference, payer_id))
    elif section == '0117':
        if payer_id:
            raise fail('section 0117 takes no payer id', 'payer id')
        records.append(CardCollection(pbs, group, customer, order.payment_date, sign,
                                      ore_value, reference))
    else:
        if payer_id:
            if not check_payment_id(payer_id):
                raise fail(f'{payer_id!r} is not a valid 15/16-digit payment id', 'payer id')
            payer_id = payer_id.zfill(16)
        else:
            payer_id = '0' * 16
        records.append(OcrCardCollection(pbs, group, customer, order.payment_date, sign,
                                         ore_value, reference, payer_id))
    # text lines
    if order.texts and section == '0118':
        raise fail('section 0118 takes BS062 card texts only', 'texts')
    if order.card_texts:
        if section in ('0113', '0117'):
            raise fail(f'section {section} takes no BS062 card texts', 'card texts')
        if section == '0112' and sec.agreement != SLIPS:
            raise fail('BS062 card texts are for "BS + payment slips" creditors only',
                       'card texts')
    for cls, lines, field, text_mandate in (
            (NotificationText, order.texts, 'text', mandate),
            (CardText, order.card_texts, 'card text', _ZERO_MANDATE)):
        if len(lines) > TEXT_LINES:
            raise fail(f'{len(lines)} lines, at most {TEXT_LINES}', field)
        for n, line in enumerate(lines, 1):
            records.append(cls(pbs, n, group, customer, text_mandate,
                               ctx.text(line, TEXT_WIDTH, field, raw_customer,
                                        raw_reference)))
    return records


def _debtor_records(debtor, pbs, group, customer, ctx, raw_customer, raw_reference, fail):
    lines = [ctx.text(line, 35, 'debtor address', raw_customer, raw_reference)
             for line in debtor.lines]
    country = ctx.text(debtor.country or '', 3, 'country').upper()
    needed = 2 if country in ('', 'DK') else 3
    if not needed <= len(lines) <= 5:
        raise fail(f'{len(lines)} name/address lines; {country or "DK"} needs {needed} to 5',
                   'debtor address')
    records = [DebtorAddress(pbs, n, group, customer, line) for n, line in enumerate(lines, 1)]
    postcode = ctx.text(debtor.postcode or '', 4, 'postcode')
    records.append(DebtorPostcode(pbs, group, customer, postcode, country))
    if debtor.cpr_cvr:
        records.append(DebtorIdentity(pbs, group, customer,
                                      _digits(debtor.cpr_cvr, 10, 'CPR/CVR number',
                                              customer_number=raw_customer,
                                              reference=raw_reference)))
    return records


def _date_checks(now, is_banking_day):
    if now is None:
        return lambda section, payment_date, fail: None
    today = now.date()
    earliest = add_banking_days(today, 2, is_banking_day)
    latest = today + timedelta(days=180)

    def check(section, payment_date, fail):
        if section in ('0117', '0118') and payment_date < earliest:
            raise fail(f'{payment_date} is less than 2 banking days after {today} (earliest '
                       f'{earliest})', 'payment date')
        if section == '0118' and payment_date > latest:
            raise fail(f'{payment_date} is more than 180 days after {today}', 'payment date')
        if section == '0113':
            deadline = replacement_deadline(payment_date, is_banking_day)
            if now >= deadline:
                raise fail(f'the 0113 deadline for {payment_date} was {deadline}',
                           'payment date')
    return check


def layout_0601(data_supplier: str, delivery_id: int, sections: Iterable[CreditorSection], *,
                created: date | None = None, subsystem: str = 'BS1',
                options: Options = DEFAULT_OPTIONS, replacements: list | None = None,
                now: datetime | None = None,
                is_banking_day: Callable[[date], bool] | None = None) -> list[Record]:
    """Lay out a 0601 delivery as records, with computed section and delivery totals.

    ``now`` (injected clock) enables the date rules of sections 0113/0117/0118;
    ``is_banking_day`` defaults to Monday-Friday. Texts changed to fit ISO-8859-1 are
    reported in ``replacements``. Raises ``ExportError`` naming the invoice and field.
    """
    ctx = _Context(options, replacements)
    supplier = _digits(data_supplier, 8, 'data supplier CVR')
    if not isinstance(delivery_id, int) or not 0 < delivery_id < 10 ** 10:
        raise ExportError(f'must be an integer 1-9999999999, got {delivery_id!r}',
                          field='delivery identification')
    if not isinstance(subsystem, str) or len(subsystem) != 3:
        raise ExportError(f'must be 3 characters, got {subsystem!r}', field='subsystem')
    checks = _date_checks(now, is_banking_day)
    body: list[Record] = [DeliveryStart(supplier, subsystem, '0601', delivery_id, created)]
    keys = set()
    count = 0
    for sec in sections:
        key = (sec.pbs_number, sec.section, sec.debtor_group)
        if key in keys:
            raise ExportError('two sections for the same PBS number, section and debtor group',
                              section='/'.join(map(str, key)))
        keys.add(key)
        count += 1
        if count > 9000:
            raise ExportError('more than 9000 sections in one delivery')
        body.extend(_section_records(sec, created, ctx, checks))
    if count == 0:
        raise ExportError('a delivery needs at least one section')
    return list(with_totals(body, options=options))


def build_0601(data_supplier: str, delivery_id: int, sections: Iterable[CreditorSection], *,
               created: date | None = None, subsystem: str = 'BS1',
               options: Options = DEFAULT_OPTIONS, replacements: list | None = None,
               now: datetime | None = None,
               is_banking_day: Callable[[date], bool] | None = None,
               verify: bool = True) -> bytes:
    """Build a 0601 delivery file (ISO-8859-1, 128 characters + CR LF per record).

    Same arguments as ``layout_0601``. With ``verify`` (default) the finished file is
    parsed again with the same codec and must give back the same records. A record that
    cannot be written raises ``ExportError`` carrying the ``FormatError`` as its cause.
    """
    records = layout_0601(data_supplier, delivery_id, sections, created=created,
                          subsystem=subsystem, options=options, replacements=replacements,
                          now=now, is_banking_day=is_banking_day)
    try:
        data = render(records, options=options)
    except FormatError as error:
        raise ExportError(str(error), field=error.field) from error
    if verify:
        for line, (mine, read) in enumerate(
                zip(records, parse(data, options=options, delivery_type='0601')), 1):
            if mine != read:
                raise ExportError(f'line {line} does not read back as written: {read!r}')
    return data
