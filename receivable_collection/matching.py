"""Classify incoming payments against expected collections and open items (plain Python).

``match_payments(incoming, expected, tolerance)`` returns one ``Match`` per incoming
payment, in input order, each with a ``kind`` and a human ``reason``:

``exact``
    The end-to-end id or a reference identifies one expected item, the customer number
    agrees (an incoming payment without customer number does not contradict) and the
    amount is what is still due.
``difference``
    Identified and same customer, but the amount differs from what is due:
    ``difference`` is ``incoming - due`` (negative = underpaid) and ``within_tolerance``
    says whether ``Tolerance`` accepts it.
``duplicate``
    The identified item was already paid: by an earlier file (``Expected.already_paid``)
    or by an earlier incoming payment of this batch. ``difference`` is the whole
    amount, to be refunded or credited.
``wrong_customer``
    A reference or end-to-end id identifies an item of another customer than the
    incoming customer number: ``expected`` is that item, ``suggestions`` the open items
    of the paying customer.
``unmatched``
    Nothing identifies an item (or the currency differs); ``suggestions`` lists the best
    candidates.

Rules, applied in this order for each incoming payment:

1. Identification: by ``end_to_end_id`` (exact), else by reference: the whole
   reference and each of its words (split on spaces and ``,;:``, surrounding
   punctuation dropped, compared without spaces in capitals, digit-only words also
   without leading zeros) against every ``Expected.references`` entry. Several items
   found: prefer the same customer number, then an open item over a paid one, then the
   amount due equal to the payment, then the smallest key (``str``).
2. The identified item's customer number differs from a given incoming one:
   ``wrong_customer`` (checked before ``duplicate``: money from someone else says
   nothing about the item being paid twice).
3. Currencies differ: ``unmatched``.
4. The item is already paid, or earlier payments of this batch have paid it (total
   paid reaches the amount due less the tolerance): ``duplicate``.
5. The amount equals what is still due (``open_amount``, or ``amount`` when open
   amount is None, less what earlier payments of this batch paid): ``exact``; else
   ``difference``.

Earlier means: incoming payments are taken by date (undated last), then ``line``, then
input position; so the first payment of an item wins and later ones are duplicates.
Indexes are dicts, so a batch of 100,000 payments against 100,000 items takes seconds;
candidate lists for suggestions are capped (``CANDIDATE_CAP`` per index bucket).

Suggestions score: same customer number +4, amount equal to the amount due +3 (within
tolerance +2), a reference word found in the item's references +2, name similarity
(shared words / all words) at least 0.8 +2 or at least 0.5 +1. Ties: higher name
similarity, then smaller key. Paid items are never suggested.
"""
from __future__ import annotations

import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

EXACT = 'exact'
DIFFERENCE = 'difference'
DUPLICATE = 'duplicate'
WRONG_CUSTOMER = 'wrong_customer'
UNMATCHED = 'unmatched'
KINDS = (EXACT, DIFFERENCE, DUPLICATE, WRONG_CUSTOMER, UNMATCHED)

CANDIDATE_CAP = 50
ZERO = Decimal('0')
_SPLIT = re.compile(r'[\s,;:]+')
_STRIP = '.()[]{}#"\'<>+'
_NAME_WORD = re.compile(r'\w+')


@dataclass(frozen=True)
class Incoming:
    """One incoming payment to classify (a camt.054 transaction, a statement line ...)."""

    key: Hashable
    amount: Decimal
    currency: str
    date: date | None = None
    reference: str | None = None
    end_to_end_id: str | None = None
    customer_number: str | None = None
    debtor_name: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Expected:
    """One expected collection or open item that a payment may settle."""

    key: Hashable
    amount: Decimal
    currency: str
    customer_number: str | None = None
    party_name: str | None = None
    references: tuple[str, ...] = ()
    end_to_end_id: str | None = None
    already_paid: bool = False
    open_amount: Decimal | None = None

    @property
    def due(self) -> Decimal:
        """What is still to be paid: the open amount when given, else the amount."""
        return self.amount if self.open_amount is None else self.open_amount


@dataclass(frozen=True)
class Tolerance:
    """Accepted payment difference: up to ``absolute`` or ``percent`` of the amount due,
    whichever is larger (both zero: only exact amounts are accepted)."""

    absolute: Decimal = ZERO
    percent: Decimal = ZERO

    def limit(self, due: Decimal) -> Decimal:
        """The largest accepted difference for an amount due."""
        return max(self.absolute, abs(due) * self.percent / 100)

    def allows(self, difference: Decimal, due: Decimal) -> bool:
        """True when ``difference`` (either sign) is within the tolerance for ``due``."""
        return abs(difference) <= self.limit(due)


@dataclass(frozen=True)
class Suggestion:
    """A candidate item for a payment that could not be settled automatically."""

    expected: Expected
    score: int
    reason: str


@dataclass(frozen=True)
class Match:
    """The classification of one incoming payment."""

    incoming: Incoming
    kind: str
    expected: Expected | None = None
    difference: Decimal = ZERO
    suggestions: tuple[Suggestion, ...] = ()
    reason: str = ''
    within_tolerance: bool | None = None
    settled_by: Hashable | None = None


def _words(reference: str | None) -> list[str]:
    """The lookup keys of a reference: the whole text and its words, normalised."""
    if not reference:
        return []
    keys = []
    whole = ''.join(reference.split()).upper()
    if whole:
        keys.append(whole)
    for word in _SPLIT.split(reference):
        word = word.strip(_STRIP).upper()
        if word and word not in keys:
            keys.append(word)
    for key in list(keys):
        if key.isdigit():
            stripped = key.lstrip('0') or '0'
            if stripped not in keys:
                keys.append(stripped)
    return keys


def _reference_keys(reference: str) -> list[str]:
    """The keys an expected reference is indexed under."""
    key = ''.join(reference.split()).upper()
    if not key:
        return []
    keys = [key]
    if key.isdigit():
        stripped = key.lstrip('0') or '0'
        if stripped != key:
            keys.append(stripped)
    return keys


def _name_words(name: str | None) -> frozenset[str]:
    if not name:
        return frozenset()
    return frozenset(w for w in _NAME_WORD.findall(name.casefold()) if len(w) > 1)


def _similarity(wa: frozenset[str], wb: frozenset[str]) -> Decimal:
    if not wa or not wb:
        return ZERO
    return (Decimal(len(wa & wb)) / Decimal(len(wa | wb))).quantize(Decimal('0.01'))


def name_similarity(a: str | None, b: str | None) -> Decimal:
    """Shared words over all words of two names (0 to 1, two decimals)."""
    return _similarity(_name_words(a), _name_words(b))


def _sort_key(expected: Expected):
    return str(expected.key)


class _Index:
    """Dict indexes over the expected items."""

    def __init__(self, expected: Iterable[Expected]):
        self.items = list(expected)
        self.by_e2e: dict[str, list[Expected]] = {}
        self.by_reference: dict[str, list[Expected]] = {}
        self.by_customer: dict[str, list[Expected]] = {}
        self.by_amount: dict[tuple[str, Decimal], list[Expected]] = {}
        self.by_name: dict[str, list[Expected]] = {}
        self.words: dict[Hashable, frozenset[str]] = {}
        self.names: dict[Hashable, frozenset[str]] = {}
        for item in self.items:
            if item.end_to_end_id:
                self.by_e2e.setdefault(item.end_to_end_id, []).append(item)
            words = set()
            for reference in item.references:
                for key in _reference_keys(reference):
                    words.add(key)
            for key in words:
                self.by_reference.setdefault(key, []).append(item)
            self.words[item.key] = frozenset(words)
            if item.customer_number:
                self.by_customer.setdefault(item.customer_number, []).append(item)
            self.by_amount.setdefault((item.currency, item.due.normalize()), []).append(item)
            self.names[item.key] = names = _name_words(item.party_name)
            for word in names:
                if len(word) > 2:
                    self.by_name.setdefault(word, []).append(item)


class _Batch:
    """What this batch has paid on each item so far, and by whom."""

    def __init__(self):
        self.paid: dict[Hashable, Decimal] = {}
        self.first: dict[Hashable, Incoming] = {}

    def pay(self, item: Expected, incoming: Incoming):
        self.paid[item.key] = self.paid.get(item.key, ZERO) + incoming.amount
        self.first.setdefault(item.key, incoming)


def _is_paid(item: Expected, batch: _Batch, tolerance: Tolerance) -> bool:
    if item.already_paid:
        return True
    paid = batch.paid.get(item.key)
    return paid is not None and paid >= item.due - tolerance.limit(item.due)


def _identify(incoming: Incoming, index: _Index, batch: _Batch, tolerance: Tolerance):
    """The identified item and how it was identified, or ``(None, '')``."""
    found, how = [], ''
    if incoming.end_to_end_id and incoming.end_to_end_id in index.by_e2e:
        found = index.by_e2e[incoming.end_to_end_id]
        how = f'end-to-end id {incoming.end_to_end_id}'
    else:
        for word in _words(incoming.reference):
            hits = index.by_reference.get(word)
            if hits:
                found, how = hits, f'reference {word}'
                break
    if not found:
        return None, ''

    def preference(item: Expected):
        return (
            not (incoming.customer_number and item.customer_number == incoming.customer_number),
            _is_paid(item, batch, tolerance),
            item.due != incoming.amount,
            _sort_key(item))
    return min(found, key=preference), how


def _money(amount: Decimal, currency: str) -> str:
    return f'{amount:.2f} {currency}' if amount == amount.quantize(Decimal('0.01')) \
        else f'{amount} {currency}'


def _suggest(
        incoming: Incoming, index: _Index, batch: _Batch, tolerance: Tolerance,
        limit: int, exclude: Hashable | None = None) -> tuple[Suggestion, ...]:
    """Rank candidate open items for a payment (see the module docstring)."""
    candidates: dict[Hashable, Expected] = {}

    def add(items):
        for item in (items or ())[:CANDIDATE_CAP]:
            candidates.setdefault(item.key, item)
    if incoming.customer_number:
        add(index.by_customer.get(incoming.customer_number))
    add(index.by_amount.get((incoming.currency, incoming.amount.normalize())))
    words = _words(incoming.reference)
    for word in words:
        add(index.by_reference.get(word))
    debtor_words = _name_words(incoming.debtor_name)
    for word in debtor_words:
        bucket = index.by_name.get(word)
        if bucket and len(bucket) <= CANDIDATE_CAP:
            add(bucket)
    word_set = frozenset(words)
    customer, amount, currency = incoming.customer_number, incoming.amount, incoming.currency
    ranked = []
    for item in candidates.values():
        key = item.key
        if key == exclude or item.currency != currency or _is_paid(item, batch, tolerance):
            continue
        due = item.due - batch.paid.get(key, ZERO)
        same_customer = bool(customer) and item.customer_number == customer
        if due == amount:
            amount_score = 3
        elif tolerance.allows(amount - due, due):
            amount_score = 2
        else:
            amount_score = 0
        reference_found = bool(word_set) and not word_set.isdisjoint(index.words[key])
        names = index.names[key]
        shared = len(debtor_words & names) if debtor_words and names else 0
        union = len(debtor_words | names) if shared else 1
        score = 4 * same_customer + amount_score + 2 * reference_found
        if 5 * shared >= 4 * union:
            score += 2
        elif 2 * shared >= union:
            score += 1
        if score:
            ranked.append((
                -score, -(shared * 10000 // union), _sort_key(item), item,
                same_customer, amount_score, reference_found, shared, union))
    ranked.sort(key=lambda r: r[:3])
    suggestions = []
    for neg, _, _, item, same_customer, amount_score, found, shared, union in ranked[:limit]:
        why = []
        if same_customer:
            why.append('same customer number')
        if amount_score:
            why.append('same amount' if amount_score == 3 else 'amount within tolerance')
        if found:
            why.append('reference found')
        if shared:
            why.append(f'name {shared * 100 // union}% similar')
        suggestions.append(Suggestion(item, -neg, ', '.join(why)))
    return tuple(suggestions)


def match_payments(
        incoming: Iterable[Incoming], expected: Iterable[Expected],
        tolerance: Tolerance = Tolerance(), max_suggestions: int = 5) -> list[Match]:
    """Classify each incoming payment; the result is in the order of ``incoming``."""
    payments = list(incoming)
    index = _Index(expected)
    batch = _Batch()
    order = sorted(
        range(len(payments)),
        key=lambda i: (
            payments[i].date is None, payments[i].date or date.min, payments[i].line, i))
    results: list[Match | None] = [None] * len(payments)
    for i in order:
        results[i] = _classify(payments[i], index, batch, tolerance, max_suggestions)
    return results


def _classify(
        payment: Incoming, index: _Index, batch: _Batch, tolerance: Tolerance,
        limit: int) -> Match:
    item, how = _identify(payment, index, batch, tolerance)
    if item is None:
        suggestions = _suggest(payment, index, batch, tolerance, limit)
        reason = 'no end-to-end id or reference identifies an open item'
        if suggestions:
            reason += f'; best candidate {suggestions[0].expected.key} ({suggestions[0].reason})'
        return Match(payment, UNMATCHED, None, ZERO, suggestions, reason)
    if payment.customer_number and item.customer_number \
            and item.customer_number != payment.customer_number:
        suggestions = _suggest(payment, index, batch, tolerance, limit, exclude=item.key)
        reason = (
            f'{how} identifies {item.key} of customer {item.customer_number}, '
            f'but the payment is from customer {payment.customer_number}')
        return Match(
            payment, WRONG_CUSTOMER, item, payment.amount - item.due, suggestions, reason)
    if item.currency != payment.currency:
        suggestions = _suggest(payment, index, batch, tolerance, limit)
        reason = (
            f'{how} identifies {item.key}, but it is due in {item.currency}, '
            f'not {payment.currency}')
        return Match(payment, UNMATCHED, None, ZERO, suggestions, reason)
    if _is_paid(item, batch, tolerance):
        if item.already_paid:
            by = 'by an earlier file'
        else:
            first = batch.first[item.key]
            by = f'by payment {first.key} (line {first.line}) in this batch'
        suggestions = _suggest(payment, index, batch, tolerance, limit, exclude=item.key)
        reason = (
            f'{how} identifies {item.key}, already paid {by}: '
            f'propose a refund or credit of {_money(payment.amount, payment.currency)}')
        return Match(
            payment, DUPLICATE, item, payment.amount, suggestions, reason,
            settled_by=None if item.already_paid else batch.first[item.key].key)
    earlier = batch.paid.get(item.key, ZERO)
    due = item.due - earlier
    difference = payment.amount - due
    batch.pay(item, payment)
    after = f' after {_money(earlier, item.currency)} paid in this batch' if earlier else ''
    if payment.customer_number:
        customer = f'customer number {payment.customer_number} agrees'
    else:
        customer = 'no customer number on the payment'
    if difference == 0:
        return Match(
            payment, EXACT, item, ZERO, (),
            f'{how} identifies {item.key}; {customer}; amount '
            f'{_money(due, item.currency)} agrees{after}')
    within = tolerance.allows(difference, due)
    word = 'overpaid' if difference > 0 else 'underpaid'
    limit_text = _money(tolerance.limit(due), item.currency)
    reason = (
        f'{how} identifies {item.key}; {word} by {_money(abs(difference), item.currency)} '
        f'of {_money(due, item.currency)} due{after}, '
        f'{"within" if within else "outside"} the tolerance of {limit_text}')
    return Match(payment, DIFFERENCE, item, difference, (), reason, within)


def incoming_from_camt054(document, booked_only: bool = True) -> list[Incoming]:
    """The incoming payments of a parsed camt.054: credit transactions (or credit entries
    without details) that are not reversals or returns; ``booked_only`` keeps BOOK only.

    Keys are ``'<MsgId>:<line>'``; the date is the value date, else the booking date.
    """
    result = []
    for notification in document.notifications:
        for entry in notification.entries:
            if booked_only and entry.status != 'BOOK':
                continue
            if entry.reversal:
                continue
            day = entry.value_date or entry.booking_date
            if not entry.transactions:
                if entry.credit_debit == 'CRDT':
                    result.append(Incoming(
                        f'{document.message_id}:{entry.line}', entry.amount, entry.currency,
                        day, entry.entry_reference, line=entry.line))
                continue
            for tx in entry.transactions:
                if tx.credit_debit != 'CRDT' or tx.returned:
                    continue
                e2e = tx.end_to_end_id if tx.end_to_end_id != 'NOTPROVIDED' else None
                result.append(Incoming(
                    f'{document.message_id}:{tx.line}', tx.amount, tx.currency, day,
                    tx.reference, e2e, None, tx.debtor_name, tx.line))
    return result
