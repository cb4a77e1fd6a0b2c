"""Streaming parser and renderer for Betalingsservice deliveries 0601, 0602 and 0603.

``parse`` reads bytes (or lines) and yields typed records, checking encoding, record
length, record and transaction types, every field, the order of records and the section
and delivery totals. ``render`` writes records as ISO-8859-1, 128 characters and CR LF
per record, and by default runs the same checks over what it writes. ``with_totals``
appends the section and delivery end records computed from the records themselves.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from decimal import Decimal

from .errors import FormatError, FormatWarning
from .layout import (
    CONTROL_CHARACTER,
    RECORD_LENGTH,
    field_position,
    layout,
    utf8_lookalike,
)
from .options import DEFAULT_OPTIONS, GROSS, IGNORE, STRICT, Options
from .records import (
    RECORDS,
    SECTIONS_0601,
    SECTIONS_0602,
    SECTIONS_0603,
    DebtorAddress,
    DebtorIdentity,
    DebtorPostcode,
    DeliveryEnd,
    DeliveryStart,
    NotificationText,
    Record,
    ReplySectionEnd,
    SectionEnd,
    transaction_code,
)

ZERO = Decimal('0.00')
RECORD_POS = (1, 5)
_MAX_SECTIONS_0601 = 9000
_MAX_TEXT_LINES = 5000
_BOM = b'\xef\xbb\xbf'
# Control characters anywhere in a file, except LF and a CR that precedes an LF.
_FILE_PROBLEM = re.compile('[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)')
_NOT_LATIN1 = re.compile('[^\x00-\xff]')


# --- dispatch ------------------------------------------------------------------------

def _dispatch_table(classes):
    table = {}
    for cls in classes:
        codes = cls.TRANSACTIONS or ((cls.TRANSACTION,) if cls.TRANSACTION else (None,))
        for code in codes:
            key = (cls.RECORD_TYPE, code)
            if cls in (DebtorAddress, DebtorPostcode, DebtorIdentity):
                sub = table.setdefault(key, {})
                if cls is DebtorAddress:
                    for n in range(1, 6):
                        sub['%05d' % n] = cls
                else:
                    sub[cls.FIXED[0].value] = cls
            else:
                table[key] = cls
    return table


_DISPATCH = {family: _dispatch_table(classes) for family, classes in RECORDS.items()}
_WITH_TRANSACTION = {
    family: {rt for rt, code in table if code is not None}
    for family, table in _DISPATCH.items()}
_FAMILY_CLASSES = {family: frozenset(classes) for family, classes in RECORDS.items()}


def classify(text: str, family: str, line: int = 1, options: Options = DEFAULT_OPTIONS):
    """Return the record class of a 128-character line in a delivery of type ``family``."""
    if text[:2] != options.system_id:
        raise FormatError(line, 'system id', f'expected {options.system_id!r}, found '
                          f'{text[:2]!r}', (1, 2))
    table = _DISPATCH[family]
    rt = text[2:5]
    cls = table.get((rt, None))
    if cls is not None:
        return cls
    if rt not in _WITH_TRANSACTION[family]:
        raise FormatError(line, 'record type',
                          f'unknown record type {text[:5]!r} in delivery {family}', RECORD_POS)
    code = text[13:17]
    cls = table.get((rt, code))
    if cls is None:
        raise FormatError(line, 'transaction code', f'unknown transaction code {code!r} for '
                          f'record {text[:5]} in delivery {family}', (14, 17))
    if type(cls) is dict:
        number = text[17:22]
        sub = cls.get(number)
        if sub is None:
            raise FormatError(line, 'record number', f'unknown record number {number!r} for '
                              f'{text[:5]} {code}', (18, 22))
        return sub
    return cls


# --- line splitting and encoding checks ----------------------------------------------

def _problem(text: str, raw: bytes | None, options: Options):
    """Return ``(column, message)`` of the first encoding problem of a line, or None."""
    if raw is not None and options.reject_utf8:
        col = utf8_lookalike(raw)
        if col is not None:
            ch = next(c for c in raw.decode('utf-8') if ord(c) > 0x7f)
            return col, (f'UTF-8 encoded character {ch!r} (bytes {raw[col - 1:col + 1]!r}); '
                         f'the file must be ISO-8859-1')
    found = []
    m = _NOT_LATIN1.search(text)
    if m is not None:
        found.append((m.start() + 1, f'character {m.group()!r} is not ISO-8859-1'))
    m = CONTROL_CHARACTER.search(text)
    if m is not None:
        found.append((m.start() + 1, f'control character {m.group()!r} inside a record'))
    return min(found) if found else None


def _lines(data, options: Options) -> Iterator[tuple[int, str, tuple | None]]:
    """Yield ``(line number, text without line end, problem)``."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data)
        all_ascii = data.isascii()
        text = data.decode('latin-1')
        suspicious = (not all_ascii) or _search_problem(text)
        lines = text.split('\n')
        if lines and lines[-1] == '':
            lines.pop()
        for n, ln in enumerate(lines, 1):
            if ln.endswith('\r'):
                ln = ln[:-1]
            problem = None
            if n == 1 and ln.startswith(_BOM.decode('latin-1')):
                problem = (1, 'UTF-8 byte-order mark; the file must be ISO-8859-1')
            elif suspicious and (not ln.isascii() or not ln.isprintable()):
                problem = _problem(ln, ln.encode('latin-1'), options)
            yield n, ln, problem
        return
    if isinstance(data, str):
        data = data.split('\n')
        if data and data[-1] == '':
            data.pop()
    for n, item in enumerate(data, 1):
        raw = None
        if isinstance(item, (bytes, bytearray, memoryview)):
            raw = bytes(item)
            if raw.endswith(b'\n'):
                raw = raw[:-1]
            if raw.endswith(b'\r'):
                raw = raw[:-1]
            ln = raw.decode('latin-1')
        else:
            ln = item
            if ln.endswith('\n'):
                ln = ln[:-1]
            if ln.endswith('\r'):
                ln = ln[:-1]
        problem = None
        if n == 1 and raw is not None and raw.startswith(_BOM):
            problem = (1, 'UTF-8 byte-order mark; the file must be ISO-8859-1')
        elif not (ln.isascii() and ln.isprintable()):
            problem = _problem(ln, raw, options)
        yield n, ln, problem


def _search_problem(text: str) -> bool:
    return _FILE_PROBLEM.search(text) is not None


# --- totals --------------------------------------------------------------------------

class _Tally:
    """Counts and sums of the records of one section."""

    __slots__ = ('collections', 'texts', 'debtors', 'plus', 'minus', 'amounts', 'paid')

    def __init__(self):
        self.collections = self.texts = self.debtors = 0
        self.plus = self.minus = self.amounts = self.paid = ZERO

    def add(self, record):
        role = record.ROLE
        if role == 'collection':
            self.collections += 1
            value = getattr(record, 'amount', None)
            if value is not None:
                self.amounts += value
                if record.sign_code == 1:
                    self.plus += value
                elif record.sign_code == 2:
                    self.minus += value
            paid = getattr(record, 'paid_amount', None)
            if paid is not None:
                self.paid += paid
        elif role == 'text':
            self.texts += 1
        elif role == 'debtor':
            self.debtors += 1

    def net_0601(self, options: Options) -> Decimal:
        """Amount for a 0601 BS092 under conflict C7."""
        if options.net_amount == GROSS:
            return self.plus + self.minus
        return abs(self.plus - self.minus)


class _Rule:
    __slots__ = ('collections', 'debtors', 'texts')

    def __init__(self, collections, debtors, texts):
        self.collections = frozenset(collections)
        self.debtors = debtors
        self.texts = frozenset(texts)


_RULES = {
    '0601': {
        '0112': _Rule({'0280'}, 'optional', {'052', '062'}),
        '0113': _Rule({'0283'}, 'forbidden', {'052'}),
        '0117': _Rule({'0285'}, 'required', {'052'}),
        '0118': _Rule({'0286'}, 'required', {'062'}),
    },
    '0602': {
        '0211': _Rule({'0236', '0237', '0238', '0239'}, 'forbidden', ()),
        '0215': _Rule({'0297', '0299'}, 'optional', {'052'}),
    },
    '0603': {
        '0210': _Rule({'0230'}, 'forbidden', ()),
        '0212': _Rule({'0231', '0232', '0233', '0234'}, 'forbidden', ()),
        '0219': _Rule({'0230'}, 'forbidden', ()),
    },
}
_SECTIONS = {'0601': SECTIONS_0601, '0602': SECTIONS_0602, '0603': SECTIONS_0603}


def _err(line, record_or_cls, name, message):
    cls = record_or_cls if isinstance(record_or_cls, type) else type(record_or_cls)
    label, pos = field_position(cls, name)
    return FormatError(line, label, message, pos)


def _kr(value: Decimal) -> str:
    return f'{value} kr'


class _Section:
    __slots__ = ('record', 'line', 'rule', 'tally', 'block', 'current', 'text_next', 'seen')

    def __init__(self, record, line, rule):
        self.record = record
        self.line = line
        self.rule = rule
        self.tally = _Tally()
        self.block = None       # 0601: pending BS022 block [line, customer, group, lines, ...]
        self.current = None     # 0601: (customer, group, mandate) of the last collection
        self.text_next = {}
        self.seen = set()


class Checker:
    """Structure and totals checker shared by ``parse`` and ``render``."""

    def __init__(self, options: Options = DEFAULT_OPTIONS, delivery_type: str | None = None,
                 warnings: list | None = None):
        self.options = options
        self.expected = delivery_type
        self.warnings = warnings
        self.state = 'begin'
        self.start = None
        self.family = None
        self.classes = frozenset()
        self.section = None
        self.sections = 0
        self.total = _Tally()
        self.section_amounts = ZERO
        self.end_line = None

    @property
    def done(self) -> bool:
        """True once the delivery end has been read."""
        return self.state == 'end'

    def feed(self, record: Record, line: int) -> None:
        """Check one record in file order; raise ``FormatError`` on the first problem."""
        cls = type(record)
        if self.state == 'begin':
            if cls is not DeliveryStart:
                raise FormatError(line, 'record type', 'a delivery must begin with the delivery '
                                  f'start BS002, found {cls.__name__}', RECORD_POS)
            self._begin(record, line)
            return
        if cls not in self.classes:
            raise FormatError(line, 'record type', f'{cls.__name__} does not belong in a '
                              f'{self.family} delivery', RECORD_POS)
        role = cls.ROLE
        rid = self.options.system_id + cls.RECORD_TYPE
        if self.state == 'end':
            raise FormatError(line, 'record type', f'{rid} after the delivery end at line '
                              f'{self.end_line}', RECORD_POS)
        if role == 'start':
            raise FormatError(line, 'record type', 'second delivery start BS002 inside the '
                              'delivery', RECORD_POS)
        sec = self.section
        if sec is None:
            if role == 'section':
                self._open(record, line)
            elif role == 'end':
                self._end(record, line)
            elif role == 'section_end':
                raise FormatError(line, 'record type', f'{rid} section end without a section '
                                  'start', RECORD_POS)
            else:
                raise FormatError(line, 'record type', f'{rid} outside a section (no section '
                                  'start BS012 before it)', RECORD_POS)
            return
        if role == 'section':
            raise FormatError(line, 'record type', f'{rid} section start before the end of the '
                              f'section starting at line {sec.line} (missing section end)',
                              RECORD_POS)
        if role == 'end':
            raise FormatError(line, 'record type', f'{rid} delivery end while the section '
                              f'starting at line {sec.line} is open (missing section end)',
                              RECORD_POS)
        if role == 'section_end':
            self._close(record, line)
            return
        if record.pbs_number != sec.record.pbs_number:
            raise _err(line, record, 'pbs_number', f'{record.pbs_number} differs from the '
                       f'section start ({sec.record.pbs_number})')
        if record.debtor_group != sec.record.debtor_group:
            raise _err(line, record, 'debtor_group', f'{record.debtor_group} differs from the '
                       f'section start ({sec.record.debtor_group})')
        rule = sec.rule
        if role == 'collection':
            code = transaction_code(record)
            if code not in rule.collections:
                raise FormatError(line, 'transaction code', f'transaction {code} is not allowed '
                                  f'in section {sec.record.section}', (14, 17))
            if self.family == '0601':
                self._collection_0601(record, line, sec)
        elif role == 'debtor':
            if rule.debtors == 'forbidden':
                raise FormatError(line, 'record type', f'{rid} is not allowed in section '
                                  f'{sec.record.section}', RECORD_POS)
            if self.family == '0601':
                self._debtor_0601(record, line, sec)
        elif role == 'text':
            if cls.RECORD_TYPE not in rule.texts:
                raise FormatError(line, 'record type', f'{rid} is not allowed in section '
                                  f'{sec.record.section}', RECORD_POS)
            if self.family == '0601':
                self._text_0601(record, line, sec)
        sec.tally.add(record)

    def finish(self, line: int) -> None:
        """Check that the delivery is complete; ``line`` is the line after the last."""
        if self.state == 'begin':
            raise FormatError(line, 'record type', 'empty file: no delivery start BS002',
                              RECORD_POS)
        if self.section is not None:
            raise FormatError(line, 'record type', 'end of file: missing section end BS092 of '
                              f'the section starting at line {self.section.line} and delivery '
                              'end BS992 (file truncated)', RECORD_POS)
        if self.state != 'end':
            raise FormatError(line, 'record type', 'end of file: missing delivery end BS992 '
                              '(file truncated)', RECORD_POS)

    # -- delivery and sections --

    def _begin(self, record, line):
        if record.delivery_type not in _DISPATCH:
            raise _err(line, record, 'delivery_type',
                       f'unknown delivery type {record.delivery_type!r}')
        if self.expected and record.delivery_type != self.expected:
            raise _err(line, record, 'delivery_type',
                       f'expected delivery {self.expected}, found {record.delivery_type}')
        self.start = record
        self.family = record.delivery_type
        self.classes = _FAMILY_CLASSES[self.family]
        self.state = 'open'

    def _open(self, record, line):
        rules = _RULES[self.family]
        if record.section not in rules:
            raise _err(line, record, 'section', f'section {record.section} does not belong in '
                       f'delivery {self.family} (expected one of {_SECTIONS[self.family]})')
        self.sections += 1
        if self.family == '0601' and self.sections > _MAX_SECTIONS_0601:
            raise FormatError(line, 'record type', f'more than {_MAX_SECTIONS_0601} sections',
                              RECORD_POS)
        self.section = _Section(record, line, rules[record.section])

    def _close(self, record, line):
        sec = self.section
        start = sec.record
        for name in ('pbs_number', 'section', 'debtor_group'):
            if getattr(record, name) != getattr(start, name):
                raise _err(line, record, name, f'{getattr(record, name)} differs from the '
                           f'section start at line {sec.line} ({getattr(start, name)})')
        if sec.block is not None:
            raise FormatError(line, 'record type', f'debtor records from line {sec.block[0]} '
                              'are not followed by their collection', RECORD_POS)
        tally = sec.tally
        for name, found, counted in (
                ('collection_count', record.collection_count, tally.collections),
                ('text_count', record.text_count, tally.texts),
                ('debtor_count', record.debtor_count, tally.debtors)):
            if found != counted:
                raise _err(line, record, name, f'section end says {found}, the section has '
                           f'{counted}')
        if type(record) is SectionEnd:
            computed = tally.net_0601(self.options)
            if record.net_amount != computed:
                raise _err(line, record, 'net_amount', f'section end says '
                           f'{_kr(record.net_amount)}, the collections add up to '
                           f'{_kr(computed)}')
            self.section_amounts += record.net_amount
        else:
            candidates = {tally.paid, tally.amounts, abs(tally.plus - tally.minus)}
            self._reply_total(record, line, 'total', record.total, candidates,
                              'the paid amounts or the collection amounts')
            self.section_amounts += record.total
        self.total.collections += tally.collections
        self.total.texts += tally.texts
        self.total.debtors += tally.debtors
        self.total.amounts += tally.amounts
        self.total.paid += tally.paid
        self.section = None

    def _end(self, record, line):
        start = self.start
        for name in ('data_supplier', 'subsystem', 'delivery_type'):
            if getattr(record, name) != getattr(start, name):
                raise _err(line, record, name, f'{getattr(record, name)!r} differs from the '
                           f'delivery start ({getattr(start, name)!r})')
        for name, found, counted in (
                ('section_count', record.section_count, self.sections),
                ('collection_count', record.collection_count, self.total.collections),
                ('text_count', record.text_count, self.total.texts),
                ('debtor_count', record.debtor_count, self.total.debtors)):
            if found != counted:
                raise _err(line, record, name, f'delivery end says {found}, the delivery has '
                           f'{counted}')
        if self.family == '0601':
            if record.net_amount != self.section_amounts:
                raise _err(line, record, 'net_amount', f'delivery end says '
                           f'{_kr(record.net_amount)}, the section ends add up to '
                           f'{_kr(self.section_amounts)}')
        else:
            candidates = {self.section_amounts, self.total.paid, self.total.amounts}
            self._reply_total(record, line, 'net_amount', record.net_amount, candidates,
                              'the section totals, the paid amounts or the collection amounts')
        self.state = 'end'
        self.end_line = line

    def _reply_total(self, record, line, name, found, candidates, what):
        mode = self.options.reply_total_check
        if mode == IGNORE or found in candidates:
            return
        label, pos = field_position(type(record), name)
        message = (f'total {_kr(found)} matches none of {what} '
                   f'({", ".join(_kr(c) for c in sorted(candidates))}); not used for posting')
        if mode == STRICT:
            raise FormatError(line, label, message, pos)
        if self.warnings is not None:
            self.warnings.append(FormatWarning(line, label, message, pos))

    # -- 0601 record order --

    def _debtor_0601(self, record, line, sec):
        block = sec.block
        cls = type(record)
        if block is None:
            if cls is not DebtorAddress or record.record_number != 1:
                raise _err(line, record, 'record_number' if cls is DebtorAddress
                           else 'customer_number', 'debtor records must start with address '
                           'line 00001')
            # [first line, customer, group, address lines, postcode record, identity record]
            sec.block = [line, record.customer_number, record.debtor_group, 1, None, False]
            return
        if record.customer_number != block[1]:
            raise _err(line, record, 'customer_number', f'{record.customer_number!r} differs '
                       f'from the debtor records starting at line {block[0]} ({block[1]!r}); '
                       'their collection is missing')
        if cls is DebtorAddress:
            if block[4] is not None or record.record_number != block[3] + 1:
                raise _err(line, record, 'record_number', f'address line {record.record_number}'
                           f' out of sequence (expected {block[3] + 1:05d})')
            block[3] += 1
        elif cls is DebtorPostcode:
            if block[4] is not None:
                raise FormatError(line, 'record number', 'second postcode record 00009',
                                  (18, 22))
            needed = 2 if record.country in ('', 'DK') else 3
            if block[3] < needed:
                raise FormatError(line, 'record number', f'{block[3]} address line(s) before '
                                  f'00009; an address in {record.country or "DK"} needs at '
                                  f'least {needed}', (18, 22))
            block[4] = record
        else:
            if block[4] is None or block[5]:
                raise FormatError(line, 'record number', 'record 00010 must come last, after '
                                  '00009', (18, 22))
            block[5] = True

    def _collection_0601(self, record, line, sec):
        block = sec.block
        if block is not None:
            if block[4] is None:
                raise FormatError(line, 'record type', f'debtor records from line {block[0]} '
                                  'lack the postcode record 00009', RECORD_POS)
            if record.customer_number != block[1]:
                raise _err(line, record, 'customer_number', f'{record.customer_number!r} '
                           f'differs from its debtor records at line {block[0]} ({block[1]!r})')
        elif sec.rule.debtors == 'required':
            raise FormatError(line, 'record type', f'section {sec.record.section} needs debtor '
                              'records BS022 before each collection', RECORD_POS)
        sign = record.sign_code
        if sign == 0 and record.amount:
            raise _err(line, record, 'amount', 'sign code 0 needs a zero amount')
        if sign != 0 and not record.amount:
            raise _err(line, record, 'amount', f'sign code {sign} needs an amount above zero')
        key = (record.customer_number, record.payment_date)
        if key in sec.seen:
            raise _err(line, record, 'customer_number', f'second collection for '
                       f'{record.customer_number!r} on {record.payment_date} in this section')
        sec.seen.add(key)
        sec.block = None
        sec.current = (record.customer_number, getattr(record, 'mandate_number', '0' * 9))
        sec.text_next = {'052': 1, '062': 1}

    def _text_0601(self, record, line, sec):
        current = sec.current
        if current is None or sec.block is not None:
            raise FormatError(line, 'record type', 'text line without a preceding collection',
                              RECORD_POS)
        if record.customer_number != current[0]:
            raise _err(line, record, 'customer_number', f'{record.customer_number!r} differs '
                       f'from its collection ({current[0]!r})')
        expected_mandate = current[1] if type(record) is NotificationText else '0' * 9
        if record.mandate_number != expected_mandate:
            raise _err(line, record, 'mandate_number', f'expected {expected_mandate}')
        rt = type(record).RECORD_TYPE
        expected = sec.text_next[rt]
        n = record.line_number
        if n == expected and n <= _MAX_TEXT_LINES:
            sec.text_next[rt] = n + 1
        elif not (self.options.duplicate_text_numbers and n == expected - 1 and n >= 1):
            raise _err(line, record, 'line_number', f'{n:05d} out of sequence (expected '
                       f'{expected:05d}, at most {_MAX_TEXT_LINES:05d})')


# --- public API ----------------------------------------------------------------------

def parse_record(text: str, *, delivery_type: str = '0601',
                 options: Options = DEFAULT_OPTIONS, line: int = 1) -> Record:
    """Parse one record (no structure checks) of a delivery of the given type."""
    if len(text) > RECORD_LENGTH or (len(text) < RECORD_LENGTH and not options.pad_short_lines):
        raise FormatError(line, 'record length', f'{len(text)} characters, expected '
                          f'{RECORD_LENGTH}')
    text = text.ljust(RECORD_LENGTH)
    cls = classify(text, delivery_type, line, options)
    check = delivery_type == '0601' or options.strict_reply_fillers
    return layout(cls, options).parse(text, line, check)


def render_record(record: Record, *, options: Options = DEFAULT_OPTIONS, line: int = 1) -> str:
    """Render one record as a 128-character string (no line end)."""
    return layout(type(record), options).render(record, line)


def _parse(data, options, delivery_type, warnings) -> Iterator[tuple[int, Record]]:
    checker = Checker(options, delivery_type, warnings)
    family = None
    check = True
    layouts = {}
    last = 0
    pad = options.pad_short_lines
    for line, text, problem in _lines(data, options):
        last = line
        if checker.done and not text.strip(' '):
            continue
        if problem is not None:
            raise _encoding_error(text, line, problem, family, options)
        size = len(text)
        if size != RECORD_LENGTH:
            if size == 0:
                raise FormatError(line, 'record length', 'empty line')
            if size > RECORD_LENGTH or not pad:
                raise FormatError(line, 'record length', f'{size} characters, expected '
                                  f'{RECORD_LENGTH}')
            text = text.ljust(RECORD_LENGTH)
        if family is None:
            if text[2:5] != '002':
                raise FormatError(line, 'record type', 'a delivery must begin with the delivery'
                                  f' start BS002, found {text[:5]!r}', RECORD_POS)
            if text[:2] != options.system_id:
                raise FormatError(line, 'system id', f'expected {options.system_id!r}, found '
                                  f'{text[:2]!r}', (1, 2))
            lay = layout(DeliveryStart, options)
            record = lay.parse(text, line, False)
            checker.feed(record, line)
            family = checker.family
            check = family == '0601' or options.strict_reply_fillers
            if check:
                lay.check_fixed(text, line)
            yield line, record
            continue
        key = text[:5] + text[13:22]
        lay = layouts.get(key)
        if lay is None:
            lay = layouts[key] = layout(classify(text, family, line, options), options)
        record = lay.parse(text, line, check)
        checker.feed(record, line)
        yield line, record
    checker.finish(last + 1)


def _encoding_error(text, line, problem, family, options):
    column, message = problem
    label, pos = 'encoding', (column, column)
    if message.startswith('UTF-8 byte-order mark'):
        return FormatError(line, label, message, (1, 3))
    try:
        padded = text.ljust(RECORD_LENGTH)
        cls = DeliveryStart if family is None else classify(padded, family, line, options)
        area, _ = layout(cls, options).label_at(column)
        label = area
    except (FormatError, KeyError):
        pass
    return FormatError(line, label, message, pos)


def parse(data: bytes | Iterable[bytes] | Iterable[str], *,
          options: Options = DEFAULT_OPTIONS, delivery_type: str | None = None,
          warnings: list | None = None) -> Iterator[Record]:
    """Parse a delivery strictly, yielding records; raise ``FormatError`` on any problem.

    ``data`` is the file's bytes, or an iterable of lines (bytes or str, with or without
    line ends). ``delivery_type`` ('0601', '0602', '0603') rejects other deliveries.
    Tolerated irregularities (reply totals, conflict C6) are appended to ``warnings``.
    """
    for _line, record in _parse(data, options, delivery_type, warnings):
        yield record


def parse_with_lines(data, *, options: Options = DEFAULT_OPTIONS,
                     delivery_type: str | None = None,
                     warnings: list | None = None) -> Iterator[tuple[int, Record]]:
    """Like ``parse`` but yield ``(line number, record)`` pairs."""
    return _parse(data, options, delivery_type, warnings)


def render(records: Iterable[Record], *, options: Options = DEFAULT_OPTIONS,
           validate: bool = True) -> bytes:
    """Render records as ISO-8859-1 bytes, 128 characters and CR LF per record.

    With ``validate`` (default) the records go through the same structure and totals
    checks as ``parse``; hand-written totals that do not match raise ``FormatError``.
    Use ``with_totals`` to compute the section and delivery end records.
    """
    checker = Checker(options) if validate else None
    out = []
    for line, record in enumerate(records, 1):
        out.append(layout(type(record), options).render(record, line))
        if checker is not None:
            checker.feed(record, line)
    if checker is not None:
        checker.finish(len(out) + 1)
    if not out:
        return b''
    out.append('')
    return '\r\n'.join(out).encode('latin-1')


def with_totals(records: Iterable[Record], *,
                options: Options = DEFAULT_OPTIONS) -> Iterator[Record]:
    """Yield the records with computed section end (BS092) and delivery end (BS992) records.

    The input holds the delivery start, section starts and section contents only; end
    records are always computed here, never passed in. 0601 amounts follow conflict C7;
    reply totals use the sum of the paid amounts (guide text, conflict C6).
    """
    start = None
    section = None
    tally = None
    total = _Tally()
    sections = 0
    section_amounts = ZERO

    def close():
        nonlocal section_amounts
        if start.delivery_type == '0601':
            value = tally.net_0601(options)
            end = SectionEnd(section.pbs_number, section.section, section.debtor_group,
                             tally.collections, value, tally.texts, tally.debtors)
        else:
            value = tally.paid
            end = ReplySectionEnd(section.pbs_number, section.section, section.debtor_group,
                                  tally.collections, value, tally.texts, tally.debtors)
        section_amounts += value
        total.collections += tally.collections
        total.texts += tally.texts
        total.debtors += tally.debtors
        return end

    for record in records:
        role = record.ROLE
        if role in ('section_end', 'end'):
            raise ValueError('with_totals computes section and delivery end records; do not '
                             f'pass {type(record).__name__}')
        if role == 'start':
            if start is not None:
                raise ValueError('second delivery start')
            start = record
        elif start is None:
            raise ValueError(f'{type(record).__name__} before the delivery start')
        elif role == 'section':
            if section is not None:
                yield close()
            section = record
            tally = _Tally()
            sections += 1
        elif section is None:
            raise ValueError(f'{type(record).__name__} outside a section')
        else:
            tally.add(record)
        yield record
    if start is None:
        raise ValueError('no delivery start')
    if section is not None:
        yield close()
    yield DeliveryEnd(start.data_supplier, start.subsystem, start.delivery_type, sections,
                      total.collections, section_amounts, total.texts, total.debtors)


__all__ = [
    'Checker', 'classify', 'parse', 'parse_record', 'parse_with_lines', 'render',
    'render_record', 'with_totals',
]
