"""SEPA bank messages for the collection journal: pain.002 status reports and camt.054
debit/credit notifications, parsed strictly into dataclasses and built back for tests.

Plain Python (lxml), no Tryton import. Every parse error is a ``SepaFormatError`` with
``line``, ``field`` (an XPath-like path) and ``message``.
"""
from .camt054 import (
    Camt054Document,
    CamtEntry,
    CamtNotification,
    CamtTransaction,
    CreditorReference,
    build_camt054,
    parse_camt054,
)
from .codes import REASON_TEXTS, STATUS_TEXTS, reason_text, status_text
from .errors import SepaFormatError
from .pain002 import (
    Outcome,
    Pain002Report,
    PaymentInformationStatus,
    StatusReason,
    TransactionStatus,
    build_pain002,
    parse_pain002,
)
from .references import is_rf, make_rf

__all__ = [
    'REASON_TEXTS', 'STATUS_TEXTS', 'Camt054Document', 'CamtEntry', 'CamtNotification',
    'CamtTransaction', 'CreditorReference', 'Outcome', 'Pain002Report',
    'PaymentInformationStatus', 'SepaFormatError', 'StatusReason', 'TransactionStatus',
    'build_camt054', 'build_pain002', 'is_rf', 'make_rf', 'parse_camt054', 'parse_pain002',
    'reason_text', 'status_text',
]
