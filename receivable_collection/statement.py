# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Bank statements matched against the collections and open items.

*Match Collections* turns each incoming origin of a draft statement into an
incoming payment for the same matcher as the camt.054 import: what it settles
becomes statement lines related to the invoice or the collection, so that
validating the statement posts and reconciles through Tryton's own statement
logic; the rest goes to the exception queue, whose decisions then fill the
origin with lines too."""
import re
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelView, Workflow, fields
from trytond.modules.company.model import set_employee
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from .exceptions import CollectionExceptionError, CollectionImportError
from .matching import DIFFERENCE, EXACT, Incoming, match_payments
from .sepa.references import fi_payment_id_ok

# an FI card's OCR line inside a text: +71<payment id +creditor number<
_FI_OCR = re.compile(
    r'\+\s*(71|73|75|04|15)\s*<\s*([0-9]*)\s*\+\s*([0-9]{8})\s*<?')


def fi_payment_id(text):
    "The payment id of the first valid FI-card OCR line in a text, or None."
    for card_type, payment_id, _creditor in _FI_OCR.findall(text or ''):
        if payment_id and fi_payment_id_ok(payment_id, card_type):
            return payment_id


class Invoice(metaclass=PoolMeta):
    "Customer invoices with the payment ids the bank may quote."
    __name__ = 'account.invoice'

    def collection_payment_ids(self):
        "The payment ids printed on the invoice's payment slips (none here)."
        return []

    @classmethod
    def collection_payment_id_domain(cls, words):
        "Domain alternatives finding the invoices whose payment ids may be among words."
        return []


class Statement(metaclass=PoolMeta):
    "Bank statements matched against the collections and open items."
    __name__ = 'account.statement'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'collection_match': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                })

    @classmethod
    @ModelView.button
    def collection_match(cls, statements):
        "Settle the unmatched incoming origins or queue them as exceptions."
        pool = Pool()
        Payment = pool.get('account.payment')
        Line = pool.get('account.statement.line')
        Exception_ = pool.get('receivable.collection.exception')
        cls.lock(statements)
        for statement in statements:
            if statement.state != 'draft':
                continue
            company = statement.company
            with without_check_access(), Transaction().set_context(
                    company=company.id):
                origins = statement.collection_origins_to_match()
                if not origins:
                    continue
                incoming = [o.collection_incoming(n) for n, o in origins]
                by_id = {o.id: o for _, o in origins}
                expected, records = Payment.collection_expected(company, incoming)
                tolerance = Payment.collection_tolerance(company)
                lines, exceptions = [], []
                for match in match_payments(incoming, expected, tolerance):
                    origin = by_id[match.incoming.key]
                    record = (records.get(match.expected.key)
                        if match.expected else None)
                    if match.kind == EXACT or (
                            match.kind == DIFFERENCE and match.within_tolerance):
                        lines.extend(origin.collection_settle(record, match))
                    else:
                        exception = Payment.collection_exception(
                            company, match, record, origin.party, records)
                        exception.statement_origin = origin
                        exception.file_line = match.incoming.line
                        exceptions.append(exception)
                Line.save(lines)
                Exception_.save(exceptions)

    def collection_origins_to_match(self):
        "(position, origin) of the incoming origins without lines nor exception."
        pool = Pool()
        Exception_ = pool.get('receivable.collection.exception')
        origins = list(enumerate(self.origins, 1))
        queued = {e.statement_origin.id for e in Exception_.search([
                    ('statement_origin', 'in', [o.id for _, o in origins]),
                    ])}
        return [(n, o) for n, o in origins
            if o.amount > 0 and not o.lines and o.id not in queued]


class Origin(metaclass=PoolMeta):
    "Statement origins read as incoming payments and settled by lines."
    __name__ = 'account.statement.origin'

    @property
    def collection_text(self):
        "The remittance information and description of the origin."
        information = self.information or {}
        return ' '.join(filter(None, [
                    information.get('camt_remittance_information'),
                    self.description,
                    information.get('camt_additional_transaction_information'),
                    ]))

    def collection_incoming(self, line):
        "The origin as an incoming payment for the matcher."
        information = self.information or {}
        text = self.collection_text
        end_to_end_id = information.get('camt_end_to_end_identification')
        party = self.party
        return Incoming(
            self.id, self.amount, self.currency.code, self.date,
            reference=fi_payment_id(text) or text or None,
            end_to_end_id=(end_to_end_id
                if end_to_end_id != 'NOTPROVIDED' else None),
            customer_number=party.collection_number if party else None,
            debtor_name=information.get('camt_debtor_name') or (
                party.rec_name if party else None),
            line=line)

    def collection_settle(self, record, match):
        "The lines settling the matched collection or open item, difference written off."
        amount = match.incoming.amount - match.difference
        lines = [self.collection_line(amount, record)]
        if match.difference:
            lines.append(self.collection_write_off_line(
                    match.difference, record.party))
        return lines

    def collection_line(self, amount, record=None, party=None):
        """A statement line of the origin for a collection, an open item or,
        without record, the party's account (money kept on account)."""
        pool = Pool()
        Line = pool.get('account.statement.line')
        Payment = pool.get('account.payment')
        Invoice = pool.get('account.invoice')
        line = Line(
            statement=self.statement, origin=self, date=self.date,
            number=self.number, description=self.description, amount=amount)
        if isinstance(record, Payment):
            line.related_to = record
            line.party = record.party
            line.account = (record.journal.clearing_account
                or record.line.account)
        elif record is not None:
            if isinstance(record.move_origin, Invoice):
                line.related_to = record.move_origin
            line.party = record.party
            line.account = record.account
        else:
            line.party = party
            with Transaction().set_context(
                    company=self.statement.company.id, date=self.date):
                line.account = party.account_receivable_used
        return line

    def collection_write_off_line(self, difference, party):
        "A statement line writing off a payment difference (received minus due)."
        pool = Pool()
        Line = pool.get('account.statement.line')
        Configuration = pool.get('receivable.collection.configuration')
        company = self.statement.company
        write_off = Configuration(1).get_multivalue(
            'collection_write_off', company=company.id)
        if not write_off:
            raise CollectionImportError(gettext(
                    'receivable_collection.msg_no_write_off',
                    company=company.rec_name))
        account = (write_off.credit_account if difference > 0
            else write_off.debit_account)
        return Line(
            statement=self.statement, origin=self, date=self.date,
            number=self.number, description=write_off.rec_name,
            amount=difference, account=account,
            party=party if account.party_required else None)


class CollectionException(metaclass=PoolMeta):
    "Exceptions of statement origins, resolved by lines on the origin."
    __name__ = 'receivable.collection.exception'

    statement_origin = fields.Many2One(
        'account.statement.origin', "Statement Origin", readonly=True,
        ondelete='CASCADE',
        states={
            'invisible': ~Eval('statement_origin'),
            },
        help="The bank statement entry the payment arrived with.")

    def get_rec_name(self, name):
        "The statement and origin position, or the file line."
        if self.statement_origin:
            return f'{self.statement_origin.statement.rec_name}:{self.file_line or ""}'
        return super().get_rec_name(name)

    @classmethod
    def _statement_split(cls, exceptions):
        "The exceptions of statement origins, which must be drafts, and the others."
        ours, others = [], []
        for exception in exceptions:
            origin = exception.statement_origin
            if not origin:
                others.append(exception)
                continue
            if origin.statement.state != 'draft':
                raise CollectionExceptionError(gettext(
                        'receivable_collection.msg_exception_statement_not_draft',
                        exception=exception.rec_name,
                        statement=origin.statement.rec_name))
            ours.append(exception)
        return ours, others

    @classmethod
    def _statement_save(cls, lines):
        "Save the lines settling exceptions on their statements."
        pool = Pool()
        Line = pool.get('account.statement.line')
        with without_check_access():
            Line.save(lines)

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    @set_employee('resolved_by')
    def post(cls, exceptions):
        "On a statement: a line paying the chosen open item, the excess on account."
        ours, others = cls._statement_split(exceptions)
        if others:
            super().post(others)
        cls._check_open_item(ours)
        lines = []
        for exception in ours:
            origin, item = exception.statement_origin, exception.line
            due = item.payment_amount or Decimal(0)
            amount = min(exception.amount, due) if due > 0 else exception.amount
            exception._fail_collection()
            lines.append(origin.collection_line(amount, item))
            if exception.amount > amount:
                lines.append(origin.collection_line(
                        exception.amount - amount, party=item.party))
        cls._statement_save(lines)

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    @set_employee('resolved_by')
    def write_off(cls, exceptions):
        "On a statement: a line paying the collection or open item, the difference written off."
        ours, others = cls._statement_split(exceptions)
        if others:
            super().write_off(others)
        cls._check_open_item(ours)
        lines = []
        for exception in ours:
            origin, payment = exception.statement_origin, exception.payment
            if payment and payment.state == 'processing':
                record, due = payment, payment.amount
            else:
                record = exception.line
                due = record.payment_amount or Decimal(0)
            lines.append(origin.collection_line(due, record))
            if exception.amount != due:
                lines.append(origin.collection_write_off_line(
                        exception.amount - due, record.party))
        cls._statement_save(lines)

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    @set_employee('resolved_by')
    def on_account(cls, exceptions):
        "On a statement: a line keeping the money on the customer's account."
        ours, others = cls._statement_split(exceptions)
        if others:
            super().on_account(others)
        lines = []
        for exception in ours:
            if not exception.party:
                raise CollectionExceptionError(gettext(
                        'receivable_collection.msg_exception_no_party',
                        exception=exception.rec_name))
            lines.append(exception.statement_origin.collection_line(
                    exception.amount, party=exception.party))
        cls._statement_save(lines)
