"""Nets Betalingsservice file codec (0601 export, 0602/0603 import, FI-card ids).

Plain Python, no Tryton imports, no I/O and no logging. See
``/work/shared/specs/nets-betalingsservice.md`` for the format; conflicts between the
sources (spec section 6) are settled by ``Options`` and ``CreditorSection.agreement``.
"""
from .builder import (
    AUTOMATIC,
    CUSTOMER_WIDTH,
    SLIPS,
    TEXT_LINES,
    TEXT_WIDTH,
    CollectionOrder,
    CreditorSection,
    Debtor,
    Replacement,
    add_banking_days,
    build_0601,
    fit_text_lines,
    is_weekday,
    layout_0601,
    replacement_deadline,
    to_latin1,
)
from .codec import (
    Checker,
    classify,
    parse,
    parse_record,
    parse_with_lines,
    render,
    render_record,
    with_totals,
)
from .errors import ExportError, FormatError, FormatWarning
from .layout import RECORD_LENGTH, amount_to_ore, ore_to_amount
from .leverandorservice import LS_OPTIONS, detect_system
from .options import DEFAULT_OPTIONS, Options
from .payment_id import (
    OcrLine,
    add_check_digit,
    check_payment_id,
    format_ocr_line,
    make_payment_id,
    mod10_check_digit,
    parse_ocr_line,
    payer_id_field,
    split_payment_id,
)
from .records import (
    RECORDS,
    CardCollection,
    CardText,
    Collection,
    DebtorAddress,
    DebtorIdentity,
    DebtorPostcode,
    DeliveryEnd,
    DeliveryStart,
    MandateEvent,
    NotificationText,
    OcrCardCollection,
    PaymentEvent,
    Record,
    ReplySectionEnd,
    ReplySectionStart,
    SectionEnd,
    SectionStart,
    SlipAddress,
    SlipLine,
    SlipPayment,
    SlipText,
    TextLine,
    transaction_code,
)
from .replies import (
    TRANSACTION_MEANINGS,
    MandateChange,
    MandateInformation,
    Payment,
    PaymentInformation,
    ReplySection,
    normalise_customer_number,
    parse_0602,
    parse_0603,
)

__all__ = [
    'AUTOMATIC', 'CUSTOMER_WIDTH', 'DEFAULT_OPTIONS', 'LS_OPTIONS', 'RECORDS',
    'RECORD_LENGTH', 'SLIPS', 'TEXT_LINES', 'TEXT_WIDTH', 'TRANSACTION_MEANINGS',
    'CardCollection', 'CardText', 'Checker', 'Collection', 'CollectionOrder',
    'CreditorSection', 'Debtor', 'DebtorAddress', 'DebtorIdentity', 'DebtorPostcode',
    'DeliveryEnd', 'DeliveryStart', 'ExportError', 'FormatError', 'FormatWarning',
    'MandateChange', 'MandateEvent', 'MandateInformation', 'NotificationText',
    'OcrCardCollection', 'OcrLine', 'Options', 'Payment', 'PaymentEvent',
    'PaymentInformation', 'Record', 'Replacement', 'ReplySection', 'ReplySectionEnd',
    'ReplySectionStart', 'SectionEnd', 'SectionStart', 'SlipAddress', 'SlipLine',
    'SlipPayment', 'SlipText', 'TextLine', 'add_banking_days', 'add_check_digit',
    'amount_to_ore', 'build_0601', 'check_payment_id', 'classify', 'detect_system',
    'fit_text_lines', 'format_ocr_line', 'is_weekday', 'layout_0601', 'make_payment_id',
    'mod10_check_digit', 'normalise_customer_number', 'ore_to_amount', 'parse',
    'parse_0602', 'parse_0603', 'parse_ocr_line', 'parse_record', 'parse_with_lines',
    'payer_id_field', 'render', 'render_record', 'replacement_deadline', 'split_payment_id',
    'to_latin1', 'transaction_code', 'with_totals',
]
