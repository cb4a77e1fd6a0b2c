"""Status codes and the common SEPA R-transaction reason codes with a readable text.

Reason codes are ISO 20022 external codes (ExternalStatusReason1Code and
ExternalReturnReason1Code) as used by the EPC rulebooks for rejects, returns, refunds
and refusals of SEPA direct debits. Codes not in the table are still accepted; their
text then says so.
"""
from __future__ import annotations

STATUS_TEXTS = {
    'ACCC': 'accepted, credited to the creditor',
    'ACCP': 'accepted after customer profile check',
    'ACSC': 'accepted, settlement completed',
    'ACSP': 'accepted, settlement in process',
    'ACTC': 'accepted after technical validation',
    'ACWC': 'accepted with change',
    'ACWP': 'accepted without posting',
    'PART': 'partially accepted',
    'PDNG': 'pending',
    'RCVD': 'received',
    'RJCT': 'rejected',
}
#: Statuses allowed for a whole message or payment information block.
GROUP_STATUSES = frozenset(STATUS_TEXTS)
#: Statuses allowed for one transaction (``PART`` only makes sense for a group).
TRANSACTION_STATUSES = GROUP_STATUSES - {'PART'}
#: Group statuses that apply to every transaction of the group not reported on its own.
BLANKET_STATUSES = GROUP_STATUSES - {'PART', 'PDNG'}

REASON_TEXTS = {
    'AC01': 'account identifier incorrect (invalid IBAN)',
    'AC04': 'account closed',
    'AC06': 'account blocked, or blocked for direct debits by the debtor',
    'AC13': 'debtor account is a consumer account (not allowed for B2B)',
    'AG01': 'direct debit forbidden on this type of account',
    'AG02': 'invalid bank operation code',
    'AM04': 'insufficient funds',
    'AM05': 'duplicate collection',
    'BE05': 'creditor identifier incorrect',
    'CNOR': 'creditor bank is not registered under this BIC in the clearing system',
    'DNOR': 'debtor bank is not registered under this BIC in the clearing system',
    'DUPL': 'duplicate payment',
    'ED05': 'settlement failed',
    'FF01': 'invalid file format',
    'FOCR': 'return following a cancellation request',
    'MD01': 'no valid mandate',
    'MD02': 'mandate data missing or incorrect',
    'MD06': 'refund requested by the debtor (disputed authorised collection)',
    'MD07': 'debtor deceased',
    'MS02': 'refused by the debtor (reason not specified)',
    'MS03': 'reason not specified by the bank',
    'NARR': 'reason given in the additional information',
    'RC01': 'bank identifier (BIC) incorrect',
    'RR01': 'debtor account or identification missing (regulatory reason)',
    'RR02': 'debtor name or address missing (regulatory reason)',
    'RR03': 'creditor name or address missing (regulatory reason)',
    'RR04': 'regulatory reason',
    'SL01': 'specific service offered by the debtor bank',
    'TM01': 'received after the cut-off time',
}


def reason_text(code: str | None) -> str:
    """A readable English text for a status or return reason code ('' for no code)."""
    if not code:
        return ''
    return REASON_TEXTS.get(code, f'reason code {code} (not in the SEPA table)')


def status_text(code: str | None) -> str:
    """A readable English text for a payment status code ('' for no status)."""
    if not code:
        return ''
    return STATUS_TEXTS.get(code, code)
