"""Read whole 0602 (payment information) and 0603 (mandate) deliveries into plain results.

The whole file is parsed and checked before anything is returned, so a caller can apply
all events in one transaction or none. Totals in replies are never used for posting
(conflict C6); irregular totals end up in ``warnings``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .codec import parse_with_lines
from .errors import FormatWarning
from .options import DEFAULT_OPTIONS, Options
from .records import (
    DeliveryEnd,
    DeliveryStart,
    MandateEvent,
    PaymentEvent,
    ReplySectionEnd,
    ReplySectionStart,
    SlipAddress,
    SlipPayment,
    SlipText,
)

COMPLETED = 'completed'
REJECTED = 'rejected'
CANCELLED = 'cancelled'
REVERSED = 'reversed'
ACTIVE = 'active'
REGISTERED = 'registered'

CARD_AGREEMENT = '999999999'

# transaction code -> (status, human meaning) per spec sections 3.1 and 3.2
TRANSACTION_MEANINGS = {
    '0236': (COMPLETED, 'completed: collected (or paid out) on the payment date'),
    '0237': (REJECTED, 'rejected by debtor'),
    '0238': (CANCELLED, 'mandate cancelled: the mandate ended before the payment date'),
    '0239': (REVERSED, "charged back by the debtor's bank after completion"),
    '0297': (COMPLETED, 'paid by FI card / Elektronisk indbetalingskort'),
    '0299': (REVERSED, 'FI-card payment charged back'),
    '0230': (ACTIVE, 'mandate active'),
    '0231': (REGISTERED, 'mandate registered'),
    '0232': (CANCELLED, "mandate cancelled by the debtor's bank"),
    '0233': (CANCELLED, 'mandate cancelled by the creditor'),
    '0234': (CANCELLED, 'mandate cancelled by Betalingsservice'),
}


def normalise_customer_number(value: str) -> str:
    """Return a customer number without blanks and leading zeros, for matching."""
    return value.strip(' ').lstrip('0')


@dataclass(frozen=True)
class ReplySection:
    """One section of a 0602/0603 reply."""

    line: int
    section: str
    pbs_number: str
    debtor_group: int
    creditor_id: str
    created: date | None


@dataclass(frozen=True)
class Payment:
    """One 0602 event: a payment completed, rejected, cancelled or reversed."""

    line: int
    section: str
    pbs_number: str
    debtor_group: int
    customer_number: str          # normalised (no blanks, no leading zeros)
    raw_customer_number: str
    mandate_number: str           # '' for payment slips
    transaction_code: str
    status: str
    meaning: str
    payment_date: date | None     # the date sent in 0601 / printed on the slip
    sign_code: int
    amount: Decimal               # amount as sent / on the slip, without sign
    paid_amount: Decimal          # amount actually paid or charged back, without sign
    actual_date: date | None
    value_date: date | None
    reference: str
    slip_type: str = ''
    fee: Decimal = Decimal('0.00')
    archive_reference: str = ''
    address_lines: tuple[str, ...] = ()
    free_text: tuple[str, ...] = ()

    @property
    def signed_amount(self) -> Decimal:
        """Amount with the direction: negative for a payout (sign code 2)."""
        return -self.amount if self.sign_code == 2 else self.amount

    @property
    def signed_paid_amount(self) -> Decimal:
        """Paid amount with the direction: negative for a payout (sign code 2)."""
        return -self.paid_amount if self.sign_code == 2 else self.paid_amount

    @property
    def key(self) -> tuple:
        """Idempotency key of the event (slips add the archive reference)."""
        key = (self.pbs_number, self.debtor_group, self.customer_number, self.mandate_number,
               self.payment_date, self.transaction_code)
        if self.section == '0215':
            key += (self.archive_reference,)
        return key


@dataclass(frozen=True)
class MandateChange:
    """One 0603 event: a mandate active, registered or cancelled."""

    line: int
    section: str
    pbs_number: str
    debtor_group: int
    customer_number: str          # normalised
    raw_customer_number: str
    mandate_number: str
    transaction_code: str
    status: str
    meaning: str
    start_date: date | None
    end_date: date | None

    @property
    def is_card_agreement(self) -> bool:
        """True for an Elektronisk indbetalingskort agreement (999999999), not a mandate."""
        return self.mandate_number == CARD_AGREEMENT

    @property
    def key(self) -> tuple:
        """Idempotency key of the event."""
        return (self.pbs_number, self.debtor_group, self.customer_number, self.mandate_number,
                self.start_date, self.transaction_code)


@dataclass(frozen=True)
class _Delivery:
    data_supplier: str
    subsystem: str
    delivery_type: str
    delivery_id: int
    created: date | None
    sections: tuple[ReplySection, ...]
    warnings: tuple[FormatWarning, ...]

    @property
    def key(self) -> tuple:
        """Idempotency key: data supplier, delivery type, Nets serial, creation date."""
        return (self.data_supplier, self.delivery_type, self.delivery_id, self.created)


@dataclass(frozen=True)
class PaymentInformation(_Delivery):
    """A parsed 0602 delivery."""

    payments: tuple[Payment, ...] = ()


@dataclass(frozen=True)
class MandateInformation(_Delivery):
    """A parsed 0603 delivery."""

    mandates: tuple[MandateChange, ...] = ()


def _read(data, delivery_type, options):
    warnings: list = []
    records = list(parse_with_lines(data, options=options, delivery_type=delivery_type,
                                    warnings=warnings))
    start = records[0][1]
    assert isinstance(start, DeliveryStart)
    return start, records, warnings


def parse_0602(data, *, options: Options = DEFAULT_OPTIONS) -> PaymentInformation:
    """Parse a whole 0602 payment-information delivery; raise ``FormatError`` if invalid."""
    start, records, warnings = _read(data, '0602', options)
    sections = []
    events = []
    slip_lines: dict = {}
    section = None
    for line, rec in records:
        cls = type(rec)
        if cls is ReplySectionStart:
            section = rec
            sections.append(ReplySection(line, rec.section, rec.pbs_number, rec.debtor_group,
                                         rec.creditor_id, rec.created))
        elif cls in (PaymentEvent, SlipPayment):
            events.append((line, section, rec))
        elif cls in (SlipAddress, SlipText):
            key = (rec.pbs_number, rec.debtor_group, rec.customer_number,
                   rec.archive_reference, cls)
            slip_lines.setdefault(key, []).append((line, rec))
    payments = []
    meanings = TRANSACTION_MEANINGS
    for line, sec, rec in events:
        status, meaning = meanings[rec.transaction_code]
        customer = rec.customer_number
        if type(rec) is PaymentEvent:
            payments.append(Payment(
                line, sec.section, rec.pbs_number, rec.debtor_group,
                customer.strip(' ').lstrip('0'), customer, rec.mandate_number,
                rec.transaction_code, status, meaning, rec.payment_date, rec.sign_code,
                rec.amount, rec.paid_amount, rec.actual_date, rec.value_date, rec.reference))
            continue
        base = (rec.pbs_number, rec.debtor_group, customer, rec.archive_reference)
        address = sorted(slip_lines.pop(base + (SlipAddress,), []),
                         key=lambda x: x[1].record_number)
        text = sorted(slip_lines.pop(base + (SlipText,), []), key=lambda x: x[1].record_number)
        payments.append(Payment(
            line, sec.section, rec.pbs_number, rec.debtor_group,
            normalise_customer_number(customer), customer, '', rec.transaction_code, status,
            meaning, rec.slip_date, rec.sign_code, rec.amount, rec.paid_amount,
            rec.actual_date, rec.value_date, rec.reference, rec.slip_type, rec.fee,
            rec.archive_reference, tuple(r.text for _, r in address),
            tuple(r.text for _, r in text)))
    for lines in slip_lines.values():
        for line, rec in lines:
            warnings.append(FormatWarning(
                line, 'archive reference', f'slip line for customer {rec.customer_number!r} '
                f'matches no payment with archive reference {rec.archive_reference!r}',
                (47, 68)))
    return PaymentInformation(
        start.data_supplier, start.subsystem, start.delivery_type, start.delivery_id,
        start.created, tuple(sections), tuple(warnings), tuple(payments))


def parse_0603(data, *, options: Options = DEFAULT_OPTIONS) -> MandateInformation:
    """Parse a whole 0603 mandate delivery; raise ``FormatError`` if invalid."""
    start, records, warnings = _read(data, '0603', options)
    sections = []
    mandates = []
    section = None
    for line, rec in records:
        cls = type(rec)
        if cls is ReplySectionStart:
            section = rec
            sections.append(ReplySection(line, rec.section, rec.pbs_number, rec.debtor_group,
                                         rec.creditor_id, rec.created))
        elif cls is MandateEvent:
            status, meaning = TRANSACTION_MEANINGS[rec.transaction_code]
            mandates.append(MandateChange(
                line, section.section, rec.pbs_number, rec.debtor_group,
                normalise_customer_number(rec.customer_number), rec.customer_number,
                rec.mandate_number, rec.transaction_code, status, meaning, rec.start_date,
                rec.end_date))
        elif cls not in (ReplySectionEnd, DeliveryEnd, DeliveryStart):
            raise AssertionError(cls)
    return MandateInformation(
        start.data_supplier, start.subsystem, start.delivery_type, start.delivery_id,
        start.created, tuple(sections), tuple(warnings), tuple(mandates))
