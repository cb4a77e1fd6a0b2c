"""Record types of deliveries 0601, 0602 and 0603, one frozen dataclass each.

Each field's position, width and type is declared once, in the dataclass field (see
``layout``); the same table renders and parses. Positions are 1-based and inclusive, as
in the spec. Constant areas are listed in ``FIXED``; everything else is blank filler.
Every position is "to be confirmed against Nets' current guide" (conflict C11).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import ClassVar

from .layout import (
    alpha,
    date6,
    date8,
    digits,
    digits_or_blank,
    fixed,
    money,
    num,
)

DELIVERY_TYPES = ('0601', '0602', '0603')
SECTIONS_0601 = ('0112', '0113', '0117', '0118')
SECTIONS_0602 = ('0211', '0215')
SECTIONS_0603 = ('0210', '0212', '0219')

ZEROS_9 = '0' * 9


@dataclass(frozen=True)
class Record:
    """Base class of all records (system id and record type come from the class)."""

    RECORD_TYPE: ClassVar[str] = ''
    ROLE: ClassVar[str] = ''
    FIXED: ClassVar[tuple] = ()
    TRANSACTION: ClassVar[str] = ''
    TRANSACTIONS: ClassVar[tuple] = ()


def transaction_code(record: Record) -> str:
    """Return a record's transaction code (field or class constant; '' if none)."""
    return getattr(record, 'transaction_code', None) or type(record).TRANSACTION


# --- shared by all deliveries ---------------------------------------------------------

@dataclass(frozen=True)
class DeliveryStart(Record):
    """BS002 delivery start (0601, 0602, 0603)."""

    RECORD_TYPE = '002'
    ROLE = 'start'

    data_supplier: str = digits(6, 13, label='data supplier')
    subsystem: str = alpha(14, 16)
    delivery_type: str = digits(17, 20, choices=DELIVERY_TYPES)
    delivery_id: int = num(21, 30, label='delivery identification')
    created: date | None = date6(50, 55, optional=True, label='creation date')


@dataclass(frozen=True)
class DeliveryEnd(Record):
    """BS992 delivery end with the delivery totals (all deliveries)."""

    RECORD_TYPE = '992'
    ROLE = 'end'
    FIXED = (
        # C5: zeros or blanks; written per Options.delivery_end_filler.
        fixed(69, 83, lambda o: o.delivery_end_filler * 15, accept=('0' * 15, ' ' * 15)),
        fixed(95, 128, '0' * 34),
    )

    data_supplier: str = digits(6, 13, label='data supplier')
    subsystem: str = alpha(14, 16)
    delivery_type: str = digits(17, 20, choices=DELIVERY_TYPES)
    section_count: int = num(21, 31)
    collection_count: int = num(32, 42)
    net_amount: Decimal = money(43, 57)
    text_count: int = num(58, 68)
    debtor_count: int = num(84, 94)


# --- 0601: collection data (creditor -> Nets) ----------------------------------------

@dataclass(frozen=True)
class SectionStart(Record):
    """BS012 section start of a 0601 delivery (sections 0112, 0113, 0117, 0118)."""

    RECORD_TYPE = '012'
    ROLE = 'section'

    pbs_number: str = digits(6, 13, label='PBS number')
    section: str = digits(14, 17, choices=SECTIONS_0601)
    debtor_group: int = num(23, 27)
    creditor_id: str = alpha(28, 42)
    created: date | None = date8(47, 54, optional=True, label='creation date')
    # C1: reg + account number of the settlement account (zeros for 0117/0118).
    bank_reg: str = digits(55, 58, blank_if='blank_section_account',
                           label='registration number')
    bank_account: str = digits(59, 68, blank_if='blank_section_account',
                               label='account number')
    main_text: str = alpha(69, 128, '')


@dataclass(frozen=True)
class DebtorAddress(Record):
    """BS022 debtor name/address line, record number 00001-00005 (transaction 0240)."""

    RECORD_TYPE = '022'
    ROLE = 'debtor'
    TRANSACTION = '0240'
    FIXED = (fixed(43, 51, ZEROS_9),)

    pbs_number: str = digits(6, 13, label='PBS number')
    record_number: int = num(18, 22, choices=range(1, 6))
    debtor_group: int = num(23, 27)
    customer_number: str = alpha(28, 42)
    text: str = alpha(52, 86)


@dataclass(frozen=True)
class DebtorPostcode(Record):
    """BS022 record 00009: debtor postcode and country (transaction 0240)."""

    RECORD_TYPE = '022'
    ROLE = 'debtor'
    TRANSACTION = '0240'
    FIXED = (fixed(18, 22, '00009', 'record number'), fixed(43, 51, ZEROS_9))

    pbs_number: str = digits(6, 13, label='PBS number')
    debtor_group: int = num(23, 27)
    customer_number: str = alpha(28, 42)
    postcode: str = alpha(67, 70)
    country: str = alpha(71, 73, '')


@dataclass(frozen=True)
class DebtorIdentity(Record):
    """BS022 record 00010: debtor's CPR or CVR number (transaction 0240)."""

    RECORD_TYPE = '022'
    ROLE = 'debtor'
    TRANSACTION = '0240'
    FIXED = (fixed(18, 22, '00010', 'record number'),)

    pbs_number: str = digits(6, 13, label='PBS number')
    debtor_group: int = num(23, 27)
    customer_number: str = alpha(28, 42)
    cpr_cvr: str = digits(83, 92, label='CPR/CVR number')


@dataclass(frozen=True)
class Collection(Record):
    """BS042 collection, transaction 0280 (section 0112) or 0283 (0113 replacement)."""

    RECORD_TYPE = '042'
    ROLE = 'collection'
    TRANSACTIONS = ('0280', '0283')
    FIXED = (
        fixed(18, 22, '00000', 'record number'),
        fixed(104, 105, '00'),
        # C2: only with Options.payer_id_in_0280.
        fixed(121, 128, '0' * 8, when='payer_id_in_0280'),
    )

    pbs_number: str = digits(6, 13, label='PBS number')
    transaction_code: str = digits(14, 17, choices=TRANSACTIONS)
    debtor_group: int = num(23, 27)
    customer_number: str = alpha(28, 42)
    mandate_number: str = digits(43, 51)  # C3: zeros for "BS + payment slips"
    payment_date: date = date8(52, 59)
    sign_code: int = num(60, 60, choices=(0, 1, 2))
    amount: Decimal = money(61, 73)
    reference: str = alpha(74, 103, '')
    payer_id: str = digits_or_blank(106, 120, '', when='payer_id_in_0280')


@dataclass(frozen=True)
class CardCollection(Record):
    """BS042 transaction 0285: short-deadline FI card (section 0117)."""

    RECORD_TYPE = '042'
    ROLE = 'collection'
    TRANSACTION = '0285'
    FIXED = (
        fixed(18, 22, '00000', 'record number'),
        fixed(43, 51, ZEROS_9, 'mandate number'),
        fixed(104, 105, '00'),
    )

    pbs_number: str = digits(6, 13, label='PBS number')
    debtor_group: int = num(23, 27)
    customer_number: str = alpha(28, 42)
    payment_date: date = date8(52, 59)
    sign_code: int = num(60, 60, choices=(0, 1))
    amount: Decimal = money(61, 73)
    reference: str = alpha(74, 82, '')


@dataclass(frozen=True)
class OcrCardCollection(Record):
    """BS042 transaction 0286: FI card with the creditor's own payer id (section 0118)."""

    RECORD_TYPE = '042'
    ROLE = 'collection'
    TRANSACTION = '0286'
    FIXED = (
        fixed(18, 22, '00000', 'record number'),
        fixed(43, 51, ZEROS_9, 'mandate number'),
    )

    pbs_number: str = digits(6, 13, label='PBS number')
    debtor_group: int = num(23, 27)
    customer_number: str = alpha(28, 42)
    payment_date: date = date8(52, 59)
    sign_code: int = num(60, 60, choices=(0, 1))
    amount: Decimal = money(61, 73)
    reference: str = alpha(74, 82, '')
    payer_id: str = digits(83, 98, '0' * 16)  # all zeros: Nets generates the id


@dataclass(frozen=True)
class TextLine(Record):
    """Common layout of the 0601 text records BS052/BS062 (transaction 0241)."""

    ROLE = 'text'
    TRANSACTION = '0241'

    pbs_number: str = digits(6, 13, label='PBS number')
    line_number: int = num(18, 22)
    debtor_group: int = num(23, 27)
    customer_number: str = alpha(28, 42)
    mandate_number: str = digits(43, 51)
    text: str = alpha(53, 112, '')


@dataclass(frozen=True)
class NotificationText(TextLine):
    """BS052 notification text line (payment overview; FI card if no BS062)."""

    RECORD_TYPE = '052'


@dataclass(frozen=True)
class CardText(TextLine):
    """BS062 text line printed only on the FI card ("BS + payment slips")."""

    RECORD_TYPE = '062'


@dataclass(frozen=True)
class SectionEnd(Record):
    """BS092 section end of a 0601 delivery with the section totals."""

    RECORD_TYPE = '092'
    ROLE = 'section_end'
    FIXED = (fixed(18, 22, '00000', 'record number'),)

    pbs_number: str = digits(6, 13, label='PBS number')
    section: str = digits(14, 17, choices=SECTIONS_0601)
    debtor_group: int = num(23, 27)
    collection_count: int = num(32, 42)
    net_amount: Decimal = money(43, 57)
    text_count: int = num(58, 68)
    debtor_count: int = num(84, 94)


# --- 0602 / 0603: replies (Nets -> creditor) -----------------------------------------
# Record number is 3 digits (018-020): debtor group 021-025, customer number 026-040.

_REPLY_FILLER = fixed(18, 20, '000', accept=('   ',))  # C8: blanks in 0603


@dataclass(frozen=True)
class ReplySectionStart(Record):
    """BS012 section start of a 0602 (0211, 0215) or 0603 (0210, 0212, 0219) reply."""

    RECORD_TYPE = '012'
    ROLE = 'section'
    FIXED = (_REPLY_FILLER,)

    pbs_number: str = digits(6, 13, label='PBS number')
    section: str = digits(14, 17, choices=SECTIONS_0602 + SECTIONS_0603)
    debtor_group: int = num(21, 25)
    creditor_id: str = alpha(26, 40)
    created: date | None = date6(50, 55, optional=True, label='creation date')


@dataclass(frozen=True)
class PaymentEvent(Record):
    """BS042 in 0602 section 0211: automatic payment completed/rejected/cancelled/reversed."""

    RECORD_TYPE = '042'
    ROLE = 'collection'
    TRANSACTIONS = ('0236', '0237', '0238', '0239')
    FIXED = (_REPLY_FILLER,)

    pbs_number: str = digits(6, 13, label='PBS number')
    transaction_code: str = digits(14, 17, choices=TRANSACTIONS)
    debtor_group: int = num(21, 25)
    customer_number: str = alpha(26, 40)
    mandate_number: str = digits(41, 49)
    payment_date: date | None = date6(50, 55, optional=True)
    sign_code: int = num(56, 56, choices=(0, 1, 2))
    amount: Decimal = money(57, 69)
    reference: str = alpha(70, 99)
    actual_date: date | None = date6(104, 109, optional=True, label='actual payment date')
    value_date: date | None = date6(110, 115, optional=True, label='bookkeeping date')
    paid_amount: Decimal = money(116, 128)


@dataclass(frozen=True)
class SlipPayment(Record):
    """BS042 in 0602 section 0215: FI-card/slip payment (0297) or its charge-back (0299)."""

    RECORD_TYPE = '042'
    ROLE = 'collection'
    TRANSACTIONS = ('0297', '0299')
    FIXED = (_REPLY_FILLER, fixed(26, 29, '0000'))

    pbs_number: str = digits(6, 13, label='PBS number')
    transaction_code: str = digits(14, 17, choices=TRANSACTIONS)
    debtor_group: int = num(21, 25)
    customer_number: str = alpha(30, 44)
    slip_type: str = digits(45, 46)
    fee_code: int = num(47, 47, choices=(0, 1))
    fee: Decimal = money(48, 52)
    slip_date: date | None = date6(53, 58, optional=True, label='payment date')
    sign_code: int = num(59, 59, choices=(0, 1))
    amount: Decimal = money(60, 72)
    reference: str = alpha(73, 81)
    archive_reference: str = alpha(82, 103)
    actual_date: date | None = date6(104, 109, optional=True, label='actual payment date')
    value_date: date | None = date6(110, 115, optional=True, label='bookkeeping date')
    paid_amount: Decimal = money(116, 128)


@dataclass(frozen=True)
class SlipLine(Record):
    """Common layout of the 0602 slip records BS022 0290 and BS052 0295."""

    FIXED = (fixed(26, 29, '0000'),)

    pbs_number: str = digits(6, 13, label='PBS number')
    record_number: int = num(18, 20)
    debtor_group: int = num(21, 25)
    customer_number: str = alpha(30, 44)
    slip_type: str = digits(45, 46)
    archive_reference: str = alpha(47, 68)
    text: str = alpha(69, 103, '')


@dataclass(frozen=True)
class SlipAddress(SlipLine):
    """BS022 0290: address line read from a type 73 slip (0602 section 0215)."""

    RECORD_TYPE = '022'
    ROLE = 'debtor'
    TRANSACTION = '0290'


@dataclass(frozen=True)
class SlipText(SlipLine):
    """BS052 0295: debtor's free text from a type 73/75 slip (0602 section 0215)."""

    RECORD_TYPE = '052'
    ROLE = 'text'
    TRANSACTION = '0295'


@dataclass(frozen=True)
class ReplySectionEnd(Record):
    """BS092 section end of a 0602/0603 reply (the amount total is informational, C6)."""

    RECORD_TYPE = '092'
    ROLE = 'section_end'
    FIXED = (_REPLY_FILLER,)

    pbs_number: str = digits(6, 13, label='PBS number')
    section: str = digits(14, 17, choices=SECTIONS_0602 + SECTIONS_0603)
    debtor_group: int = num(21, 25)
    collection_count: int = num(32, 42)
    total: Decimal = money(43, 57)
    text_count: int = num(58, 68)
    debtor_count: int = num(84, 94)


@dataclass(frozen=True)
class MandateEvent(Record):
    """BS042 in 0603: mandate active (0230), registered (0231) or cancelled (0232-0234)."""

    RECORD_TYPE = '042'
    ROLE = 'collection'
    TRANSACTIONS = ('0230', '0231', '0232', '0233', '0234')
    FIXED = (_REPLY_FILLER,)

    pbs_number: str = digits(6, 13, label='PBS number')
    transaction_code: str = digits(14, 17, choices=TRANSACTIONS)
    debtor_group: int = num(21, 25)
    customer_number: str = alpha(26, 40)
    mandate_number: str = digits(41, 49)
    start_date: date | None = date6(50, 55, optional=True, label='effective date')
    end_date: date | None = date6(56, 61, optional=True)


RECORDS_0601 = (
    DeliveryStart, SectionStart, DebtorAddress, DebtorPostcode, DebtorIdentity, Collection,
    CardCollection, OcrCardCollection, NotificationText, CardText, SectionEnd, DeliveryEnd,
)
RECORDS_0602 = (
    DeliveryStart, ReplySectionStart, PaymentEvent, SlipPayment, SlipAddress, SlipText,
    ReplySectionEnd, DeliveryEnd,
)
RECORDS_0603 = (DeliveryStart, ReplySectionStart, MandateEvent, ReplySectionEnd, DeliveryEnd)
RECORDS = {'0601': RECORDS_0601, '0602': RECORDS_0602, '0603': RECORDS_0603}
