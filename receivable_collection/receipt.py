# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""Receipts and incoming payments from the bank, applied to the collections.

A pain.002 status report confirms or rejects each collection of a pain.008;
a camt.054 notification books the money: collections are confirmed or
returned, transfers are matched to open items, and whatever cannot be posted
by itself goes to the exception queue.  Each file is applied whole or not at
all, and the same delivery twice changes nothing."""
import dataclasses
from collections import defaultdict
from decimal import Decimal

from trytond.i18n import gettext
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from .exceptions import CollectionImportError
from .matching import (
    DIFFERENCE,
    EXACT,
    Expected,
    Tolerance,
    incoming_from_camt054,
    match_payments,
)
from .sepa import SepaFormatError, parse_camt054, parse_pain002

# pain.002 statuses that settle a collection
SETTLED = {'ACSC'}


class File(metaclass=PoolMeta):
    "Bank receipts and notifications among the collection files."
    __name__ = 'receivable.collection.file'

    @classmethod
    def _get_handlers(cls):
        "Read incoming pain.002 and camt.054 files."
        handlers = super()._get_handlers()
        handlers[('in', 'sepa_pain002')] = 'collection_import_pain002'
        handlers[('in', 'sepa_camt054')] = 'collection_import_camt054'
        return handlers

    def collection_parse(self, parser):
        "Parse the whole file; a format error names the file, line and field."
        try:
            return parser(bytes(self.data))
        except SepaFormatError as error:
            raise CollectionImportError(gettext(
                    'receivable_collection.msg_file_sepa_format',
                    file=self.rec_name, line=error.line, field=error.field,
                    message=error.message)) from error

    def collection_check_delivery(self, message_id):
        "Refuse a message of the bank already imported from another file."
        earlier = self.search([
                ('company', '=', self.company.id),
                ('direction', '=', 'in'),
                ('format', '=', self.format),
                ('delivery_id', '=', message_id),
                ('state', '=', 'done'),
                ('id', '!=', self.id),
                ], limit=1)
        if earlier:
            raise CollectionImportError(gettext(
                    'receivable_collection.msg_file_message_imported',
                    file=self.rec_name, message=message_id,
                    other=earlier[0].rec_name))

    # pain.002

    @classmethod
    def collection_import_pain002(cls, files):
        "Confirm or reject the collections the status reports name."
        pool = Pool()
        Payment = pool.get('account.payment')
        for file in files:
            report = file.collection_parse(parse_pain002)
            file.collection_check_delivery(report.message_id)
            with without_check_access():
                plan, problems = file._pain002_plan(report)
                file.check_problems(problems)
                Payment.collection_apply(plan, file)
            file.delivery_id = report.message_id
        cls.save(files)

    def _pain002_plan(self, report):
        "What the report does to each payment of its original message, and the problems."
        pool = Pool()
        Group = pool.get('account.payment.group')
        Payment = pool.get('account.payment')
        groups = Group.search([
                ('company', '=', self.company.id),
                ('kind', '=', 'receivable'),
                ['OR',
                    ('sepa_id', '=', report.original_message_id),
                    [('sepa_id', '=', None),
                        ('number', '=', report.original_message_id)],
                    ],
                ])
        if not groups:
            return [], [(report.line, gettext(
                        'receivable_collection.msg_pain002_unknown_message',
                        message=report.original_message_id))]
        payments = [p for g in groups for p in g.payments]
        Payment.lock(payments)
        by_e2e = {p.sepa_end_to_end_id: p for p in payments}
        problems = [
            (t.line, gettext(
                    'receivable_collection.msg_pain002_unknown_transaction',
                    e2e=t.original_end_to_end_id,
                    message=report.original_message_id))
            for t in report.transactions
            if t.original_end_to_end_id not in by_e2e
            and t.original_end_to_end_id != 'NOTPROVIDED']
        plan = []
        for payment in payments:
            outcome = report.status_of(
                payment.sepa_end_to_end_id, payment.sepa_info_id)
            if outcome.status is None:
                continue
            text = outcome.reason_text
            code = outcome.reason_code or outcome.status
            if outcome.rejected:
                if payment.state == 'failed':
                    continue
                if payment.state not in {'processing', 'succeeded'}:
                    problems.append((outcome.line, gettext(
                                'receivable_collection.msg_payment_state',
                                payment=payment.rec_name, state=payment.state)))
                    continue
                plan.append((payment, 'fail', code, text, None))
            elif outcome.status in SETTLED:
                if payment.state == 'processing':
                    plan.append((payment, 'succeed', code, text, None))
            elif payment.state == 'processing':
                plan.append((payment, 'note', code, text, None))
        return plan, problems

    # camt.054

    @classmethod
    def collection_import_camt054(cls, files):
        "Book the notified money: confirm, return or match, the rest to exceptions."
        pool = Pool()
        Payment = pool.get('account.payment')
        Exception_ = pool.get('receivable.collection.exception')
        for file in files:
            document = file.collection_parse(parse_camt054)
            file.collection_check_delivery(document.message_id)
            with without_check_access(), Transaction().set_context(
                    company=file.company.id):
                plan, exceptions, problems = file._camt054_plan(document)
                file.check_problems(problems)
                Payment.collection_apply(plan, file)
                Exception_.save(exceptions)
            file.delivery_id = document.message_id
        cls.save(files)

    def _camt054_plan(self, document):
        "The returns and matched payments of the notification, its exceptions and problems."
        pool = Pool()
        Payment = pool.get('account.payment')
        company = self.company
        plan, exceptions, problems = [], [], []
        transactions = {
            t.line: t for n in document.notifications for e in n.entries
            for t in e.transactions}

        returns = [
            t for n in document.notifications for e in n.entries
            if e.status == 'BOOK' for t in e.transactions
            if t.returned or (e.reversal and t.credit_debit == 'DBIT')]
        return_ids = [int(t.end_to_end_id) for t in returns
            if t.end_to_end_id and t.end_to_end_id.isdigit()]
        returned = {str(p.id): p for p in Payment.search([
                    ('id', 'in', return_ids),
                    ('company', '=', company.id),
                    ('kind', '=', 'receivable'),
                    ])} if return_ids else {}
        for transaction in returns:
            payment = returned.get(transaction.end_to_end_id)
            if not payment:
                problems.append((transaction.line, gettext(
                            'receivable_collection.msg_camt_unknown_return',
                            e2e=transaction.end_to_end_id or '')))
            elif payment.state != 'failed':
                plan.append((payment, 'fail',
                        transaction.return_reason_code or 'RTRN',
                        ' '.join(transaction.return_additional_info) or gettext(
                            'receivable_collection.msg_camt_returned'), None))

        incoming = incoming_from_camt054(document)
        parties = self._camt_payers(
            [transactions[i.line].debtor_iban for i in incoming
                if i.line in transactions])
        incoming = [
            dataclasses.replace(i, customer_number=parties[
                    transactions[i.line].debtor_iban].collection_number)
            if i.line in transactions
            and transactions[i.line].debtor_iban in parties else i
            for i in incoming]
        expected, records = Payment.collection_expected(company, incoming)
        tolerance = Payment.collection_tolerance(company)
        for match in match_payments(incoming, expected, tolerance):
            incoming_ = match.incoming
            payer = (parties.get(transactions[incoming_.line].debtor_iban)
                if incoming_.line in transactions else None)
            record = records.get(match.expected.key) if match.expected else None
            if match.kind == EXACT or (
                    match.kind == DIFFERENCE and match.within_tolerance):
                plan.append((record, 'receive', 'BOOK', match.reason,
                        (incoming_.amount, match.difference)))
            else:
                exceptions.append(self._camt_exception(
                        match, record, payer, records))
        return plan, exceptions, problems

    def _camt_payers(self, ibans):
        "The parties owning the IBANs the money came from, when only one does."
        pool = Pool()
        Number = pool.get('bank.account.number')
        ibans = {i for i in ibans if i}
        if not ibans:
            return {}
        owners = defaultdict(set)
        for number in Number.search([
                    ('type', '=', 'iban'),
                    ('number_compact', 'in', list(ibans)),
                    ]):
            for owner in number.account.owners:
                owners[number.number_compact].add(owner)
        return {iban: next(iter(o)) for iban, o in owners.items() if len(o) == 1}

    def _camt_exception(self, match, record, payer, records):
        "An exception to resolve by hand for a payment that cannot be posted."
        pool = Pool()
        Payment = pool.get('account.payment')
        exception = Payment.collection_exception(
            self.company, match, record, payer, records)
        exception.file = self
        exception.file_line = match.incoming.line
        return exception


class Payment(metaclass=PoolMeta):
    "Collections confirmed, returned and received from bank files."
    __name__ = 'account.payment'

    collection_difference = Monetary(
        "Collection Difference", currency='currency', digits='currency',
        readonly=True,
        states={
            'invisible': ~Eval('collection_difference'),
            },
        help="Received minus collected amount, written off within the tolerance.")

    @classmethod
    def collection_tolerance(cls, company):
        "The payment difference the company writes off instead of leaving open."
        pool = Pool()
        Configuration = pool.get('receivable.collection.configuration')
        return Tolerance(absolute=Configuration(1).get_multivalue(
                'collection_tolerance', company=company.id) or Decimal(0))

    @classmethod
    def collection_expected(cls, company, incoming):
        """The collections and open items the incoming payments may settle.

        Collections are found by end-to-end id; open items by the invoice
        numbers, references and payment ids in the remittance information and
        by the customers the money came from.  Used by the bank files and the
        bank statements."""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Party = pool.get('party.party')
        expected, records = [], {}
        ids = [int(i.end_to_end_id) for i in incoming
            if i.end_to_end_id and i.end_to_end_id.isdigit()]
        for payment in cls.search([
                    ('id', 'in', ids),
                    ('company', '=', company.id),
                    ('kind', '=', 'receivable'),
                    ('state', 'in', ['processing', 'succeeded']),
                    ]) if ids else []:
            key = ('payment', payment.id)
            records[key] = payment
            invoice = payment.collection_invoice
            expected.append(Expected(
                    key, payment.amount, payment.currency.code,
                    customer_number=payment.party.collection_number,
                    party_name=payment.party.rec_name,
                    references=tuple(filter(None, [
                                invoice.number if invoice else None,
                                payment.reference_used])),
                    end_to_end_id=payment.sepa_end_to_end_id,
                    already_paid=payment.state == 'succeeded'))
        words = {w.strip('.,;:()').upper() for i in incoming
            for w in (i.reference or '').split() if len(w) > 1}
        numbers = {i.customer_number for i in incoming if i.customer_number}
        domain = [
            ('company', '=', company.id),
            ('type', '=', 'out'),
            ('state', 'in', ['posted', 'paid']),
            ]
        alternatives = []
        if words:
            alternatives += [
                ('number', 'in', list(words)),
                ('customer_payment_reference', 'in', list(words)),
                ]
            alternatives += Invoice.collection_payment_id_domain(words)
        if numbers:
            parties = Party.search(['OR',
                    ('collection_customer_number', 'in', list(numbers)),
                    [('collection_customer_number', '=', None),
                        ('code', 'in', list(numbers))],
                    ])
            alternatives.append([
                    ('party', 'in', [p.id for p in parties]),
                    ('state', '=', 'posted'),
                    ])
        invoices = Invoice.search(
            domain + [['OR'] + alternatives]) if alternatives else []
        for invoice in invoices:
            references = tuple(filter(None, [
                        invoice.number, invoice.customer_payment_reference,
                        invoice.reference, *invoice.collection_payment_ids()]))
            party = invoice.party
            if invoice.state == 'paid':
                key = ('invoice', invoice.id)
                records[key] = invoice
                expected.append(Expected(
                        key, invoice.total_amount, invoice.currency.code,
                        customer_number=party.collection_number,
                        party_name=party.rec_name, references=references,
                        already_paid=True))
                continue
            for line in invoice.lines_to_pay:
                if line.reconciliation:
                    continue
                key = ('line', line.id)
                records[key] = line
                due = line.payment_amount or Decimal(0)
                expected.append(Expected(
                        key, abs(line.amount_second_currency or line.debit - line.credit),
                        line.payment_currency.code,
                        customer_number=party.collection_number,
                        party_name=party.rec_name, references=references,
                        already_paid=due <= 0, open_amount=max(due, Decimal(0))))
        return expected, records

    @classmethod
    def collection_exception(cls, company, match, record, payer, records):
        "An unsaved exception to resolve by hand for a payment that cannot be posted."
        pool = Pool()
        Exception_ = pool.get('receivable.collection.exception')
        MoveLine = pool.get('account.move.line')
        Currency = pool.get('currency.currency')
        incoming = match.incoming
        currency = Currency.search([('code', '=', incoming.currency)], limit=1)
        payment = record if isinstance(record, cls) else None
        line = record if isinstance(record, MoveLine) else (
            payment.line if payment else None)
        suggestions = []
        for suggestion in match.suggestions:
            suggested = records.get(suggestion.expected.key)
            suggestions.append(f'{getattr(suggested, "rec_name", "")}: '
                f'{suggestion.reason}')
        if line is None and match.suggestions:
            first = records.get(match.suggestions[0].expected.key)
            if isinstance(first, MoveLine):
                line = first
        return Exception_(
            company=company, kind=match.kind, date=incoming.date,
            amount=incoming.amount,
            currency=currency[0] if currency else None,
            reference=incoming.reference,
            end_to_end_id=incoming.end_to_end_id,
            customer_number=incoming.customer_number,
            debtor_name=incoming.debtor_name,
            party=payer or (line.party if line else None),
            payment=payment, line=line, difference=match.difference,
            reason=match.reason, suggestions='\n'.join(suggestions) or None,
            state='open')

    @classmethod
    def collection_apply(cls, plan, file):
        """Apply (record, action, code, text, amounts) in one go and log each.

        Actions: 'fail' (rejected or returned), 'succeed' (settled), 'note'
        (only logged), 'receive' (money booked: a collection succeeds, an open
        line gets a payment in the receipt journal; a difference within the
        tolerance is written off)."""
        pool = Pool()
        Event = pool.get('receivable.collection.journal.event')
        Journal = pool.get('receivable.collection.journal')
        to_fail, to_succeed, events, writes = [], [], [], []
        receipts = []
        for record, action, code, text, amounts in plan:
            if action == 'receive':
                receipts.append((record, code, text, amounts))
                continue
            payment = record
            if action == 'fail':
                to_fail.append(payment)
                writes.extend(([payment], {
                            'sepa_return_reason_code': code[:4] if code else None,
                            'sepa_return_reason_information': text,
                            }))
            elif action == 'succeed':
                to_succeed.append(payment)
            if payment.collection_journal:
                events.append(Journal.new_event(
                        payment.collection_journal,
                        'rejection' if action == 'fail' else 'receipt',
                        text, payment=payment, file=file, code=code))
        if writes:
            cls.write(*writes)
        if to_fail:
            cls.fail(to_fail)
        if to_succeed:
            cls.succeed(to_succeed)
        if receipts:
            events.extend(cls.collection_receive(receipts, file))
        Event.save(events)

    @classmethod
    def collection_receive(cls, receipts, file):
        "Post money received for collections and open lines; return the log events."
        pool = Pool()
        Journal = pool.get('receivable.collection.journal')
        MoveLine = pool.get('account.move.line')
        new = [(record, amount - difference) for record, _, _, (amount, difference)
            in receipts if isinstance(record, MoveLine)]
        created = dict(zip(
                [r for r, _ in new],
                cls.collection_receipt_payments(file.company, [
                        (r.party, amount, r) for r, amount in new])))
        to_succeed, differences, events = [], [], []
        for record, code, text, (_received, difference) in receipts:
            payment = created.get(record, record)
            if payment.state != 'processing':
                continue
            to_succeed.append(payment)
            if difference:
                differences.append((payment, difference))
            if payment.collection_journal:
                events.append(Journal.new_event(
                        payment.collection_journal, 'payment', text,
                        payment=payment, file=file, code=code))
        if to_succeed:
            cls.succeed(to_succeed)
        cls.collection_write_off(file.company, differences)
        return events

    @classmethod
    def collection_receipt_payments(cls, company, items):
        """Processing payments in the receipt journal for (party, amount, line).

        A payment without line is booked on the party's receivable account
        (money kept on account)."""
        pool = Pool()
        Configuration = pool.get('receivable.collection.configuration')
        Group = pool.get('account.payment.group')
        Date = pool.get('ir.date')
        if not items:
            return []
        journal = Configuration(1).get_multivalue(
            'collection_receipt_journal', company=company.id)
        if not journal:
            raise CollectionImportError(gettext(
                    'receivable_collection.msg_no_receipt_journal',
                    company=company.rec_name))
        with Transaction().set_context(company=company.id):
            today = Date.today()
        payments = []
        for party, amount, line in items:
            payment = cls(
                company=company, journal=journal, kind='receivable',
                party=party, line=line, amount=amount, date=today,
                state='draft')
            if line is None:
                payment.account = party.account_receivable_used
            payments.append(payment)
        cls.save(payments)
        cls.submit(payments)
        group = Group(company=company, journal=journal, kind='receivable')
        group.save()
        cls.process(payments, lambda: group)
        return cls.browse(payments)

    @classmethod
    def collection_write_off(cls, company, differences):
        "Post the differences between received and collected amounts on the clearing account."
        pool = Pool()
        Configuration = pool.get('receivable.collection.configuration')
        Move = pool.get('account.move')
        Line = pool.get('account.move.line')
        Period = pool.get('account.period')
        Date = pool.get('ir.date')
        if not differences:
            return []
        write_off = Configuration(1).get_multivalue(
            'collection_write_off', company=company.id)
        if not write_off:
            raise CollectionImportError(gettext(
                    'receivable_collection.msg_no_write_off',
                    company=company.rec_name))
        today = Date.today()
        moves = []
        for payment, difference in differences:
            clearing = payment.journal.clearing_account
            amount = abs(difference)
            if difference < 0:
                lines = [
                    Line(account=write_off.debit_account, debit=amount, credit=0),
                    Line(account=clearing, debit=0, credit=amount),
                    ]
            else:
                lines = [
                    Line(account=clearing, debit=amount, credit=0),
                    Line(account=write_off.credit_account, debit=0, credit=amount),
                    ]
            for line in lines:
                if line.account.party_required:
                    line.party = payment.party
            moves.append(Move(
                    company=company, journal=write_off.journal,
                    period=Period.find(company, date=today), date=today,
                    origin=payment, description=payment.rec_name, lines=lines))
        Move.save(moves)
        Move.post(moves)
        cls.write(*[a for payment, difference in differences
                for a in ([payment], {'collection_difference': difference})])
        return moves
