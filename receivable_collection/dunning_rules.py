"""Dunning business rules: level choice, late-payment interest, clearing order, presets.

Plain Python for ``receivable_collection`` (spec ``dunning-presets.md``): frozen dataclasses,
``Decimal`` money, the clock passed in as ``today``, no Tryton import, no logging and no I/O
except ``default_presets()`` reading the packaged ``presets.json``. Bad input raises
``RuleError`` naming the field; the model layer turns it into a ``UserError``.

Conventions where the spec leaves room:

* Level windows are closed intervals of days overdue (``today - due_date``, 0 on the due
  date): level *n* is due when ``days_overdue(n) <= days_overdue <= days_overdue(n) +
  max_window``. The level sent is the one whose window holds the line's age, never
  "previous + 1"; earlier unsent levels are reported in ``Decision.missed``.
* A level whose fee is dropped by ``max_fee_reminders`` carries no fee, so ``min_spacing_days``
  does not gate it. The handover level carries no fee (DK's optional *inkassogebyr* stays in
  ``Preset.handover_fee``). With ``notice_min_days`` set, handover waits until the latest
  reminder of a ``notice`` level is at least that many days old (0: sent on an earlier day).
* Interest accrues on every day after ``start`` up to and including ``end``: ``start`` is the
  last interest-free day, i.e. the due date (or DE's default date; the caller chooses), as in
  BGB §187(1) and the usual reading of renteloven §3 / räntelagen §3. A principal change
  ``(day, amount)`` applies from ``day`` on, so the paid part bears no interest on ``day``.
* ``'30/360'`` is 30E/360 (Eurobond basis, 2006 ISDA Definitions 4.16(g)): each day-of-month
  is capped at 30, with no end-of-February rule; days from d1 to d2 are ``360*(y2-y1) +
  30*(m2-m1) + min(dd2, 30) - min(dd1, 30)``. A segment covering days a..b counts from a-1 to
  b, so segment days add up to the whole period. ``'act/365'`` divides by 365 in leap years too.
* Interest is exact: every segment is kept as a fraction and only the total is rounded, once,
  to 0.01 with ROUND_HALF_UP. ``InterestSegment.amount`` is shown unrounded (28 digits).
* Several invoices: the debtor's designation first, then oldest due date first (ties keep the
  given order). The rest of BGB §366(2) (least secured, most burdensome, pro rata) is out of
  scope; the DE preset keeps it in ``invoice_order`` for the review only.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any

__all__ = [
    'ACT_365', 'CHANNELS', 'CLEARING_ORDER', 'DAY_COUNTS', 'HANDOVER_CHANNEL', 'INVOICE_ORDER',
    'INVOICE_ORDER_KEYS', 'NOTHING_DUE', 'PRESETS_PATH', 'REMAINDER', 'SEND', 'STATUSES',
    'THIRTY_360', 'WAIT_NOTICE', 'WAIT_SPACING', 'WINDOW_MISSED', 'ZERO', 'Caps', 'Compensation',
    'DatedAmount', 'Decision', 'FeeRule', 'HandoverFee', 'HandoverRule', 'InterestResult',
    'InterestRule', 'InterestSegment', 'InvoiceAllocation', 'LevelRule', 'MissingRateError',
    'NoticeRule', 'Preset', 'Presets', 'RatePeriod', 'ReferenceRate', 'Reminder', 'RuleError',
    'TermCaps', 'allocate', 'allocate_invoices', 'choose_level', 'default_presets',
    'instalment_timelines', 'interest', 'load_presets', 'validate_levels',
]

SEND = 'send'
WAIT_SPACING = 'wait_spacing'
WINDOW_MISSED = 'window_missed'
NOTHING_DUE = 'nothing_due'
WAIT_NOTICE = 'wait_notice'
STATUSES = (SEND, WAIT_SPACING, WINDOW_MISSED, NOTHING_DUE, WAIT_NOTICE)

HANDOVER_CHANNEL = 'agency'
CHANNELS = ('email', 'letter', 'sms', HANDOVER_CHANNEL)
ACT_365 = 'act/365'
THIRTY_360 = '30/360'
DAY_COUNTS = (ACT_365, THIRTY_360)
CLEARING_ORDER = ('costs', 'interest', 'principal')
INVOICE_ORDER = ('designated', 'oldest_due')
INVOICE_ORDER_KEYS = (
    'designated', 'due', 'least_secured', 'most_burdensome', 'oldest', 'oldest_due', 'pro_rata')
REMAINDER = 'remainder'
PRESETS_PATH = Path(__file__).with_name('presets.json')

ZERO = Decimal('0.00')
_ONE_DAY = timedelta(days=1)


# Errors ------------------------------------------------------------------------------------

class RuleError(ValueError):
    """Invalid rule data or argument; ``field`` names it, ``message`` says what is wrong."""

    def __init__(self, field: str, message: str):
        super().__init__(f'{field}: {message}')
        self.field = field
        self.message = message

    def __reduce__(self):
        return (type(self), (self.field, self.message))


class MissingRateError(RuleError):
    """No reference rate (or a rate of None) for a day that bears interest."""

    def __init__(self, key: str, day: date):
        super().__init__(key, f'no rate for {day.isoformat()}')
        self.args = (f'no {key} for {day.isoformat()}',)
        self.key = key
        self.date = day

    def __reduce__(self):
        return (type(self), (self.key, self.date))


# Level choice ------------------------------------------------------------------------------

@dataclass(frozen=True)
class LevelRule:
    """One dunning level: its window in days overdue, fee, channels and role."""

    sequence: int
    name: str
    days_overdue: int
    max_window: int
    fee: Decimal
    channels: tuple
    notice: bool = False
    handover: bool = False
    sets_default: bool = False

    @property
    def last_day(self) -> int:
        """Last day overdue on which the level may still be sent."""
        return self.days_overdue + self.max_window

    def covers(self, days_overdue: int) -> bool:
        """Tell whether ``days_overdue`` lies in the window (both ends included)."""
        return self.days_overdue <= days_overdue <= self.last_day


@dataclass(frozen=True)
class Reminder:
    """A reminder already sent for the line: its level, date and fee charged."""

    level_sequence: int
    date: date
    fee: Decimal


@dataclass(frozen=True)
class Caps:
    """Fee cap, fee spacing and notice time applied by ``choose_level``."""

    max_fee_reminders: int | None = None
    min_spacing_days: int = 0
    notice_min_days: int | None = None


@dataclass(frozen=True)
class Decision:
    """Outcome for one line: status, level concerned, fee, reason and missed levels."""

    status: str
    level: LevelRule | None = None
    fee: Decimal = ZERO
    reason: str = ''
    fee_cap_reached: bool = False
    missed: tuple = ()
    wait_until: date | None = None

    @property
    def fee_applies(self) -> bool:
        """Tell whether the level carries a fee (``fee`` > 0)."""
        return self.fee > 0

    @property
    def to_send(self) -> LevelRule | None:
        """The level to send today, or None unless the status is 'send'."""
        return self.level if self.status == SEND else None


def _label(level: LevelRule) -> str:
    return f'level {level.sequence} {level.name!r}'


def _level_path(level: LevelRule) -> str:
    return f'levels.{level.name}'


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_day(value: Any) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _check_int(field: str, value: Any, minimum: int | None = 0, nullable: bool = False):
    if value is None and nullable:
        return
    if not _is_int(value):
        raise RuleError(field, f'must be an integer, not {value!r}')
    if minimum is not None and value < minimum:
        raise RuleError(field, f'must be at least {minimum}, not {value}')


def _check_money(field: str, value: Any, signed: bool = False):
    if not isinstance(value, Decimal):
        raise RuleError(field, f'must be a Decimal, not {type(value).__name__} {value!r}')
    if not value.is_finite():
        raise RuleError(field, f'must be finite, not {value}')
    if not signed and value < 0:
        raise RuleError(field, f'must not be negative ({value})')


def _check_day(field: str, value: Any):
    if not _is_day(value):
        raise RuleError(field, f'must be a date, not {value!r}')


def _check_level(level: Any, index: int):
    if not isinstance(level, LevelRule):
        raise RuleError(f'levels[{index}]', f'must be a LevelRule, not {level!r}')
    if not isinstance(level.name, str) or not level.name:
        raise RuleError(f'levels[{index}].name', f'must be a non-empty string, not {level.name!r}')
    path = _level_path(level)
    if not _is_int(level.sequence) or level.sequence < 1:
        raise RuleError(
            f'{path}.sequence',
            f'level {level.name!r}: sequence must be an integer >= 1, not {level.sequence!r}')
    for name in ('days_overdue', 'max_window'):
        value = getattr(level, name)
        if not _is_int(value):
            raise RuleError(f'{path}.{name}', f'{_label(level)}: {name} must be an integer')
        if value < 0:
            raise RuleError(f'{path}.{name}', f'{_label(level)}: {name} {value} is negative')
    if not isinstance(level.fee, Decimal) or not level.fee.is_finite():
        raise RuleError(
            f'{path}.fee', f'{_label(level)}: fee must be a finite Decimal, not {level.fee!r}')
    if level.fee < 0:
        raise RuleError(f'{path}.fee', f'{_label(level)}: fee {level.fee} is negative')
    for name in ('notice', 'handover', 'sets_default'):
        if not isinstance(getattr(level, name), bool):
            raise RuleError(f'{path}.{name}', f'{_label(level)}: {name} must be a bool')
    channels = level.channels
    if not isinstance(channels, tuple) or not channels:
        raise RuleError(
            f'{path}.channels', f'{_label(level)}: channels must be a non-empty tuple')
    for channel in channels:
        if channel not in CHANNELS:
            raise RuleError(
                f'{path}.channels',
                f'{_label(level)}: unknown channel {channel!r}; expected one of '
                + ', '.join(CHANNELS))
    if len(set(channels)) != len(channels):
        raise RuleError(f'{path}.channels', f'{_label(level)}: channel listed twice')
    if level.handover and channels != (HANDOVER_CHANNEL,):
        raise RuleError(
            f'{path}.channels', f'{_label(level)}: a handover level is sent by '
            f'{HANDOVER_CHANNEL!r} only, not {channels!r}')
    if not level.handover and HANDOVER_CHANNEL in channels:
        raise RuleError(
            f'{path}.channels',
            f'{_label(level)}: channel {HANDOVER_CHANNEL!r} is for the handover level only')
    if level.handover and level.notice:
        raise RuleError(f'{path}.notice', f'{_label(level)}: a handover level is not a notice')


def validate_levels(levels: Iterable[LevelRule]) -> tuple[LevelRule, ...]:
    """Check a level list and return it sorted by sequence; raise RuleError naming the level."""
    if isinstance(levels, (str, bytes)) or not isinstance(levels, Iterable):
        raise RuleError('levels', f'must be a list of LevelRule, not {levels!r}')
    levels = tuple(levels)
    for index, level in enumerate(levels):
        _check_level(level, index)
    ordered = sorted(levels, key=lambda level: level.sequence)
    names = {}
    for level in ordered:
        if level.name in names:
            raise RuleError(
                f'{_level_path(level)}.name',
                f'{_label(level)}: name also used by {_label(names[level.name])}')
        names[level.name] = level
    for previous, level in zip(ordered, ordered[1:]):
        if level.sequence == previous.sequence:
            raise RuleError(
                f'{_level_path(level)}.sequence',
                f'{_label(level)}: sequence also used by level {previous.name!r}')
        if level.days_overdue <= previous.days_overdue:
            raise RuleError(
                f'{_level_path(level)}.days_overdue',
                f'{_label(level)}: starts at {level.days_overdue} days overdue, not after '
                f'{_label(previous)} at {previous.days_overdue}; days must increase with '
                'sequence')
        if previous.last_day >= level.days_overdue:
            raise RuleError(
                f'{_level_path(previous)}.max_window',
                f'{_label(previous)}: window {previous.days_overdue}+{previous.max_window}='
                f'{previous.last_day} reaches {_label(level)} starting at '
                f'{level.days_overdue}')
        if previous.handover:
            raise RuleError(
                f'{_level_path(previous)}.handover',
                f'{_label(previous)}: the handover level must be the last level')
    return tuple(ordered)


def _check_caps(caps: Any, levels: tuple[LevelRule, ...]):
    if not isinstance(caps, Caps):
        raise RuleError('caps', f'must be a Caps, not {caps!r}')
    _check_int('caps.max_fee_reminders', caps.max_fee_reminders, nullable=True)
    _check_int('caps.min_spacing_days', caps.min_spacing_days)
    _check_int('caps.notice_min_days', caps.notice_min_days, nullable=True)
    if (caps.notice_min_days is not None
            and any(level.handover for level in levels)
            and not any(level.notice for level in levels)):
        raise RuleError(
            'caps.notice_min_days', 'handover needs a notice level, but no level is a notice')


def _check_history(history: Any, today: date) -> tuple[Reminder, ...]:
    if isinstance(history, (str, bytes)) or not isinstance(history, Iterable):
        raise RuleError('history', f'must be a list of Reminder, not {history!r}')
    history = tuple(history)
    for index, reminder in enumerate(history):
        path = f'history[{index}]'
        if not isinstance(reminder, Reminder):
            raise RuleError(path, f'must be a Reminder, not {reminder!r}')
        _check_int(f'{path}.level_sequence', reminder.level_sequence, minimum=1)
        _check_day(f'{path}.date', reminder.date)
        _check_money(f'{path}.fee', reminder.fee)
        if reminder.date > today:
            raise RuleError(
                f'{path}.date', f'{reminder.date.isoformat()} is after today {today.isoformat()}')
    return history


def choose_level(
        levels: Iterable[LevelRule], days_overdue: int, history: Iterable[Reminder],
        caps: Caps, today: date) -> Decision:
    """Decide which level a line gets today (days overdue, history, caps): see ``Decision``."""
    ordered = validate_levels(levels)
    _check_int('days_overdue', days_overdue, minimum=None)
    _check_caps(caps, ordered)
    _check_day('today', today)
    history = _check_history(history, today)
    if any(reminder.date == today for reminder in history):
        return Decision(NOTHING_DUE, reason='already_reminded_today')
    highest = max((reminder.level_sequence for reminder in history), default=0)
    missed = tuple(
        level for level in ordered
        if level.sequence > highest and level.last_day < days_overdue)
    current = next((level for level in ordered if level.covers(days_overdue)), None)
    if current is None:
        if not ordered or days_overdue < ordered[0].days_overdue:
            return Decision(NOTHING_DUE, reason='before_first_level')
        if missed:
            return Decision(WINDOW_MISSED, reason='window_missed', missed=missed)
        if any(level.days_overdue > days_overdue for level in ordered):
            return Decision(NOTHING_DUE, reason='between_levels')
        return Decision(NOTHING_DUE, reason='after_last_level')
    if current.sequence <= highest:
        return Decision(NOTHING_DUE, reason='level_already_sent')
    window_end = today + timedelta(days=current.last_day - days_overdue)

    if current.handover and caps.notice_min_days is not None:
        notices = {level.sequence for level in ordered if level.notice}
        sent = [reminder.date for reminder in history if reminder.level_sequence in notices]
        if not sent:
            return Decision(
                WAIT_NOTICE, level=current, reason='notice_not_sent', missed=missed)
        ready = max(sent) + timedelta(days=caps.notice_min_days)
        if today < ready:
            reason = 'notice_too_recent' if ready <= window_end else 'notice_outlasts_window'
            return Decision(
                WAIT_NOTICE, level=current, reason=reason, missed=missed, wait_until=ready)

    fee, cap_reached = current.fee, False
    if fee > 0:
        fee_dates = [reminder.date for reminder in history if reminder.fee > 0]
        if caps.max_fee_reminders is not None and len(fee_dates) >= caps.max_fee_reminders:
            fee, cap_reached = ZERO, True
        elif fee_dates and caps.min_spacing_days:
            ready = max(fee_dates) + timedelta(days=caps.min_spacing_days)
            if today < ready:
                reason = 'min_spacing' if ready <= window_end else 'spacing_outlasts_window'
                return Decision(
                    WAIT_SPACING, level=current, fee=fee, reason=reason, missed=missed,
                    wait_until=ready)
    return Decision(
        SEND, level=current, fee=fee, reason='due', fee_cap_reached=cap_reached,
        missed=missed)


# Interest ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RatePeriod:
    """A reference rate in % per year, valid from a day until the next period starts."""

    valid_from: date
    rate: Decimal | None
    verified: bool = False
    source: str | None = None


@dataclass(frozen=True)
class ReferenceRate:
    """The dated rate periods of one reference key, e.g. DE_BASE_RATE."""

    key: str
    periods: tuple = ()

    def period_on(self, day: date) -> RatePeriod | None:
        """The period covering ``day``, or None before the first one."""
        found = None
        for period in self.periods:
            if period.valid_from > day:
                break
            found = period
        return found

    def rate_on(self, day: date) -> Decimal:
        """The rate on ``day``; raise MissingRateError when none is known."""
        period = self.period_on(day)
        if period is None or period.rate is None:
            raise MissingRateError(self.key, day)
        return period.rate


@dataclass(frozen=True)
class InterestSegment:
    """Days with one principal and one rate, as printed on a letter."""

    date_from: date
    date_to: date
    days: int
    principal: Decimal
    reference_rate: Decimal
    rate: Decimal
    amount: Decimal


@dataclass(frozen=True)
class InterestResult:
    """Interest total (rounded once to 0.01, half up) and its segments."""

    total: Decimal
    segments: tuple
    key: str
    margin: Decimal
    day_count: str
    start: date
    end: date


def _check_reference(rates: Any):
    if not isinstance(rates, ReferenceRate):
        raise RuleError('rates', f'must be a ReferenceRate, not {rates!r}')
    if not isinstance(rates.key, str) or not rates.key:
        raise RuleError('rates.key', f'must be a non-empty string, not {rates.key!r}')
    if not isinstance(rates.periods, tuple):
        raise RuleError(f'rates.{rates.key}', 'periods must be a tuple of RatePeriod')
    previous = None
    for index, period in enumerate(rates.periods):
        path = f'rates.{rates.key}[{index}]'
        if not isinstance(period, RatePeriod):
            raise RuleError(path, f'must be a RatePeriod, not {period!r}')
        _check_day(f'{path}.valid_from', period.valid_from)
        if period.rate is not None:
            _check_money(f'{path}.rate', period.rate, signed=True)
        if previous is not None and period.valid_from <= previous.valid_from:
            raise RuleError(
                f'{path}.valid_from', f'{period.valid_from.isoformat()} is not after '
                f'{previous.valid_from.isoformat()}')
        previous = period


def _check_timeline(timeline: Any) -> tuple[tuple[date, Decimal], ...]:
    if isinstance(timeline, (str, bytes)) or not isinstance(timeline, Iterable):
        raise RuleError('principal_timeline', f'must be a list of (date, Decimal), not '
                        f'{timeline!r}')
    timeline = tuple(timeline)
    if not timeline:
        raise RuleError('principal_timeline', 'is empty')
    previous = None
    for index, item in enumerate(timeline):
        path = f'principal_timeline[{index}]'
        if not isinstance(item, tuple) or len(item) != 2:
            raise RuleError(path, f'must be a (date, principal) pair, not {item!r}')
        day, principal = item
        _check_day(f'{path}.date', day)
        _check_money(f'{path}.principal', principal)
        if previous is not None and day <= previous:
            raise RuleError(
                f'{path}.date', f'{day.isoformat()} is not after {previous.isoformat()}')
        previous = day
    return timeline


def _principal_on(timeline: tuple[tuple[date, Decimal], ...], day: date) -> Decimal:
    found = None
    for changed, principal in timeline:
        if changed > day:
            break
        found = principal
    if found is None:
        raise RuleError('principal_timeline', f'no principal for {day.isoformat()}')
    return found


def _days_30e(start: date, end: date) -> int:
    return (360 * (end.year - start.year) + 30 * (end.month - start.month)
            + min(end.day, 30) - min(start.day, 30))


def _to_decimal(value: Fraction) -> Decimal:
    with localcontext() as context:
        context.prec = 28
        return Decimal(value.numerator) / Decimal(value.denominator)


def _round_cents(value: Fraction) -> Decimal:
    """Round half up (away from zero) to 0.01, exactly."""
    cents = math.floor(abs(value) * 100 + Fraction(1, 2))
    return Decimal(-cents if value < 0 else cents).scaleb(-2)


def interest(
        principal_timeline: Sequence[tuple[date, Decimal]], rates: ReferenceRate,
        margin: Decimal, start: date, end: date, day_count: str = ACT_365) -> InterestResult:
    """Late interest on the open principal for the days after ``start`` through ``end``."""
    _check_reference(rates)
    _check_money('margin', margin)
    _check_day('start', start)
    _check_day('end', end)
    if day_count not in DAY_COUNTS:
        raise RuleError(
            'day_count', f'unknown day count {day_count!r}; expected one of '
            + ', '.join(DAY_COUNTS))
    if end < start:
        raise RuleError('end', f'{end.isoformat()} is before start {start.isoformat()}')
    timeline = _check_timeline(principal_timeline)
    first = start + _ONE_DAY
    exact = Fraction(0)
    pieces = []
    if first <= end:
        cuts = {day for day, _ in timeline if first < day <= end}
        cuts |= {period.valid_from for period in rates.periods if first < period.valid_from <= end}
        bounds = [first, *sorted(cuts), end + _ONE_DAY]
        for date_from, following in zip(bounds, bounds[1:]):
            date_to = following - _ONE_DAY
            principal = _principal_on(timeline, date_from)
            if not principal:
                continue
            reference = rates.rate_on(date_from)
            last = pieces[-1] if pieces else None
            if (last is not None and last[1] + _ONE_DAY == date_from
                    and last[2] == principal and last[3] == reference):
                last[1] = date_to       # nothing changed (e.g. same rate): one segment
            else:
                pieces.append([date_from, date_to, principal, reference])
    segments = []
    basis = 365 if day_count == ACT_365 else 360
    for date_from, date_to, principal, reference in pieces:
        if day_count == ACT_365:
            days = (date_to - date_from).days + 1
        else:
            days = _days_30e(date_from - _ONE_DAY, date_to)
        rate = reference + margin
        amount = Fraction(principal) * Fraction(rate) * days / (100 * basis)
        exact += amount
        segments.append(InterestSegment(
            date_from, date_to, days, principal, reference, rate, _to_decimal(amount)))
    return InterestResult(
        _round_cents(exact), tuple(segments), rates.key, margin, day_count, start, end)


# Clearing order ----------------------------------------------------------------------------

@dataclass(frozen=True)
class InvoiceAllocation:
    """A payment spread over invoices, in allocation order, plus the overpayment."""

    parts: tuple
    remainder: Decimal

    @property
    def amounts(self) -> dict:
        """The allocated amount per invoice key."""
        return dict(self.parts)


def _check_order(order: Any) -> tuple[str, ...]:
    if isinstance(order, (str, bytes)) or not isinstance(order, Iterable):
        raise RuleError('order', f'must be a sequence of item names, not {order!r}')
    order = tuple(order)
    if not order:
        raise RuleError('order', 'is empty')
    for item in order:
        if not isinstance(item, str) or not item:
            raise RuleError('order', f'item names must be non-empty strings, not {item!r}')
        if item == REMAINDER:
            raise RuleError('order', f'{REMAINDER!r} is reserved for the overpayment')
    if len(set(order)) != len(order):
        raise RuleError('order', f'lists an item twice: {order!r}')
    return order


def allocate(
        payment: Decimal, open_items: Mapping[str, Decimal],
        order: Sequence[str] = CLEARING_ORDER) -> dict:
    """Split a payment over open items in clearing order; the rest goes to 'remainder'."""
    _check_money('payment', payment)
    order = _check_order(order)
    if not isinstance(open_items, Mapping):
        raise RuleError('open_items', f'must be a mapping, not {open_items!r}')
    for key, amount in open_items.items():
        if key not in order:
            raise RuleError(
                f'open_items.{key}', f'not in the clearing order {", ".join(order)}')
        _check_money(f'open_items.{key}', amount)
    rest = payment
    result = {}
    for key in order:
        part = min(rest, open_items.get(key, ZERO))
        result[key] = part
        rest -= part
    result[REMAINDER] = rest
    return result


def allocate_invoices(
        payment: Decimal, invoices: Iterable[tuple[Any, date, Decimal]],
        designated: Sequence[Any] | None = None) -> InvoiceAllocation:
    """Spread a payment over invoices: designated ones first, then oldest due first."""
    _check_money('payment', payment)
    if isinstance(invoices, (str, bytes)) or not isinstance(invoices, Iterable):
        raise RuleError('invoices', f'must be a list of (key, due_date, amount_open), not '
                        f'{invoices!r}')
    invoices = tuple(invoices)
    by_key = {}
    for index, invoice in enumerate(invoices):
        path = f'invoices[{index}]'
        if not isinstance(invoice, tuple) or len(invoice) != 3:
            raise RuleError(path, f'must be a (key, due_date, amount_open) triple, not '
                            f'{invoice!r}')
        key, due, amount = invoice
        if key in by_key:
            raise RuleError(f'{path}.key', f'invoice {key!r} listed twice')
        _check_day(f'{path}.due_date', due)
        _check_money(f'{path}.amount_open', amount)
        by_key[key] = invoice
    if designated is None:
        designated = ()
    elif isinstance(designated, (str, bytes)) or not isinstance(designated, Iterable):
        designated = (designated,)
    designated = tuple(designated)
    for key in designated:
        if key not in by_key:
            raise RuleError('designated', f'unknown invoice {key!r}')
    if len(set(designated)) != len(designated):
        raise RuleError('designated', f'names an invoice twice: {designated!r}')
    rest_order = sorted(
        (invoice for invoice in invoices if invoice[0] not in designated),
        key=lambda invoice: invoice[1])
    rest = payment
    parts = []
    for key, _due, amount in [by_key[key] for key in designated] + rest_order:
        part = min(rest, amount)
        parts.append((key, part))
        rest -= part
    return InvoiceAllocation(tuple(parts), rest)


def instalment_timelines(
        instalments: Iterable[tuple[Any, date, Decimal]],
        payments: Iterable[tuple[date, Decimal, Any]]) -> dict:
    """The open principal of each instalment of an invoice over time.

    ``instalments`` are ``(key, due_date, amount)``, one per receivable line.
    ``payments`` are ``(date, amount, key)``: a payment reconciled to one
    instalment names its key; a payment on the invoice as a whole has the
    key ``None`` and goes to the instalments oldest due first, in payment
    date order.  A payment lowers an instalment from its date, or from the
    due date when it came earlier; what exceeds every instalment is ignored.
    Return ``{key: ((date, open principal), ...)}`` as ``interest`` reads it.
    """
    if isinstance(instalments, (str, bytes)) or not isinstance(instalments, Iterable):
        raise RuleError('instalments', f'must be a list of (key, due_date, amount), not '
                        f'{instalments!r}')
    if isinstance(payments, (str, bytes)) or not isinstance(payments, Iterable):
        raise RuleError('payments', f'must be a list of (date, amount, key), not {payments!r}')
    instalments, payments = tuple(instalments), tuple(payments)
    by_key = {}
    for index, instalment in enumerate(instalments):
        path = f'instalments[{index}]'
        if not isinstance(instalment, tuple) or len(instalment) != 3:
            raise RuleError(path, f'must be a (key, due_date, amount) triple, not '
                            f'{instalment!r}')
        key, due, amount = instalment
        if key is None or key in by_key:
            raise RuleError(f'{path}.key', f'{key!r} is missing or listed twice')
        _check_day(f'{path}.due_date', due)
        _check_money(f'{path}.amount', amount)
        by_key[key] = instalment
    for index, payment in enumerate(payments):
        path = f'payments[{index}]'
        if not isinstance(payment, tuple) or len(payment) != 3:
            raise RuleError(path, f'must be a (date, amount, key) triple, not {payment!r}')
        day, amount, key = payment
        _check_day(f'{path}.date', day)
        _check_money(f'{path}.amount', amount)
        if key is not None and key not in by_key:
            raise RuleError(f'{path}.key', f'unknown instalment {key!r}')

    capacity = {key: amount for key, _, amount in instalments}
    changes = {key: [] for key in by_key}
    for day, amount, key in payments:
        if key is not None:
            changes[key].append((day, amount))
            capacity[key] = max(capacity[key] - amount, ZERO)
    in_due_order = sorted(instalments, key=lambda instalment: instalment[1])
    for day, amount, _ in sorted(
            (p for p in payments if p[2] is None), key=lambda p: p[0]):
        allocation = allocate_invoices(amount, [
                (key, due, capacity[key]) for key, due, _ in in_due_order])
        for key, part in allocation.parts:
            if part:
                capacity[key] -= part
                changes[key].append((day, part))

    result = {}
    for key, due, amount in instalments:
        points = {due: amount}
        for day, part in sorted(changes[key], key=lambda change: change[0]):
            amount = max(amount - part, ZERO)
            points[max(day, due)] = amount
        result[key] = tuple(sorted(points.items()))
    return result


# Presets -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class InterestRule:
    """Preset interest: reference key and rates, margins, day count and start."""

    reference: str
    rates: ReferenceRate
    margin_b2c: Decimal
    margin_b2b: Decimal
    day_count: str
    accrues_from: str
    no_due_date_agreed: str | None = None
    b2c_review_required: bool | None = None

    def margin(self, b2b: bool) -> Decimal:
        """The margin in percentage points for a business or consumer debtor."""
        return self.margin_b2b if b2b else self.margin_b2c


@dataclass(frozen=True)
class FeeRule:
    """Preset reminder fees: per-reminder maximum, count cap, spacing and conditions."""

    per_reminder_max: Decimal | None
    max_fee_reminders: int | None
    min_spacing_days: int
    rule: str | None = None
    warn_above: Decimal | None = None
    first_default_causing_reminder_free: bool | None = None
    requires_prior_agreement: bool | None = None
    earliest_fee_days_overdue: int | None = None
    verified: bool | None = None


@dataclass(frozen=True)
class DatedAmount:
    """An amount valid from a day until the next one (None: not known yet)."""

    valid_from: date
    amount: Decimal | None
    verified: bool


@dataclass(frozen=True)
class Compensation:
    """Preset B2B flat compensation and how it combines with fees and collection costs."""

    per: str
    amount: Decimal | None = None
    amounts: tuple = ()
    cumulative_with_reminder_fees: bool | None = None
    offsets_collection_costs: bool | None = None
    offsets_collection_costs_verified: bool | None = None
    replaces_fees_up_to_amount: bool | None = None

    def amount_on(self, day: date) -> Decimal:
        """The compensation on ``day``; raise MissingRateError when it is not known."""
        if self.amount is not None:
            return self.amount
        found = None
        for dated in self.amounts:
            if dated.valid_from > day:
                break
            found = dated
        if found is None or found.amount is None:
            raise MissingRateError('b2b_compensation', day)
        return found.amount


@dataclass(frozen=True)
class HandoverFee:
    """Optional fee for handing a claim over to collection (DK inkassogebyr)."""

    amount: Decimal
    verified: bool


@dataclass(frozen=True)
class NoticeRule:
    """Notice before handover: its name and the days it must run."""

    name: str
    min_days: int
    statutory: bool | None = None
    may_combine_with_level: int | None = None


@dataclass(frozen=True)
class HandoverRule:
    """When the claim goes to the agency, in days overdue, and its window."""

    days_overdue: int
    max_window: int


@dataclass(frozen=True)
class TermCaps:
    """Payment-term caps in days (EU directive)."""

    b2b: int | None = None
    public_authority: int | None = None


@dataclass(frozen=True)
class Preset:
    """One country's dunning procedure; ``levels`` ends with the handover level."""

    code: str
    currency: str
    interest: InterestRule
    fees: FeeRule
    b2b_compensation: Compensation
    notice: NoticeRule
    levels: tuple
    handover: HandoverRule
    clearing_order: tuple
    invoice_order: tuple
    sources: tuple
    handover_fee: HandoverFee | None = None
    b2b_fee_per_reminder: Decimal | None = None
    payment_term_cap_days: TermCaps | None = None

    @property
    def reminder_levels(self) -> tuple:
        """The levels before handover."""
        return tuple(level for level in self.levels if not level.handover)

    @property
    def handover_level(self) -> LevelRule:
        """The handover level (the last one)."""
        return self.levels[-1]

    def caps(self) -> Caps:
        """The fee and notice caps ``choose_level`` applies for this preset."""
        return Caps(
            self.fees.max_fee_reminders, self.fees.min_spacing_days, self.notice.min_days)


@dataclass(frozen=True)
class Presets:
    """Reference rates and country presets read from one presets document."""

    reference_rates: Mapping[str, ReferenceRate]
    presets: Mapping[str, Preset]


_DECIMAL = re.compile(r'-?\d+(\.\d+)?')
_DATE = re.compile(r'\d{4}-\d{2}-\d{2}')
_CURRENCY = re.compile(r'[A-Z]{3}')
_KEY = re.compile(r'[A-Z][A-Z0-9_]*')
_LEVEL_CHANNELS = tuple(channel for channel in CHANNELS if channel != HANDOVER_CHANNEL)


def _kind(value: Any) -> str:
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'boolean'
    if isinstance(value, (int, Decimal)):
        return f'number {value}'
    if isinstance(value, str):
        return f'string {value!r}'
    return 'array' if isinstance(value, list) else 'object'


def _object(value: Any, path: str, required: Sequence[str] = (),
            optional: Sequence[str] | None = ()) -> dict:
    """Check an object's keys; ``optional=None`` allows any key."""
    if not isinstance(value, dict):
        raise RuleError(path, f'must be an object, not {_kind(value)}')
    if optional is not None:
        for key in value:
            if key not in required and key not in optional:
                raise RuleError(f'{path}.{key}', 'unknown field')
    for key in required:
        if key not in value:
            raise RuleError(f'{path}.{key}', 'missing')
    return value


def _list(value: Any, path: str) -> list:
    if not isinstance(value, list):
        raise RuleError(path, f'must be an array, not {_kind(value)}')
    if not value:
        raise RuleError(path, 'must not be empty')
    return value


def _text(value: Any, path: str, choices: Sequence[str] | None = None) -> str:
    if not isinstance(value, str) or not value:
        raise RuleError(path, f'must be a non-empty string, not {_kind(value)}')
    if choices is not None and value not in choices:
        raise RuleError(path, f'unknown value {value!r}; expected one of {", ".join(choices)}')
    return value


def _flag(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise RuleError(path, f'must be true or false, not {_kind(value)}')
    return value


def _integer(value: Any, path: str, nullable: bool = False) -> int | None:
    if value is None and nullable:
        return None
    if not _is_int(value):
        raise RuleError(path, f'must be an integer, not {_kind(value)}')
    if value < 0:
        raise RuleError(path, f'must not be negative ({value})')
    return value


def _amount(value: Any, path: str, nullable: bool = False, signed: bool = False):
    if value is None and nullable:
        return None
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value):
        raise RuleError(path, f'must be a decimal string like "1.27", not {_kind(value)}')
    amount = Decimal(value)
    if amount < 0 and not signed:
        raise RuleError(path, f'must not be negative ({value})')
    return amount


def _day(value: Any, path: str) -> date:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise RuleError(path, f'must be an ISO date YYYY-MM-DD, not {_kind(value)}')
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RuleError(path, f'{value!r} is not a valid date') from None


def _optional(raw: dict, key: str, parse, path: str, *args, **kwargs):
    if key not in raw:
        return None
    return parse(raw[key], f'{path}.{key}', *args, **kwargs)


def _unique_keys(pairs: list) -> dict:
    result = {}
    for key, value in pairs:
        if key in result:
            raise RuleError('document', f'duplicate key {key!r}')
        result[key] = value
    return result


def _no_constant(name: str):
    raise RuleError('document', f'{name} is not allowed')


def _reference_rates(raw: Any) -> dict:
    rates = {}
    for key, entries in _object(raw, 'reference_rates', optional=None).items():
        path = f'reference_rates.{key}'
        if not _KEY.fullmatch(key):
            raise RuleError(path, 'a reference key is upper case, like DE_BASE_RATE')
        periods = []
        for index, entry in enumerate(_list(entries, path)):
            where = f'{path}[{index}]'
            _object(entry, where, ('valid_from', 'rate', 'verified'), ('source',))
            period = RatePeriod(
                _day(entry['valid_from'], f'{where}.valid_from'),
                _amount(entry['rate'], f'{where}.rate', nullable=True, signed=True),
                _flag(entry['verified'], f'{where}.verified'),
                _optional(entry, 'source', _text, where))
            if periods and period.valid_from <= periods[-1].valid_from:
                raise RuleError(
                    f'{where}.valid_from', f'{period.valid_from.isoformat()} is not after '
                    f'{periods[-1].valid_from.isoformat()}')
            periods.append(period)
        rates[key] = ReferenceRate(key, tuple(periods))
    return rates


def _interest_rule(raw: Any, path: str, rates: dict) -> InterestRule:
    _object(raw, path, ('reference', 'margin', 'day_count', 'from'),
            ('no_due_date_agreed', 'b2c_review_required'))
    reference = _text(raw['reference'], f'{path}.reference')
    if reference not in rates:
        raise RuleError(f'{path}.reference', f'unknown reference rate {reference!r}')
    margin = _object(raw['margin'], f'{path}.margin', ('b2c', 'b2b'))
    return InterestRule(
        reference, rates[reference],
        _amount(margin['b2c'], f'{path}.margin.b2c'),
        _amount(margin['b2b'], f'{path}.margin.b2b'),
        _text(raw['day_count'], f'{path}.day_count', DAY_COUNTS),
        _text(raw['from'], f'{path}.from', ('due_date', 'default_date')),
        _optional(raw, 'no_due_date_agreed', _text, path, ('invoice_sent_plus_30',)),
        _optional(raw, 'b2c_review_required', _flag, path))


def _fee_rule(raw: Any, path: str) -> FeeRule:
    _object(raw, path, ('per_reminder_max', 'max_fee_reminders', 'min_spacing_days'), (
        'rule', 'warn_above', 'first_default_causing_reminder_free',
        'requires_prior_agreement', 'earliest_fee_days_overdue', 'verified'))
    return FeeRule(
        _amount(raw['per_reminder_max'], f'{path}.per_reminder_max', nullable=True),
        _integer(raw['max_fee_reminders'], f'{path}.max_fee_reminders', nullable=True),
        _integer(raw['min_spacing_days'], f'{path}.min_spacing_days'),
        _optional(raw, 'rule', _text, path, ('actual_material_cost',)),
        _optional(raw, 'warn_above', _amount, path),
        _optional(raw, 'first_default_causing_reminder_free', _flag, path),
        _optional(raw, 'requires_prior_agreement', _flag, path),
        _optional(raw, 'earliest_fee_days_overdue', _integer, path),
        _optional(raw, 'verified', _flag, path))


def _compensation(raw: Any, path: str) -> Compensation:
    _object(raw, path, ('per',), (
        'amount', 'amounts', 'cumulative_with_reminder_fees', 'offsets_collection_costs',
        'replaces_fees_up_to_amount'))
    if ('amount' in raw) == ('amounts' in raw):
        raise RuleError(f'{path}.amount', 'give either amount or amounts')
    amounts = []
    for index, entry in enumerate(_list(raw['amounts'], f'{path}.amounts')
                                  if 'amounts' in raw else []):
        where = f'{path}.amounts[{index}]'
        _object(entry, where, ('valid_from', 'amount', 'verified'))
        dated = DatedAmount(
            _day(entry['valid_from'], f'{where}.valid_from'),
            _amount(entry['amount'], f'{where}.amount', nullable=True),
            _flag(entry['verified'], f'{where}.verified'))
        if amounts and dated.valid_from <= amounts[-1].valid_from:
            raise RuleError(f'{where}.valid_from', f'{dated.valid_from.isoformat()} is not '
                            f'after {amounts[-1].valid_from.isoformat()}')
        amounts.append(dated)
    # offsets_collection_costs is a bool, or {value: bool, verified: bool} (NO)
    where = f'{path}.offsets_collection_costs'
    offsets = offsets_verified = None
    if isinstance(raw.get('offsets_collection_costs'), dict):
        flagged = _object(raw['offsets_collection_costs'], where, ('value', 'verified'))
        offsets = _flag(flagged['value'], f'{where}.value')
        offsets_verified = _flag(flagged['verified'], f'{where}.verified')
    elif 'offsets_collection_costs' in raw:
        offsets = _flag(raw['offsets_collection_costs'], where)
    return Compensation(
        _text(raw['per'], f'{path}.per', ('invoice',)),
        _optional(raw, 'amount', _amount, path),
        tuple(amounts),
        _optional(raw, 'cumulative_with_reminder_fees', _flag, path),
        offsets, offsets_verified,
        _optional(raw, 'replaces_fees_up_to_amount', _flag, path))


def _levels(raw: Any, path: str) -> list[LevelRule]:
    levels = []
    for index, entry in enumerate(_list(raw, path)):
        name = entry.get('name') if isinstance(entry, dict) else None
        where = f'{path}.{name}' if isinstance(name, str) and name else f'{path}[{index}]'
        _object(entry, where, ('seq', 'name', 'days_overdue', 'max_window', 'channel', 'fee'),
                ('notice', 'sets_default'))
        if not _is_int(entry['seq']):
            raise RuleError(f'{where}.seq', f'must be an integer, not {_kind(entry["seq"])}')
        for key in ('days_overdue', 'max_window'):
            if not _is_int(entry[key]):
                raise RuleError(f'{where}.{key}', f'must be an integer, not {_kind(entry[key])}')
        levels.append(LevelRule(
            entry['seq'], _text(name, f'{where}.name'),
            entry['days_overdue'], entry['max_window'],
            _amount(entry['fee'], f'{where}.fee', signed=True),
            (_text(entry['channel'], f'{where}.channel', _LEVEL_CHANNELS),),
            notice=bool(_optional(entry, 'notice', _flag, where)),
            sets_default=bool(_optional(entry, 'sets_default', _flag, where))))
    return levels


def _names(raw: Any, path: str, choices: Sequence[str]) -> tuple[str, ...]:
    names = tuple(
        _text(item, f'{path}[{index}]', choices) for index, item in enumerate(_list(raw, path)))
    if len(set(names)) != len(names):
        raise RuleError(path, f'lists an item twice: {", ".join(names)}')
    return names


def _preset(code: str, raw: Any, rates: dict) -> Preset:
    path = f'presets.{code}'
    _object(raw, path, (
        'currency', 'interest', 'fees', 'b2b_compensation', 'notice_before_handover',
        'levels', 'handover', 'clearing_order', 'sources'), (
        'handover_fee', 'b2b_fee_per_reminder', 'payment_term_cap_days', 'invoice_order'))
    currency = _text(raw['currency'], f'{path}.currency')
    if not _CURRENCY.fullmatch(currency):
        raise RuleError(f'{path}.currency', f'{currency!r} is not an ISO 4217 code')
    fees = _fee_rule(raw['fees'], f'{path}.fees')
    where = f'{path}.notice_before_handover'
    notice_raw = _object(raw['notice_before_handover'], where, ('name', 'min_days'),
                         ('may_combine_with_level', 'statutory'))
    notice = NoticeRule(
        _text(notice_raw['name'], f'{where}.name'),
        _integer(notice_raw['min_days'], f'{where}.min_days'),
        _optional(notice_raw, 'statutory', _flag, where),
        _optional(notice_raw, 'may_combine_with_level', _integer, where))
    where = f'{path}.handover'
    handover_raw = _object(raw['handover'], where, ('days_overdue', 'max_window'))
    handover = HandoverRule(
        _integer(handover_raw['days_overdue'], f'{where}.days_overdue'),
        _integer(handover_raw['max_window'], f'{where}.max_window'))
    levels = _levels(raw['levels'], f'{path}.levels')
    levels.append(LevelRule(
        max(level.sequence for level in levels) + 1,
        'handover', handover.days_overdue, handover.max_window, ZERO,
        (HANDOVER_CHANNEL,), handover=True))
    try:
        levels = validate_levels(levels)
    except RuleError as error:
        raise RuleError(f'{path}.{error.field}', error.message) from None
    _check_preset_levels(path, levels, fees, notice)
    where = f'{path}.handover_fee'
    handover_fee = None
    if 'handover_fee' in raw:
        fee_raw = _object(raw['handover_fee'], where, ('amount', 'verified'))
        handover_fee = HandoverFee(
            _amount(fee_raw['amount'], f'{where}.amount'),
            _flag(fee_raw['verified'], f'{where}.verified'))
    where = f'{path}.payment_term_cap_days'
    term_caps = None
    if 'payment_term_cap_days' in raw:
        caps_raw = _object(raw['payment_term_cap_days'], where, (), ('b2b', 'public_authority'))
        term_caps = TermCaps(
            _optional(caps_raw, 'b2b', _integer, where),
            _optional(caps_raw, 'public_authority', _integer, where))
    invoice_order = INVOICE_ORDER
    if 'invoice_order' in raw:
        invoice_order = _names(raw['invoice_order'], f'{path}.invoice_order', INVOICE_ORDER_KEYS)
    clearing_order = _names(raw['clearing_order'], f'{path}.clearing_order', CLEARING_ORDER)
    if len(clearing_order) != len(CLEARING_ORDER):
        raise RuleError(
            f'{path}.clearing_order', f'must order all of {", ".join(CLEARING_ORDER)}')
    sources = tuple(
        _text(source, f'{path}.sources[{index}]')
        for index, source in enumerate(_list(raw['sources'], f'{path}.sources')))
    return Preset(
        code, currency,
        _interest_rule(raw['interest'], f'{path}.interest', rates),
        fees,
        _compensation(raw['b2b_compensation'], f'{path}.b2b_compensation'),
        notice, levels, handover, clearing_order, invoice_order, sources, handover_fee,
        _optional(raw, 'b2b_fee_per_reminder', _amount, path),
        term_caps)


def _check_preset_levels(path: str, levels: tuple, fees: FeeRule, notice: NoticeRule):
    for level in levels:
        where = f'{path}.levels.{level.name}'
        if fees.per_reminder_max is not None and level.fee > fees.per_reminder_max:
            raise RuleError(
                f'{where}.fee', f'{_label(level)}: fee {level.fee} is above '
                f'fees.per_reminder_max {fees.per_reminder_max}')
        if (level.fee > 0 and fees.earliest_fee_days_overdue is not None
                and level.days_overdue < fees.earliest_fee_days_overdue):
            raise RuleError(
                f'{where}.fee', f'{_label(level)}: a fee is allowed from '
                f'{fees.earliest_fee_days_overdue} days overdue, the level starts at '
                f'{level.days_overdue}')
        if level.sets_default and fees.first_default_causing_reminder_free and level.fee:
            raise RuleError(
                f'{where}.fee', f'{_label(level)}: the reminder that causes default carries '
                'no fee')
    if not any(level.notice for level in levels):
        raise RuleError(f'{path}.levels', 'no level is marked notice (notice: true)')
    combine = notice.may_combine_with_level
    if combine is not None and combine not in {
            level.sequence for level in levels if not level.handover}:
        raise RuleError(
            f'{path}.notice_before_handover.may_combine_with_level', f'no level {combine}')


def load_presets(text: str) -> Presets:
    """Parse and strictly validate a presets JSON document; raise RuleError naming the field."""
    if not isinstance(text, str):
        raise RuleError('document', f'must be a str, not {type(text).__name__}')
    try:
        data = json.loads(
            text, parse_float=Decimal, parse_constant=_no_constant,
            object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as error:
        raise RuleError('document', f'not valid JSON: {error}') from None
    if not isinstance(data, dict):
        raise RuleError('document', f'must be an object, not {_kind(data)}')
    for key in data:
        if key not in ('reference_rates', 'presets', '_comments'):
            raise RuleError(key, 'unknown field')
    for key in ('reference_rates', 'presets'):
        if key not in data:
            raise RuleError(key, 'missing')
    for key, comment in _object(data.get('_comments', {}), '_comments', optional=None).items():
        _text(comment, f'_comments.{key}')
    rates = _reference_rates(data['reference_rates'])
    presets = {}
    for code, raw in _object(data['presets'], 'presets', optional=None).items():
        if not code:
            raise RuleError('presets', 'a preset code must not be empty')
        presets[code] = _preset(code, raw, rates)
    return Presets(MappingProxyType(rates), MappingProxyType(presets))


def default_presets() -> Presets:
    """The presets packaged with the module (``presets.json``)."""
    return load_presets(PRESETS_PATH.read_text(encoding='utf-8'))
