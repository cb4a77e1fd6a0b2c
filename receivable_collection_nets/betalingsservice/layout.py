"""Field tables: each field is declared once (position, width, type) and drives both
rendering and parsing of a 128-character record.

Field types (spec section 1):

* ``num``     N field read as ``int`` (counts, record/line numbers, groups, sign codes)
* ``digits``  N field kept as a ``str`` of exactly the field width (PBS/CVR/mandate/
  account numbers, section and transaction codes: leading zeros are significant)
* ``alpha``   X field, ``str`` left-aligned; trailing blanks are not kept
* ``money``   N field of øre read as ``Decimal`` with two places (exact, never float)
* ``date6``   ``ddmmyy`` (or ``yymmdd`` in the LS dialect), ``date``; zeros = ``None``
* ``date8``   ``ddmmyyyy``, ``date``; zeros = ``None``

Constant contents (``00``, ``0240``...) are declared with ``fixed``; every position not
covered by a field or a fixed entry is a blank filler.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import FormatError
from .options import DEFAULT_OPTIONS, Options

RECORD_LENGTH = 128
CENT = Decimal('0.01')

# Characters allowed inside a record: printable ISO-8859-1 (no C0/C1 controls, no DEL).
NOT_PRINTABLE_LATIN1 = re.compile('[^\x20-\x7e\xa0-\xff]')
CONTROL_CHARACTER = re.compile('[\x00-\x1f\x7f-\x9f]')

_MISSING = dataclasses.MISSING


@dataclass(frozen=True)
class FieldSpec:
    """Position and type of one record field (stored in dataclass field metadata)."""

    kind: str
    start: int
    end: int
    label: str | None = None
    optional: bool = False
    choices: frozenset | None = None
    when: str | None = None
    blank_if: str | None = None

    @property
    def width(self) -> int:
        """Number of characters of the field."""
        return self.end - self.start + 1


@dataclass(frozen=True)
class Fixed:
    """A constant or filler area of a record."""

    start: int
    end: int
    value: Any
    label: str = 'filler'
    accept: tuple = ()
    when: str | None = None


def fixed(start, end, value, label='filler', *, accept=(), when=None) -> Fixed:
    """Declare constant content at ``start``-``end`` (1-based, inclusive)."""
    return Fixed(start, end, value, label, tuple(accept), when)


def _field(kind, start, end, default=_MISSING, *, label=None, optional=False,
           choices=None, when=None, blank_if=None):
    if choices is not None:
        choices = frozenset(choices)
    spec = FieldSpec(kind, start, end, label, optional, choices, when, blank_if)
    if default is _MISSING:
        return dataclasses.field(metadata={'nets': spec})
    return dataclasses.field(default=default, metadata={'nets': spec})


def num(start, end, default=_MISSING, **kw):
    """Declare an N field read as ``int``."""
    return _field('num', start, end, default, **kw)


def digits(start, end, default=_MISSING, **kw):
    """Declare an N field kept as a full-width digit string."""
    return _field('digits', start, end, default, **kw)


def digits_or_blank(start, end, default=_MISSING, **kw):
    """Declare an N field that may also be all blanks (read as ``''``)."""
    return _field('digits_or_blank', start, end, default, **kw)


def alpha(start, end, default=_MISSING, **kw):
    """Declare an X field (left-aligned text)."""
    return _field('alpha', start, end, default, **kw)


def money(start, end, default=_MISSING, **kw):
    """Declare an amount field in øre, read as ``Decimal``."""
    return _field('amount', start, end, default, **kw)


def date6(start, end, default=_MISSING, **kw):
    """Declare a 6-digit date field (``ddmmyy``)."""
    return _field('date6', start, end, default, **kw)


def date8(start, end, default=_MISSING, **kw):
    """Declare an 8-digit date field (``ddmmyyyy``)."""
    return _field('date8', start, end, default, **kw)


def field_specs(cls) -> list[tuple[str, FieldSpec]]:
    """Return ``(name, FieldSpec)`` for every field of a record class, in declaration order."""
    return [(f.name, f.metadata['nets']) for f in dataclasses.fields(cls)]


def label_of(name: str, spec: FieldSpec) -> str:
    """Human field name used in error messages."""
    return spec.label or name.replace('_', ' ')


# --- parse converters (raise ValueError with a message) -------------------------------

def _not_numeric(s):
    return ValueError(f'not numeric: {s!r}')


def _p_num(choices):
    if choices is None:
        def conv(s):
            if s.isdigit() and s.isascii():
                return int(s)
            raise _not_numeric(s)
    else:
        def conv(s):
            if s.isdigit() and s.isascii():
                v = int(s)
                if v in choices:
                    return v
                raise ValueError(f'{v} is not one of {sorted(choices)}')
            raise _not_numeric(s)
    return conv


def _p_digits(choices):
    if choices is None:
        def conv(s):
            if s.isdigit() and s.isascii():
                return s
            raise _not_numeric(s)
    else:
        def conv(s):
            if s in choices:
                return s
            if s.isdigit() and s.isascii():
                raise ValueError(f'unknown code {s!r}, expected one of {sorted(choices)}')
            raise _not_numeric(s)
    return conv


def _p_digits_or_blank(width):
    blank = ' ' * width

    def conv(s):
        if s.isdigit() and s.isascii():
            return s
        if s == blank:
            return ''
        raise ValueError(f'neither digits nor blanks: {s!r}')
    return conv


def _p_alpha(s):
    return s.rstrip(' ')


def _p_amount(s):
    if s.isdigit() and s.isascii():
        return Decimal(s).scaleb(-2)   # exact: ASCII digits, 2 places
    raise _not_numeric(s)


_DATE_CACHES: dict[str, dict[str, date]] = {'dmy': {}, 'ymd': {}, 'dmyyyy': {}}
_DATE_CACHE_LIMIT = 100_000


def _p_date(kind, order, optional):
    width = 8 if kind == 'date8' else 6
    zeros = '0' * width
    key = 'dmyyyy' if width == 8 else order
    cache = _DATE_CACHES[key]

    def conv(s):
        d = cache.get(s)
        if d is not None:
            return d
        if s == zeros:
            if optional:
                return None
            raise ValueError(f'missing date: {s!r}')
        if not (s.isdigit() and s.isascii()):
            raise ValueError(f'not a date: {s!r}')
        try:
            if width == 8:
                d = date(int(s[4:8]), int(s[2:4]), int(s[0:2]))
            elif order == 'dmy':
                d = date(2000 + int(s[4:6]), int(s[2:4]), int(s[0:2]))
            else:
                d = date(2000 + int(s[0:2]), int(s[2:4]), int(s[4:6]))
        except ValueError:
            raise ValueError(f'not a date: {s!r}') from None
        if len(cache) < _DATE_CACHE_LIMIT:
            cache[s] = d
        return d
    conv.cache = cache
    return conv


# --- render converters (raise ValueError with a message) ------------------------------

def _r_num(width, choices):
    limit = 10 ** width
    fmt = f'0{width}d'

    def conv(v):
        if type(v) is not int or not 0 <= v < limit:
            raise ValueError(f'must be an integer from 0 to {limit - 1}, got {v!r}')
        if choices is not None and v not in choices:
            raise ValueError(f'{v} is not one of {sorted(choices)}')
        return format(v, fmt)
    return conv


def _r_digits(width, choices, blank_ok=False):
    def conv(v):
        if blank_ok and v == '':
            return ' ' * width
        if type(v) is str and len(v) == width and v.isdigit() and v.isascii():
            if choices is not None and v not in choices:
                raise ValueError(f'unknown code {v!r}, expected one of {sorted(choices)}')
            return v
        raise ValueError(f'must be a string of exactly {width} digits, got {v!r}')
    return conv


def _r_alpha(width):
    def conv(v):
        if type(v) is not str:
            raise ValueError(f'must be text, got {v!r}')
        if len(v) > width:
            raise ValueError(f'{len(v)} characters, the field holds {width}: {v!r}')
        if not (v.isascii() and v.isprintable()):
            bad = NOT_PRINTABLE_LATIN1.search(v)
            if bad is not None:
                raise ValueError(f'character {bad.group()!r} is not printable ISO-8859-1')
        return v.ljust(width)
    return conv


def amount_to_ore(value: Decimal) -> int:
    """Convert a non-negative ``Decimal`` amount to integer øre, exactly (no rounding)."""
    if type(value) is not Decimal:
        raise ValueError(f'amount must be a Decimal, got {type(value).__name__} {value!r}')
    if not value.is_finite():
        raise ValueError(f'amount must be finite, got {value!r}')
    try:
        q = value.quantize(CENT)
    except InvalidOperation:
        raise ValueError(f'amount {value} is too large') from None
    if q != value:
        raise ValueError(f'amount {value} has fractions of an øre')
    ore = int(q.scaleb(2))
    if ore < 0:
        raise ValueError(f'amount {value} is negative; the direction goes in the sign code')
    return ore


def ore_to_amount(ore: int) -> Decimal:
    """Convert integer øre to a ``Decimal`` amount with two places."""
    return Decimal(ore).scaleb(-2)


def _r_amount(width):
    def conv(v):
        s = str(amount_to_ore(v))
        if len(s) > width:
            raise ValueError(f'amount {v} does not fit {width} digits of øre')
        return s.zfill(width)
    return conv


def _r_date(kind, order, optional):
    width = 8 if kind == 'date8' else 6

    def conv(v):
        if v is None:
            if optional:
                return '0' * width
            raise ValueError('missing date')
        if type(v) is not date:
            raise ValueError(f'must be a date, got {v!r}')
        if width == 8:
            return '%02d%02d%04d' % (v.day, v.month, v.year)
        if not 2000 <= v.year <= 2099:
            raise ValueError(f'{v} cannot be written with a two-digit year (20yy)')
        if order == 'dmy':
            return '%02d%02d%02d' % (v.day, v.month, v.year - 2000)
        return '%02d%02d%02d' % (v.year - 2000, v.month, v.day)
    return conv


def _converters(kind, spec: FieldSpec, options: Options):
    width = spec.width
    if kind == 'num':
        return _p_num(spec.choices), _r_num(width, spec.choices)
    if kind == 'digits':
        return _p_digits(spec.choices), _r_digits(width, spec.choices)
    if kind == 'digits_or_blank':
        return _p_digits_or_blank(width), _r_digits(width, spec.choices, blank_ok=True)
    if kind == 'alpha':
        return _p_alpha, _r_alpha(width)
    if kind == 'amount':
        return _p_amount, _r_amount(width)
    if kind in ('date6', 'date8'):
        return (_p_date(kind, options.short_date_order, spec.optional),
                _r_date(kind, options.short_date_order, spec.optional))
    raise TypeError(f'unknown field kind {kind!r}')


def _const(value):
    def conv(_s):
        return value
    return conv


def utf8_lookalike(raw: bytes) -> int | None:
    """Return the 1-based column of the first non-ASCII byte if ``raw`` is valid UTF-8.

    ISO-8859-1 text of real names (``Søren``) is not valid UTF-8; a line that is, and
    has non-ASCII bytes, was almost certainly written as UTF-8 (``Ã¸`` for ``ø``).
    """
    if raw.isascii():
        return None
    try:
        raw.decode('utf-8')
    except UnicodeDecodeError:
        return None
    return next(i for i, b in enumerate(raw) if b > 0x7f) + 1


class Layout:
    """A record class's field table compiled for one set of options."""

    def __init__(self, cls, options: Options):
        self.cls = cls
        self.reject_utf8 = options.reject_utf8
        self.record_id = options.system_id + cls.RECORD_TYPE
        items = [(1, 5, 'record type', None)]
        tx = getattr(cls, 'TRANSACTION', None)
        if tx:
            items.append((14, 17, 'transaction code', ('fixed', tx, (), False)))
        self.parse_plan = []
        self.inactive = []
        self.positions = {}
        gen = []   # (kind, start index, end, choices, value) for the generated parser
        for name, spec in field_specs(cls):
            label = label_of(name, spec)
            self.positions[name] = (label, (spec.start, spec.end))
            active = spec.when is None or getattr(options, spec.when)
            if not active:
                default = cls.__dataclass_fields__[name].default
                self.parse_plan.append((0, 0, _const(default)))
                self.inactive.append((name, label, default, spec))
                gen.append(('const', 0, 0, None, default))
                continue
            kind = spec.kind
            if spec.blank_if and getattr(options, spec.blank_if):
                kind = 'digits_or_blank'
            parse, render = _converters(kind, spec, options)
            self.parse_plan.append((spec.start - 1, spec.end, parse))
            gen.append((kind, spec.start - 1, spec.end, spec.choices, parse))
            items.append((spec.start, spec.end, label, ('field', name, render)))
        for fx in cls.FIXED:
            if fx.when is not None and not getattr(options, fx.when):
                continue
            value = fx.value(options) if callable(fx.value) else fx.value
            if len(value) != fx.end - fx.start + 1:
                raise TypeError(f'{cls.__name__}: fixed {fx} has the wrong width')
            items.append((fx.start, fx.end, fx.label, ('fixed', value, fx.accept, True)))
        items.sort(key=lambda i: i[0])
        # Fill gaps with blank fillers; refuse overlaps.
        full = []
        pos = 1
        for start, end, label, what in items:
            if start < pos:
                raise TypeError(f'{cls.__name__}: {label} at {start}-{end} overlaps')
            if start > pos:
                full.append((pos, start - 1, 'filler', ('fixed', ' ' * (start - pos), (), True)))
            full.append((start, end, label, what))
            pos = end + 1
        if pos <= RECORD_LENGTH:
            full.append((pos, RECORD_LENGTH, 'filler',
                         ('fixed', ' ' * (RECORD_LENGTH - pos + 1), (), True)))
        elif pos > RECORD_LENGTH + 1:
            raise TypeError(f'{cls.__name__}: fields beyond position {RECORD_LENGTH}')
        self.areas = [(start, end, label) for start, end, label, _ in full]
        self.render_plan = []
        self.checks = []
        for start, end, label, what in full:
            if what is None:
                self.render_plan.append((None, self.record_id, label, (start, end)))
            elif what[0] == 'field':
                self.render_plan.append((what[1], what[2], label, (start, end)))
            else:
                _, value, accept, check = what
                self.render_plan.append((None, value, label, (start, end)))
                if check:
                    self.checks.append((start - 1, end, frozenset((value,) + accept),
                                        label, (start, end)))

        self._fast = {True: self._generate(gen, True), False: self._generate(gen, False)}

    def _generate(self, gen, check_fixed):
        """Generate a parser with the conversions inlined (the hot path of ``parse``).

        The code is produced from the same field table; any problem raises a bare
        ``ValueError`` and ``parse`` re-runs the per-field converters to name the field.
        """
        env = {'cls': self.cls, 'Decimal': Decimal}
        body = []
        args = []
        for i, (kind, s, e, choices, extra) in enumerate(gen):
            v = f'v{i}'
            args.append(v)
            if kind == 'const':
                env[f'K{i}'] = extra
                body.append(f'{v} = K{i}')
                continue
            body.append(f'{v} = text[{s}:{e}]')
            if kind == 'alpha':
                body.append(f"{v} = {v}.rstrip(' ')")
            elif kind in ('num', 'digits', 'amount'):
                body.append(f'if not ({v}.isdigit() and {v}.isascii()): raise ValueError')
                if kind == 'num':
                    body.append(f'{v} = int({v})')
                elif kind == 'amount':
                    body.append(f'{v} = Decimal({v}).scaleb(-2)')
                if choices is not None:
                    env[f'C{i}'] = choices
                    body.append(f'if {v} not in C{i}: raise ValueError')
            elif kind == 'digits_or_blank':
                body.append(f'if not ({v}.isdigit() and {v}.isascii()):')
                body.append(f"    if {v}.strip(' '): raise ValueError")
                body.append(f"    {v} = ''")
            else:   # dates: cache hit inline, otherwise the converter
                env[f'P{i}'] = extra
                env[f'Q{i}'] = extra.cache
                body.append(f'{v} = Q{i}.get({v}) or P{i}({v})')
        if check_fixed:
            for j, (s, e, accepted, _label, _pos) in enumerate(self.checks):
                env[f'A{j}'] = accepted
                body.append(f'if text[{s}:{e}] not in A{j}: raise ValueError')
        body.append(f"return cls({', '.join(args)})")
        source = 'def fast(text):\n' + ''.join(f'    {b}\n' for b in body)
        exec(compile(source, f'<layout {self.cls.__name__}>', 'exec'), env)
        return env['fast']

    def label_at(self, column: int) -> tuple[str, tuple[int, int]]:
        """Return the label and position of the area covering a 1-based column."""
        for start, end, label in self.areas:
            if start <= column <= end:
                return label, (start, end)
        return 'record length', (column, column)

    def parse(self, text: str, line: int, check_fixed: bool = True):
        """Parse one 128-character record into its dataclass."""
        try:
            return self._fast[check_fixed](text)
        except (ValueError, ArithmeticError):
            self._diagnose(text, line)
            if check_fixed:
                self.check_fixed(text, line)
            raise

    def check_fixed(self, text: str, line: int) -> None:
        """Check constant and filler areas of a record."""
        for s, e, accepted, label, pos in self.checks:
            if text[s:e] not in accepted:
                expected = ' or '.join(repr(a) for a in sorted(accepted))
                raise FormatError(line, label, f'expected {expected}, found {text[s:e]!r}', pos)

    def _diagnose(self, text, line):
        for (s, e, conv), (_name, (label, pos)) in zip(self.parse_plan, self.positions.items()):
            try:
                conv(text[s:e])
            except (ValueError, ArithmeticError) as exc:
                raise FormatError(line, label, str(exc), pos) from None

    def render(self, record, line: int = 0) -> str:
        """Render one record as a 128-character string."""
        for name, label, default, spec in self.inactive:
            if getattr(record, name) != default:
                raise FormatError(line, label, f'must be {default!r} unless option '
                                  f'{spec.when} is set', (spec.start, spec.end))
        parts = []
        try:
            for name, conv, _label, _pos in self.render_plan:
                parts.append(conv if name is None else conv(getattr(record, name)))
        except (ValueError, ArithmeticError) as exc:
            _name, _conv, label, pos = self.render_plan[len(parts)]
            raise FormatError(line, label, str(exc), pos) from None
        text = ''.join(parts)
        if self.reject_utf8 and not text.isascii():
            column = utf8_lookalike(text.encode('latin-1'))
            if column is not None:
                label, pos = self.label_at(column)
                raise FormatError(line, label, 'the record would read back as UTF-8 '
                                  f'(character {text[column - 1:column + 1]!r}); replace it',
                                  pos)
        return text


_LAYOUTS: dict[tuple[type, Options], Layout] = {}


def layout(cls, options: Options = DEFAULT_OPTIONS) -> Layout:
    """Return the compiled layout of a record class for the given options (cached)."""
    key = (cls, options)
    lay = _LAYOUTS.get(key)
    if lay is None:
        lay = _LAYOUTS[key] = Layout(cls, options)
    return lay


def field_position(cls, name: str) -> tuple[str, tuple[int, int]]:
    """Return ``(label, (start, end))`` of a field of a record class."""
    for fname, spec in field_specs(cls):
        if fname == name:
            return label_of(name, spec), (spec.start, spec.end)
    raise KeyError(name)


__all__ = [
    'CENT', 'RECORD_LENGTH', 'FieldSpec', 'Fixed', 'Layout', 'alpha',
    'amount_to_ore', 'date6', 'date8', 'digits', 'digits_or_blank', 'field_position',
    'field_specs', 'fixed', 'label_of', 'layout', 'money', 'num', 'ore_to_amount',
    'utf8_lookalike',
]
