"""Bank-to-customer debit/credit notification (camt.054): strict parser and builder.

Versions ``camt.054.001.02`` to ``.08``; the namespace decides and any other is refused.
Across versions the parser reads both spellings where the schema changed: the entry
status as a code (``<Sts>BOOK</Sts>``, up to .06) or a choice (``<Sts><Cd>BOOK</Cd>``,
from .07), the related debtor directly (``Dbtr/Nm``) or as a party choice
(``Dbtr/Pty/Nm``, .08), and a transaction amount in ``TxDtls/Amt`` (from .03) or only
in ``AmtDtls`` (.02). A transaction without its own amount or credit/debit indicator
takes the entry's when the entry has exactly one transaction.

Every entry and transaction carries the 1-based ``line`` where it starts. Refused with
``SepaFormatError``: not XML, wrong root or namespace, a missing mandatory element, an
amount that is not a non-negative decimal, a currency that is not 3 capital letters, a
bad date, an unknown status or credit/debit code, and the same ``EndToEndId`` twice in
one direction (same credit/debit indicator, reversal and return flags) within the file;
``NOTPROVIDED`` is exempt.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from ._xml import Node, Writer, parse_root, serialize
from .codes import reason_text
from .errors import SepaFormatError
from .references import compact, fi_card_type, fi_payment_id_ok, is_rf, parse_fi_ocr

NAMESPACE = 'urn:iso:std:iso:20022:tech:xsd:%s'
VERSIONS = tuple(f'camt.054.001.{n:02d}' for n in range(2, 9))
NAMESPACES = {NAMESPACE % version: version for version in VERSIONS}
MESSAGE = 'BkToCstmrDbtCdtNtfctn'
CREDIT, DEBIT = 'CRDT', 'DBIT'
CREDIT_DEBIT = frozenset({CREDIT, DEBIT})
ENTRY_STATUSES = frozenset({'BOOK', 'PDNG', 'INFO'})
NOT_PROVIDED = 'NOTPROVIDED'


@dataclass(frozen=True)
class CreditorReference:
    """A structured creditor reference (``Strd/CdtrRefInf``) and what kind it is."""

    reference: str
    code: str | None = None
    proprietary: str | None = None
    issuer: str | None = None

    @property
    def kind(self) -> str:
        """``rf`` (ISO 11649), ``fi`` (Danish FI card), ``scor`` (other SCOR) or ``other``."""
        if fi_card_type(self.proprietary) is not None or parse_fi_ocr(self.reference):
            return 'fi'
        if compact(self.reference).startswith('RF') and (
                self.code in (None, 'SCOR') or is_rf(self.reference)):
            return 'rf'
        if self.code == 'SCOR':
            return 'scor'
        return 'other'

    @property
    def valid(self) -> bool:
        """True unless an RF or FI reference fails its check digits or length."""
        kind = self.kind
        if kind == 'rf':
            return is_rf(self.reference)
        if kind == 'fi':
            ocr = parse_fi_ocr(self.reference)
            if ocr is not None:
                card_type, payment_id, _ = ocr
                return fi_payment_id_ok(payment_id, card_type)
            return fi_payment_id_ok(compact(self.reference), fi_card_type(self.proprietary))
        return True

    @property
    def payment_id(self) -> str:
        """The reference as matched against our ids: compact, FI OCR lines reduced to the id."""
        ocr = parse_fi_ocr(self.reference)
        if ocr is not None:
            return ocr[1]
        return compact(self.reference)


@dataclass(frozen=True)
class CamtTransaction:
    """One transaction detail (``TxDtls``) of an entry."""

    amount: Decimal
    currency: str
    credit_debit: str
    end_to_end_id: str | None = None
    instruction_id: str | None = None
    payment_information_id: str | None = None
    message_id: str | None = None
    account_servicer_reference: str | None = None
    mandate_id: str | None = None
    debtor_name: str | None = None
    debtor_iban: str | None = None
    remittance_lines: tuple[str, ...] = ()
    creditor_references: tuple[CreditorReference, ...] = ()
    returned: bool = False
    return_reason_code: str | None = None
    return_additional_info: tuple[str, ...] = ()
    line: int = field(default=0, compare=False)

    @property
    def return_reason_text(self) -> str:
        """A readable text for the return reason code ('' when none)."""
        return reason_text(self.return_reason_code)

    @property
    def reference(self) -> str | None:
        """The best reference for matching: a valid RF/FI reference, else any structured
        reference, else the unstructured lines joined by a space."""
        for reference in self.creditor_references:
            if reference.kind in ('rf', 'fi') and reference.valid:
                return reference.payment_id
        if self.creditor_references:
            return self.creditor_references[0].payment_id
        if self.remittance_lines:
            return ' '.join(self.remittance_lines)
        return None


@dataclass(frozen=True)
class CamtEntry:
    """One entry (``Ntry``) booked or pending on the account."""

    amount: Decimal
    currency: str
    credit_debit: str
    status: str
    reversal: bool = False
    booking_date: date | None = None
    value_date: date | None = None
    entry_reference: str | None = None
    account_servicer_reference: str | None = None
    bank_transaction_code: str | None = None
    batch_message_id: str | None = None
    batch_payment_information_id: str | None = None
    transactions: tuple[CamtTransaction, ...] = ()
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CamtNotification:
    """One account notification (``Ntfctn``) with its entries."""

    id: str
    creation_time: datetime
    account_iban: str | None = None
    account_other_id: str | None = None
    account_currency: str | None = None
    entries: tuple[CamtEntry, ...] = ()
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Camt054Document:
    """A parsed camt.054 message."""

    message_id: str
    creation_time: datetime
    notifications: tuple[CamtNotification, ...] = ()
    version: str = 'camt.054.001.04'
    line: int = field(default=0, compare=False)

    @property
    def entries(self) -> tuple[CamtEntry, ...]:
        """Every entry of every notification, in file order."""
        return tuple(e for n in self.notifications for e in n.entries)


# --- parsing ---------------------------------------------------------------------

def parse_camt054(data: bytes) -> Camt054Document:
    """Parse a camt.054 document (bytes) strictly; raise ``SepaFormatError`` if invalid."""
    version, message = parse_root(data, NAMESPACES, MESSAGE)
    header = message.req('GrpHdr')
    notification_nodes = message.all('Ntfctn')
    if not notification_nodes:
        raise message.error('missing mandatory element', 'Ntfctn')
    document = Camt054Document(
        message_id=header.text('MsgId', required=True),
        creation_time=header.datetime('CreDtTm', required=True),
        notifications=tuple(_notification(node) for node in notification_nodes),
        version=version,
        line=message.line,
    )
    _check_duplicates(document, notification_nodes)
    return document


def _check_duplicates(document: Camt054Document, notification_nodes):
    seen = {}
    for n_node, notification in zip(notification_nodes, document.notifications):
        for e_node, entry in zip(n_node.all('Ntry'), notification.entries):
            tx_nodes = [tx for details in e_node.all('NtryDtls') for tx in details.all('TxDtls')]
            for node, transaction in zip(tx_nodes, entry.transactions):
                e2e = transaction.end_to_end_id
                if e2e is None or e2e == NOT_PROVIDED:
                    continue
                key = (e2e, transaction.credit_debit, entry.reversal, transaction.returned)
                if key in seen:
                    raise SepaFormatError(
                        node.line, f'{node.path}/Refs/EndToEndId',
                        f'EndToEndId {e2e!r} occurs twice in the same direction '
                        f'(first on line {seen[key]})')
                seen[key] = node.line


def _account(node: Node):
    account = node.req('Acct')
    identification = account.req('Id')
    iban = identification.text('IBAN', max_length=34)
    other = None
    if iban is None:
        other_node = identification.opt('Othr')
        if other_node is None:
            raise identification.error('missing mandatory element IBAN or Othr')
        other = other_node.text('Id', required=True, max_length=34)
    return iban, other, account.text('Ccy', max_length=3)


def _notification(node: Node) -> CamtNotification:
    iban, other, currency = _account(node)
    return CamtNotification(
        id=node.text('Id', required=True),
        creation_time=node.datetime('CreDtTm', required=True),
        account_iban=iban,
        account_other_id=other,
        account_currency=currency,
        entries=tuple(_entry(entry) for entry in node.all('Ntry')),
        line=node.line,
    )


def _status(node: Node) -> str:
    status = node.req('Sts')
    if status.has('Cd'):
        return status.code('Cd', ENTRY_STATUSES, required=True)
    if status.has('Prtry'):
        raise status.error('proprietary entry status is not supported', 'Prtry')
    value = status.value(None)
    if value not in ENTRY_STATUSES:
        raise status.error(f'unknown code {value!r}, expected one of BOOK, INFO, PDNG')
    return value


def _bank_transaction_code(node: Node) -> str | None:
    code = node.opt('BkTxCd')
    if code is None:
        return None
    domain = code.opt('Domn')
    if domain is None:
        return None
    family = domain.req('Fmly')
    return '/'.join((
        domain.text('Cd', required=True, max_length=4),
        family.text('Cd', required=True, max_length=4),
        family.text('SubFmlyCd', required=True, max_length=4)))


def _entry(node: Node) -> CamtEntry:
    amount, currency = node.amount('Amt', required=True)
    credit_debit = node.code('CdtDbtInd', CREDIT_DEBIT, required=True)
    batch_message_id = batch_payment_information_id = None
    details = node.all('NtryDtls')
    tx_nodes = [tx for detail in details for tx in detail.all('TxDtls')]
    for detail in details:
        batch = detail.opt('Btch')
        if batch is not None and batch_message_id is None and batch_payment_information_id is None:
            batch_message_id = batch.text('MsgId')
            batch_payment_information_id = batch.text('PmtInfId')
    entry_default = (amount, currency) if len(tx_nodes) == 1 else (None, None)
    return CamtEntry(
        amount=amount,
        currency=currency,
        credit_debit=credit_debit,
        status=_status(node),
        reversal=bool(node.boolean('RvslInd')),
        booking_date=node.date_choice('BookgDt'),
        value_date=node.date_choice('ValDt'),
        entry_reference=node.text('NtryRef'),
        account_servicer_reference=node.text('AcctSvcrRef'),
        bank_transaction_code=_bank_transaction_code(node),
        batch_message_id=batch_message_id,
        batch_payment_information_id=batch_payment_information_id,
        transactions=tuple(
            _transaction(tx, credit_debit, entry_default) for tx in tx_nodes),
        line=node.line,
    )


def _transaction_amount(node: Node, entry_default):
    amount, currency = node.amount('Amt')
    if amount is not None:
        return amount, currency
    details = node.opt('AmtDtls')
    if details is not None:
        for name in ('TxAmt', 'InstdAmt'):
            inner = details.opt(name)
            if inner is not None:
                return inner.amount('Amt', required=True)
    if entry_default[0] is not None:
        return entry_default
    raise node.error('missing mandatory element Amt (or AmtDtls) in a batch entry', 'Amt')


def _creditor_references(remittance: Node) -> tuple[CreditorReference, ...]:
    references = []
    for structured in remittance.all('Strd'):
        info = structured.opt('CdtrRefInf')
        if info is None:
            continue
        reference = info.text('Ref')
        if reference is None:
            continue
        code = proprietary = issuer = None
        kind = info.opt('Tp')
        if kind is not None:
            choice = kind.req('CdOrPrtry')
            code = choice.text('Cd', max_length=4)
            proprietary = choice.text('Prtry')
            if code is None and proprietary is None:
                raise choice.error('missing mandatory element Cd or Prtry')
            issuer = kind.text('Issr')
        references.append(CreditorReference(reference, code, proprietary, issuer))
    return tuple(references)


def _transaction(node: Node, entry_credit_debit: str, entry_default) -> CamtTransaction:
    amount, currency = _transaction_amount(node, entry_default)
    credit_debit = node.code('CdtDbtInd', CREDIT_DEBIT) or entry_credit_debit
    references = node.opt('Refs')
    refs = {}
    if references is not None:
        for name in ('MsgId', 'AcctSvcrRef', 'PmtInfId', 'InstrId', 'EndToEndId', 'MndtId'):
            refs[name] = references.text(name)
    debtor_name = debtor_iban = None
    parties = node.opt('RltdPties')
    if parties is not None:
        debtor = parties.opt('Dbtr')
        if debtor is not None:
            party = debtor.opt('Pty') or debtor
            debtor_name = party.text('Nm', max_length=140)
        account = parties.opt('DbtrAcct')
        if account is not None:
            debtor_iban = account.req('Id').text('IBAN', max_length=34)
    lines, creditor_references = (), ()
    remittance = node.opt('RmtInf')
    if remittance is not None:
        lines = remittance.texts('Ustrd', 140)
        creditor_references = _creditor_references(remittance)
    returned, return_code, return_info = False, None, ()
    return_node = node.opt('RtrInf')
    if return_node is not None:
        returned = True
        reason = return_node.opt('Rsn')
        if reason is not None:
            return_code = reason.text('Cd', max_length=4)
        return_info = return_node.texts('AddtlInf', 105)
    return CamtTransaction(
        amount=amount,
        currency=currency,
        credit_debit=credit_debit,
        end_to_end_id=refs.get('EndToEndId'),
        instruction_id=refs.get('InstrId'),
        payment_information_id=refs.get('PmtInfId'),
        message_id=refs.get('MsgId'),
        account_servicer_reference=refs.get('AcctSvcrRef'),
        mandate_id=refs.get('MndtId'),
        debtor_name=debtor_name,
        debtor_iban=debtor_iban,
        remittance_lines=lines,
        creditor_references=creditor_references,
        returned=returned,
        return_reason_code=return_code,
        return_additional_info=return_info,
        line=node.line,
    )


# --- building --------------------------------------------------------------------

def _number(version: str) -> int:
    return int(version.rsplit('.', 1)[1])


def build_camt054(document: Camt054Document) -> bytes:
    """Render ``document`` as a camt.054 document of ``document.version`` (UTF-8 bytes).

    The result is read back with ``parse_camt054``, so what this writes is never
    something the parser refuses (a too long id raises ``SepaFormatError``).
    """
    if document.version not in VERSIONS:
        raise ValueError(f'unknown camt.054 version {document.version!r}')
    number = _number(document.version)
    w = Writer(NAMESPACE % document.version)
    root = w.root()
    message = w.sub(root, MESSAGE)
    header = w.sub(message, 'GrpHdr')
    w.sub(header, 'MsgId', document.message_id)
    w.sub(header, 'CreDtTm', document.creation_time.isoformat())
    if not document.notifications:
        raise ValueError('a camt.054 document needs at least one notification')
    for notification in document.notifications:
        node = w.sub(message, 'Ntfctn')
        w.sub(node, 'Id', notification.id)
        w.sub(node, 'CreDtTm', notification.creation_time.isoformat())
        account = w.sub(node, 'Acct')
        identification = w.sub(account, 'Id')
        if notification.account_iban is not None:
            w.sub(identification, 'IBAN', notification.account_iban)
        elif notification.account_other_id is not None:
            w.sub(w.sub(identification, 'Othr'), 'Id', notification.account_other_id)
        else:
            raise ValueError(f'notification {notification.id!r} has no account')
        w.opt(account, 'Ccy', notification.account_currency)
        for entry in notification.entries:
            _write_entry(w, node, entry, number)
    data = serialize(root)
    parse_camt054(data)
    return data


def _write_entry(w: Writer, parent, entry: CamtEntry, number: int):
    node = w.sub(parent, 'Ntry')
    w.opt(node, 'NtryRef', entry.entry_reference)
    w.amount(node, 'Amt', entry.amount, entry.currency)
    w.sub(node, 'CdtDbtInd', entry.credit_debit)
    if entry.reversal:
        w.sub(node, 'RvslInd', 'true')
    if number >= 7:
        w.sub(w.sub(node, 'Sts'), 'Cd', entry.status)
    else:
        w.sub(node, 'Sts', entry.status)
    if entry.booking_date is not None:
        w.sub(w.sub(node, 'BookgDt'), 'Dt', entry.booking_date.isoformat())
    if entry.value_date is not None:
        w.sub(w.sub(node, 'ValDt'), 'Dt', entry.value_date.isoformat())
    w.opt(node, 'AcctSvcrRef', entry.account_servicer_reference)
    code = w.sub(node, 'BkTxCd')
    if entry.bank_transaction_code is not None:
        domain_code, family_code, sub_family = entry.bank_transaction_code.split('/')
        domain = w.sub(code, 'Domn')
        w.sub(domain, 'Cd', domain_code)
        family = w.sub(domain, 'Fmly')
        w.sub(family, 'Cd', family_code)
        w.sub(family, 'SubFmlyCd', sub_family)
    batch = entry.batch_message_id is not None or entry.batch_payment_information_id is not None
    if entry.transactions or batch:
        details = w.sub(node, 'NtryDtls')
        if batch:
            batch_node = w.sub(details, 'Btch')
            w.opt(batch_node, 'MsgId', entry.batch_message_id)
            w.opt(batch_node, 'PmtInfId', entry.batch_payment_information_id)
        for transaction in entry.transactions:
            _write_transaction(w, details, transaction, number)


def _write_transaction(w: Writer, parent, transaction: CamtTransaction, number: int):
    node = w.sub(parent, 'TxDtls')
    refs = (
        ('MsgId', transaction.message_id),
        ('AcctSvcrRef', transaction.account_servicer_reference),
        ('PmtInfId', transaction.payment_information_id),
        ('InstrId', transaction.instruction_id),
        ('EndToEndId', transaction.end_to_end_id),
        ('MndtId', transaction.mandate_id),
    )
    if any(value is not None for _, value in refs):
        references = w.sub(node, 'Refs')
        for name, value in refs:
            w.opt(references, name, value)
    if number >= 3:
        w.amount(node, 'Amt', transaction.amount, transaction.currency)
        w.sub(node, 'CdtDbtInd', transaction.credit_debit)
    else:
        details = w.sub(node, 'AmtDtls')
        w.amount(w.sub(details, 'TxAmt'), 'Amt', transaction.amount, transaction.currency)
    if transaction.debtor_name is not None or transaction.debtor_iban is not None:
        parties = w.sub(node, 'RltdPties')
        if transaction.debtor_name is not None:
            debtor = w.sub(parties, 'Dbtr')
            if number >= 8:
                debtor = w.sub(debtor, 'Pty')
            w.sub(debtor, 'Nm', transaction.debtor_name)
        if transaction.debtor_iban is not None:
            w.sub(w.sub(w.sub(parties, 'DbtrAcct'), 'Id'), 'IBAN', transaction.debtor_iban)
    if transaction.remittance_lines or transaction.creditor_references:
        remittance = w.sub(node, 'RmtInf')
        for line in transaction.remittance_lines:
            w.sub(remittance, 'Ustrd', line)
        for reference in transaction.creditor_references:
            if reference.code is not None and reference.proprietary is not None:
                raise ValueError('a creditor reference type is a code or proprietary, not both')
            if reference.issuer is not None and reference.code is reference.proprietary:
                raise ValueError('a creditor reference issuer needs a reference type')
            info = w.sub(w.sub(remittance, 'Strd'), 'CdtrRefInf')
            if reference.code is not None or reference.proprietary is not None:
                kind = w.sub(info, 'Tp')
                choice = w.sub(kind, 'CdOrPrtry')
                if reference.code is not None:
                    w.sub(choice, 'Cd', reference.code)
                else:
                    w.sub(choice, 'Prtry', reference.proprietary)
                w.opt(kind, 'Issr', reference.issuer)
            w.sub(info, 'Ref', reference.reference)
    if transaction.returned:
        returned = w.sub(node, 'RtrInf')
        if transaction.return_reason_code is not None:
            w.sub(w.sub(returned, 'Rsn'), 'Cd', transaction.return_reason_code)
        for line in transaction.return_additional_info:
            w.sub(returned, 'AddtlInf', line)
