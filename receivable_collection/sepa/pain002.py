"""Customer payment status report (pain.002): strict parser and builder.

The bank answers a pain.008 direct debit initiation (as rendered by
``account_payment_sepa``: ``MsgId`` is the group's SEPA message id, ``PmtInfId`` the
payment information id, ``InstrId`` and ``EndToEndId`` the payment id) with a pain.002
saying, for the whole message (``GrpSts``), for a payment information block
(``PmtInfSts``) and for single transactions (``TxSts``), whether it was accepted or
rejected and why.

Versions: the namespace decides (``pain.002.001.03``, ``.10`` and ``.11``); any other
namespace is refused. Strict: a missing mandatory element, a bad amount, currency, date
or status code, a transaction without ``OrgnlEndToEndId`` (mandatory for SEPA) or an
``OrgnlEndToEndId`` reported twice raise ``SepaFormatError`` naming line and field.

Which status applies to a transaction of the original message is answered by
``Pain002Report.status_of`` (rules in its docstring): a rejected group
(``GrpSts`` ``RJCT``) rejects every transaction of the original message, whether the
report lists them or not (``whole_message_rejected``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property

from ._xml import Node, Writer, parse_root, serialize
from .codes import (
    BLANKET_STATUSES,
    GROUP_STATUSES,
    TRANSACTION_STATUSES,
    reason_text,
    status_text,
)
from .errors import SepaFormatError

NAMESPACE = 'urn:iso:std:iso:20022:tech:xsd:%s'
VERSIONS = ('pain.002.001.03', 'pain.002.001.10', 'pain.002.001.11')
NAMESPACES = {NAMESPACE % version: version for version in VERSIONS}
NOT_PROVIDED = 'NOTPROVIDED'
MESSAGE = 'CstmrPmtStsRpt'


@dataclass(frozen=True)
class StatusReason:
    """One status reason: an ISO external code or a proprietary one, plus free text."""

    code: str | None = None
    proprietary: str | None = None
    additional_info: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """A readable text: the table's text for the code, else the proprietary reason."""
        if self.code:
            return reason_text(self.code)
        return self.proprietary or ''


@dataclass(frozen=True)
class TransactionStatus:
    """The status of one original transaction (``TxInfAndSts``)."""

    original_end_to_end_id: str
    status: str | None = None
    reasons: tuple[StatusReason, ...] = ()
    original_instruction_id: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    requested_collection_date: date | None = None
    mandate_id: str | None = None
    status_id: str | None = None
    line: int = field(default=0, compare=False)

    @property
    def reason_code(self) -> str | None:
        """The first ISO reason code given, if any."""
        return next((r.code for r in self.reasons if r.code), None)

    @property
    def reason_text(self) -> str:
        """The readable text of the first reason, if any."""
        return self.reasons[0].text if self.reasons else ''


@dataclass(frozen=True)
class PaymentInformationStatus:
    """The status of one original payment information block (``OrgnlPmtInfAndSts``)."""

    original_payment_information_id: str
    status: str | None = None
    reasons: tuple[StatusReason, ...] = ()
    transactions: tuple[TransactionStatus, ...] = ()
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Outcome:
    """What a report says about one transaction of the original message.

    ``status`` is None when the report says nothing about it (under the EPC's negative
    reporting an unlisted transaction of a partly accepted group was not rejected);
    ``scope`` is where the status comes from: ``transaction``, ``payment_information``,
    ``group`` or ``none``; ``line`` is the line of that element.
    """

    status: str | None
    reasons: tuple[StatusReason, ...] = ()
    scope: str = 'none'
    line: int = 0

    @property
    def rejected(self) -> bool:
        """True when the transaction was rejected."""
        return self.status == 'RJCT'

    @property
    def reason_code(self) -> str | None:
        """The first ISO reason code given, if any."""
        return next((r.code for r in self.reasons if r.code), None)

    @property
    def reason_text(self) -> str:
        """The readable text of the first reason, or of the status when no reason."""
        if self.reasons:
            return self.reasons[0].text
        return status_text(self.status)


@dataclass(frozen=True)
class Pain002Report:
    """A parsed customer payment status report."""

    message_id: str
    creation_time: datetime
    original_message_id: str
    original_message_name: str
    group_status: str | None = None
    group_reasons: tuple[StatusReason, ...] = ()
    payment_informations: tuple[PaymentInformationStatus, ...] = ()
    version: str = 'pain.002.001.03'
    line: int = field(default=0, compare=False)

    @property
    def transactions(self) -> tuple[TransactionStatus, ...]:
        """Every transaction status of every block, in file order."""
        return tuple(t for p in self.payment_informations for t in p.transactions)

    @property
    def whole_message_rejected(self) -> bool:
        """True when the group status rejects every transaction of the original message."""
        return self.group_status == 'RJCT'

    @cached_property
    def _index(self):
        transactions, blocks = {}, {}
        for block in self.payment_informations:
            blocks.setdefault(block.original_payment_information_id, block)
            for transaction in block.transactions:
                transactions.setdefault(transaction.original_end_to_end_id, (transaction, block))
        return transactions, blocks

    def status_of(
            self, end_to_end_id: str, payment_information_id: str | None = None) -> Outcome:
        """The status the report gives the original transaction ``end_to_end_id``.

        Rules, in order:
        1. A rejected group (``RJCT``) rejects every transaction; a listed transaction
           keeps its own reasons, others get those of its block or of the group.
        2. A listed transaction with ``TxSts`` has that status.
        3. A rejected block rejects every transaction in it.
        4. A transaction listed without ``TxSts``, or not listed, takes the status of its
           block (found by ``payment_information_id`` or by the listing) unless that is
           ``PART``/``PDNG``/absent; a block that is ``PART`` or ``PDNG`` says nothing
           (``None``) about its unlisted transactions.
        5. Otherwise the group status applies, unless it is ``PART``/``PDNG``/absent,
           in which case the result is ``None`` (scope ``none``).
        """
        transactions, blocks = self._index
        listed = transactions.get(end_to_end_id)
        transaction, block = listed if listed else (None, None)
        if block is None and payment_information_id is not None:
            block = blocks.get(payment_information_id)
        if self.group_status == 'RJCT':
            if transaction is not None and transaction.reasons:
                return Outcome('RJCT', transaction.reasons, 'transaction', transaction.line)
            if block is not None and block.reasons:
                return Outcome('RJCT', block.reasons, 'payment_information', block.line)
            return Outcome('RJCT', self.group_reasons, 'group', self.line)
        if transaction is not None and transaction.status:
            return Outcome(
                transaction.status, transaction.reasons, 'transaction', transaction.line)
        if block is not None and block.status:
            if block.status in BLANKET_STATUSES:
                reasons = block.reasons
                if transaction is not None and transaction.reasons:
                    reasons = transaction.reasons
                return Outcome(block.status, reasons, 'payment_information', block.line)
            return Outcome(None, (), 'none', block.line)
        if self.group_status in BLANKET_STATUSES:
            return Outcome(self.group_status, self.group_reasons, 'group', self.line)
        return Outcome(None, (), 'none', 0)


# --- parsing ---------------------------------------------------------------------

def parse_pain002(data: bytes) -> Pain002Report:
    """Parse a pain.002 document (bytes) strictly; raise ``SepaFormatError`` if invalid."""
    version, report = parse_root(data, NAMESPACES, MESSAGE)
    header = report.req('GrpHdr')
    group = report.req('OrgnlGrpInfAndSts')
    blocks = tuple(_payment_information(node) for node in report.all('OrgnlPmtInfAndSts'))
    seen = {}
    for block_node, block in zip(report.all('OrgnlPmtInfAndSts'), blocks):
        tx_nodes = block_node.all('TxInfAndSts')
        for node, transaction in zip(tx_nodes, block.transactions):
            e2e = transaction.original_end_to_end_id
            if e2e == NOT_PROVIDED:
                continue
            if e2e in seen:
                raise SepaFormatError(
                    node.line, f'{node.path}/OrgnlEndToEndId',
                    f'EndToEndId {e2e!r} is reported twice (first on line {seen[e2e]})')
            seen[e2e] = node.line
    return Pain002Report(
        message_id=header.text('MsgId', required=True),
        creation_time=header.datetime('CreDtTm', required=True),
        original_message_id=group.text('OrgnlMsgId', required=True),
        original_message_name=group.text('OrgnlMsgNmId', required=True),
        group_status=group.code('GrpSts', GROUP_STATUSES),
        group_reasons=_reasons(group),
        payment_informations=blocks,
        version=version,
        line=report.line,
    )


def _reasons(node: Node) -> tuple[StatusReason, ...]:
    reasons = []
    for info in node.all('StsRsnInf'):
        code = proprietary = None
        reason = info.opt('Rsn')
        if reason is not None:
            code = reason.text('Cd', max_length=4)
            proprietary = reason.text('Prtry')
            if code is None and proprietary is None:
                raise reason.error('missing mandatory element Cd or Prtry')
        reasons.append(StatusReason(code, proprietary, info.texts('AddtlInf', 105)))
    return tuple(reasons)


def _payment_information(node: Node) -> PaymentInformationStatus:
    return PaymentInformationStatus(
        original_payment_information_id=node.text('OrgnlPmtInfId', required=True),
        status=node.code('PmtInfSts', GROUP_STATUSES),
        reasons=_reasons(node),
        transactions=tuple(_transaction(tx) for tx in node.all('TxInfAndSts')),
        line=node.line,
    )


def _transaction(node: Node) -> TransactionStatus:
    amount = currency = collection_date = mandate_id = None
    reference = node.opt('OrgnlTxRef')
    if reference is not None:
        amounts = reference.opt('Amt')
        if amounts is not None:
            amount, currency = amounts.amount('InstdAmt')
            if amount is None:
                equivalent = amounts.opt('EqvtAmt')
                if equivalent is None:
                    raise amounts.error('missing mandatory element InstdAmt or EqvtAmt')
                amount, currency = equivalent.amount('Amt', required=True)
        collection_date = reference.date('ReqdColltnDt')
        mandate = reference.opt('MndtRltdInf')
        if mandate is not None:
            direct_debit = mandate.opt('DrctDbtMndt')
            mandate_id = (direct_debit or mandate).text('MndtId')
    return TransactionStatus(
        original_end_to_end_id=node.text('OrgnlEndToEndId', required=True),
        status=node.code('TxSts', TRANSACTION_STATUSES),
        reasons=_reasons(node),
        original_instruction_id=node.text('OrgnlInstrId'),
        amount=amount,
        currency=currency,
        requested_collection_date=collection_date,
        mandate_id=mandate_id,
        status_id=node.text('StsId'),
        line=node.line,
    )


# --- building --------------------------------------------------------------------

def build_pain002(report: Pain002Report) -> bytes:
    """Render ``report`` as a pain.002 document of ``report.version`` (UTF-8 bytes).

    The result is read back with ``parse_pain002``, so what this writes is never
    something the parser refuses (a too long id raises ``SepaFormatError``).
    """
    if report.version not in VERSIONS:
        raise ValueError(f'unknown pain.002 version {report.version!r}')
    w = Writer(NAMESPACE % report.version)
    root = w.root()
    message = w.sub(root, MESSAGE)
    header = w.sub(message, 'GrpHdr')
    w.sub(header, 'MsgId', report.message_id)
    w.sub(header, 'CreDtTm', report.creation_time.isoformat())
    group = w.sub(message, 'OrgnlGrpInfAndSts')
    w.sub(group, 'OrgnlMsgId', report.original_message_id)
    w.sub(group, 'OrgnlMsgNmId', report.original_message_name)
    w.opt(group, 'GrpSts', report.group_status)
    _write_reasons(w, group, report.group_reasons)
    new_style = report.version != 'pain.002.001.03'
    for block in report.payment_informations:
        node = w.sub(message, 'OrgnlPmtInfAndSts')
        w.sub(node, 'OrgnlPmtInfId', block.original_payment_information_id)
        w.opt(node, 'PmtInfSts', block.status)
        _write_reasons(w, node, block.reasons)
        for transaction in block.transactions:
            _write_transaction(w, node, transaction, new_style)
    data = serialize(root)
    parse_pain002(data)
    return data


def _write_reasons(w: Writer, parent, reasons):
    for reason in reasons:
        if reason.code is not None and reason.proprietary is not None:
            raise ValueError('a status reason is a code or proprietary, not both')
        info = w.sub(parent, 'StsRsnInf')
        if reason.code is not None or reason.proprietary is not None:
            choice = w.sub(info, 'Rsn')
            if reason.code is not None:
                w.sub(choice, 'Cd', reason.code)
            else:
                w.sub(choice, 'Prtry', reason.proprietary)
        for line in reason.additional_info:
            w.sub(info, 'AddtlInf', line)


def _write_transaction(w: Writer, parent, transaction: TransactionStatus, new_style: bool):
    node = w.sub(parent, 'TxInfAndSts')
    w.opt(node, 'StsId', transaction.status_id)
    w.opt(node, 'OrgnlInstrId', transaction.original_instruction_id)
    w.sub(node, 'OrgnlEndToEndId', transaction.original_end_to_end_id)
    w.opt(node, 'TxSts', transaction.status)
    _write_reasons(w, node, transaction.reasons)
    if (transaction.amount is None and transaction.requested_collection_date is None
            and transaction.mandate_id is None):
        return
    reference = w.sub(node, 'OrgnlTxRef')
    if transaction.amount is not None:
        amounts = w.sub(reference, 'Amt')
        w.amount(amounts, 'InstdAmt', transaction.amount, transaction.currency)
    if transaction.requested_collection_date is not None:
        w.sub(reference, 'ReqdColltnDt', transaction.requested_collection_date.isoformat())
    if transaction.mandate_id is not None:
        mandate = w.sub(reference, 'MndtRltdInf')
        if new_style:
            mandate = w.sub(mandate, 'DrctDbtMndt')
        w.sub(mandate, 'MndtId', transaction.mandate_id)
