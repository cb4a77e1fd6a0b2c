# This file is part of receivable_collection_nets.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and
# license terms.
"Nets Betalingsservice on payment journals, payments and groups."
import datetime as dt
from collections import defaultdict
from contextvars import ContextVar
from decimal import Decimal
from operator import attrgetter

from trytond import backend
from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, Id
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

from .betalingsservice import (
    CUSTOMER_WIDTH,
    TEXT_WIDTH,
    CollectionOrder,
    CreditorSection,
    Debtor,
    ExportError,
    FormatError,
    build_0601,
    fit_text_lines,
    normalise_customer_number,
    to_latin1,
)
from .betalingsservice.replies import CANCELLED, COMPLETED, REJECTED, REVERSED
from .exceptions import NetsAgreementError, NetsExportError

_NETS = Eval('process_method') == 'nets_bs'
_STATES = {'required': _NETS, 'invisible': ~_NETS}

# field name -> number of digits Nets requires
NETS_DIGITS = {
    'nets_data_supplier': 8,
    'nets_creditor_number': 8,
    'nets_debtor_group': 5,
    'nets_bank_code': 4,
    'nets_bank_account': 10,
    }
# the delivery identification of BS002 (positions 021-030)
DELIVERY_ID_DIGITS = 10
# Betalingsservice collects Danish kroner only
NETS_CURRENCY = 'DKK'
# sections whose collections need the debtor's name and address (BS022)
NETS_DEBTOR_SECTIONS = {'0117', '0118'}
# 0602 status -> (payment states it applies to, transition, resulting state)
NETS_REPLY_TRANSITIONS = {
    COMPLETED: ({'processing'}, 'succeed', 'succeeded'),
    REJECTED: ({'processing'}, 'fail', 'failed'),
    CANCELLED: ({'processing'}, 'fail', 'failed'),
    REVERSED: ({'processing', 'succeeded'}, 'fail', 'failed'),
    }
# (mandates by party, first payment of each party, notifications) while a
# journal is checked
_CHECKING = ContextVar('nets_collection_check', default=None)


class Journal(metaclass=PoolMeta):
    "Payment journal carrying a Nets Betalingsservice agreement."
    __name__ = 'account.payment.journal'

    nets_data_supplier = fields.Char(
        "Data Supplier CVR", size=8, states=_STATES,
        help="The 8-digit CVR number of whoever sends the files to Nets.")
    nets_subsystem = fields.Char(
        "Subsystem", size=3, states=_STATES,
        help="The subsystem agreed with Nets, BS1 as standard.")
    nets_creditor_number = fields.Char(
        "PBS Number", size=8, states=_STATES,
        help="The creditor's 8-digit number at Nets.")
    nets_debtor_group = fields.Char(
        "Debtor Group", size=5, states=_STATES,
        help="The 5-digit debtor group the collections are sent under.")
    nets_section = fields.Selection([
            (None, ''),
            ('0112', "0112 Automatic payments"),
            ('0117', "0117 FI card, short deadline"),
            ], "Section", states=_STATES, sort=False,
        help="The section of the 0601 delivery the collections go in.")
    nets_bank_code = fields.Char(
        "Settlement Registration Number", size=4, states=_STATES,
        help="The bank registration number the section settles to.")
    nets_bank_account = fields.Char(
        "Settlement Account Number", size=10, states=_STATES,
        help="The account number the section settles to.")
    nets_delivery_sequence = fields.Many2One(
        'ir.sequence', "Delivery Sequence", states=_STATES,
        domain=[
            ('sequence_type', '=',
                Id('receivable_collection_nets', 'sequence_type_nets_delivery')),
            ('company', 'in', [Eval('company', -1), None]),
            ],
        help="Numbers the deliveries sent to Nets: a running number of at most "
        "10 digits per data supplier, never reused.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        method = ('nets_bs', "Nets Betalingsservice")
        if method not in cls.process_method.selection:
            cls.process_method.selection.append(method)

    @classmethod
    def default_nets_subsystem(cls):
        "Nets' standard subsystem."
        return 'BS1'

    @classmethod
    def default_nets_section(cls):
        "Ordinary automatic-payment collections."
        return '0112'

    @classmethod
    def validate_fields(cls, journals, field_names):
        "Check the agreement numbers have the digits Nets requires."
        super().validate_fields(journals, field_names)
        for journal in journals:
            for name, digits in NETS_DIGITS.items():
                value = getattr(journal, name)
                if value and not (value.isdigit() and len(value) == digits):
                    raise NetsAgreementError(gettext(
                            'receivable_collection_nets.msg_agreement_digits',
                            journal=journal.rec_name,
                            field=getattr(cls, name).string,
                            digits=digits, value=value))

    def nets_next_delivery_id(self):
        "Take the next delivery identification from the journal's sequence."
        value = self.nets_delivery_sequence.get()
        if not (value.isascii() and value.isdigit()
                and len(value) <= DELIVERY_ID_DIGITS and int(value)):
            raise NetsExportError(gettext(
                    'receivable_collection_nets.msg_delivery_id',
                    journal=self.rec_name, value=value,
                    sequence=self.nets_delivery_sequence.rec_name))
        return int(value)


class Payment(metaclass=PoolMeta):
    "Payments collected through Nets Betalingsservice."
    __name__ = 'account.payment'

    nets_status = fields.Selection([
            (None, ''),
            (COMPLETED, "Completed"),
            (REJECTED, "Rejected"),
            (CANCELLED, "Cancelled"),
            (REVERSED, "Reversed"),
            ], "Nets Status", readonly=True, sort=False,
        states={
            'invisible': Eval('process_method') != 'nets_bs',
            },
        help="What Nets last reported on the collection (delivery 0602).")
    nets_reason = fields.Char(
        "Nets Reason", readonly=True,
        states={
            'invisible': ~Eval('nets_reason'),
            },
        help="The transaction code and meaning of the last Nets report.")

    @classmethod
    def copy(cls, payments, default=None):
        "A copy has no Nets report."
        default = default.copy() if default is not None else {}
        default.setdefault('nets_status', None)
        default.setdefault('nets_reason', None)
        return super().copy(payments, default=default)

    @classmethod
    def process_method_with_group(cls):
        "Nets payments are processed as a group: one delivery per group."
        return super().process_method_with_group() + ['nets_bs']

    @classmethod
    def nets_plan_0602(cls, company, events):
        """Match the 0602 events to the collections without changing anything.

        A collection is the payments of one group merged into one 0601 record:
        same journal, party (through the mandate of the customer number) and
        date, and their amounts add up to the event's amount.
        Return the plan for nets_apply_0602 and the problems as (line, text).
        Events naming an unknown customer number, or an amount that differs
        from the collection, are not problems: the plan queues them as
        (event, kind, text) for the exception queue, never posted."""
        pool = Pool()
        Mandate = pool.get('receivable.collection.nets.mandate')
        journals = Mandate.nets_journals(company, events)
        found = Mandate.nets_find(
            {j for js in journals.values() for j in js},
            {e.customer_number for e in events})
        mandates = [m for ms in found.values() for m in ms]
        payments = []
        dates = list({e.payment_date for e in events if e.payment_date})
        if mandates and dates:
            payments = cls.search([
                    ('company', '=', company.id),
                    ('kind', '=', 'receivable'),
                    ('journal', 'in', list({m.journal.id for m in mandates})),
                    ('party', 'in', list({m.party.id for m in mandates})),
                    ('date', 'in', dates),
                    ('state', 'in', ['processing', 'succeeded', 'failed']),
                    ], order=[('group', 'ASC'), ('id', 'ASC')])
            cls.lock(payments)
        collections = defaultdict(lambda: defaultdict(list))
        for payment in payments:
            collections[(payment.journal, payment.party, payment.date)][
                payment.group].append(payment)
        state = {p: (p.state, p.nets_status) for p in payments}
        transitions = defaultdict(list)
        reasons = {}
        applied, queued = [], []
        problems = []
        for event in events:
            problem = cls._nets_check_event(event)
            if problem:
                problems.append((event.line, problem))
                continue
            key_mandates, problem = Mandate.nets_named_by(event, journals, found)
            if problem:
                if (event.pbs_number, event.debtor_group) in journals:
                    queued.append((event, 'unmatched', problem))
                else:
                    problems.append((event.line, problem))
                continue
            groups = {}
            for mandate in key_mandates:
                groups.update(collections.get(
                        (mandate.journal, mandate.party, event.payment_date), {}))
            sources, transition, target = NETS_REPLY_TRANSITIONS[event.status]
            open_, done, amounts = None, None, []
            for group_payments in groups.values():
                states = {state[p] for p in group_payments}
                amount = sum(p.amount for p in group_payments)
                if all(s in sources for s, _ in states):
                    amounts.append(amount)
                    if amount == event.amount and open_ is None:
                        open_ = group_payments
                elif states == {(target, event.status)} and amount == event.amount:
                    done = group_payments
            if open_ is not None:
                for payment in open_:
                    if state[payment][0] != target:
                        transitions[payment].append(transition)
                    state[payment] = (target, event.status)
                    reasons[payment] = (
                        f'{event.transaction_code} {event.meaning}')
                    applied.append((payment, event))
            elif done is not None:
                # already applied from an earlier delivery
                continue
            elif amounts:
                lang = pool.get('ir.lang').get()
                queued.append((event, 'difference', gettext(
                            'receivable_collection_nets.msg_0602_amount',
                            amount=lang.format_number(event.amount, digits=2),
                            amounts=', '.join(
                                lang.format_number(a, digits=2) for a in amounts),
                            customer=event.raw_customer_number.strip())))
            else:
                queued.append((event, 'unmatched', gettext(
                            'receivable_collection_nets.msg_0602_no_collection',
                            customer=event.raw_customer_number.strip(),
                            date=event.payment_date,
                            code=event.transaction_code,
                            status=event.meaning)))
        return (transitions, state, reasons, applied, queued), problems

    @classmethod
    def _nets_check_event(cls, event):
        "Return the problem of a 0602 event that cannot be a collection, if any."
        if event.sign_code != 1:
            return gettext(
                'receivable_collection_nets.msg_0602_sign_code',
                sign=event.sign_code)
        if not event.payment_date:
            return gettext('receivable_collection_nets.msg_0602_no_date')
        if event.status == COMPLETED and event.paid_amount != event.amount:
            return gettext(
                'receivable_collection_nets.msg_0602_paid_amount',
                paid=event.paid_amount, amount=event.amount)

    @classmethod
    def nets_apply_0602(cls, plan):
        "Record the Nets status and reason, then succeed and fail the payments."
        transitions, state, reasons, _, _ = plan
        args = []
        for payment, reason in reasons.items():
            status = state[payment][1]
            if (payment.nets_status, payment.nets_reason) != (status, reason):
                args.extend(([payment], {
                            'nets_status': status,
                            'nets_reason': reason,
                            }))
        to_succeed = [p for p, t in transitions.items() if 'succeed' in t]
        to_fail = [p for p, t in transitions.items() if t[-1] == 'fail']
        if args:
            cls.write(*args)
        if to_succeed:
            cls.succeed(to_succeed)
        if to_fail:
            cls.fail(to_fail)

    @classmethod
    def nets_log_0602(cls, plan, file):
        "Write each 0602 event the plan applied on the payment's journal transaction log."
        pool = Pool()
        Journal = pool.get('receivable.collection.journal')
        Event = pool.get('receivable.collection.journal.event')
        Lang = pool.get('ir.lang')
        lang = Lang.get()
        _, _, _, applied, _ = plan
        events = []
        for payment, event in applied:
            journal = payment.collection_journal
            if not journal:
                continue
            kind = 'receipt' if event.status == COMPLETED else 'rejection'
            text = gettext(
                'receivable_collection_nets.msg_journal_0602_log',
                status=dict(cls.nets_status.selection)[event.status],
                payment=payment.rec_name, party=payment.party.rec_name,
                amount=lang.currency(payment.amount, payment.currency),
                date=lang.strftime(event.payment_date),
                code=event.transaction_code, reason=event.meaning,
                file=file.rec_name, line=event.line)
            events.append(Journal.new_event(
                    journal, kind, text, payment=payment, file=file,
                    code=event.transaction_code))
        Event.save(events)
        return events

    @classmethod
    def collection_check(cls, journal, payments, today):
        "Read the Nets mandates of all the journal's customers at once for the checks."
        if journal.payment_journal.process_method != 'nets_bs':
            return super().collection_check(journal, payments, today)
        first = {}
        for payment in sorted(payments, key=lambda p: (p.date, p.id)):
            first.setdefault(payment.party, payment)
        token = _CHECKING.set((
                cls.nets_candidate_mandates(journal.payment_journal, first),
                set(first.values()), cls.nets_notifications(payments)))
        try:
            return super().collection_check(journal, payments, today)
        finally:
            _CHECKING.reset(token)

    @classmethod
    def nets_candidate_mandates(cls, journal, parties):
        "Map each party to its mandates on the journal, the newest first."
        pool = Pool()
        Mandate = pool.get('receivable.collection.nets.mandate')
        result = defaultdict(list)
        party_ids = [p.id for p in parties]
        for sub_ids in grouped_slice(party_ids, backend.MAX_QUERY_PARAMS):
            for mandate in Mandate.search([
                        ('journal', '=', journal.id),
                        ('party', 'in', list(sub_ids)),
                        ], order=[('start_date', 'DESC NULLS LAST'), ('id', 'DESC')]):
                result[mandate.party].append(mandate)
        return result

    @classmethod
    def _collection_numbered_methods(cls):
        "Nets mandates carry the customer number Nets sees."
        return super()._collection_numbered_methods() | {'nets_bs'}

    def _collection_problems_nets_bs(self, journal, today):
        "Yield the Nets problems: DKK, an active mandate on the date, its customer number."
        name = self.rec_name
        party = self.party
        if self.currency and self.currency.code != NETS_CURRENCY:
            yield 'error', 'currency', gettext(
                'receivable_collection_nets.msg_check_nets_currency',
                payment=name, currency=self.currency.code, expected=NETS_CURRENCY)
        checking = _CHECKING.get()
        if checking is None:
            checking = (
                self.nets_candidate_mandates(journal.payment_journal, [party]),
                {self}, self.nets_notifications([self]))
        mandates, firsts, notifications = checking
        mandates = mandates.get(party, [])
        date = self.date or today
        mandate = next(
            (m for m in mandates if m.state == 'active' and m.covers(date)), None)
        if not mandate:
            if mandates:
                yield 'error', 'mandate', gettext(
                    'receivable_collection_nets.msg_check_nets_mandate_date',
                    payment=name, party=party.rec_name, date=date,
                    mandates=', '.join(
                        f'{m.customer_number} ({m.state})' for m in mandates))
            else:
                yield 'error', 'mandate', gettext(
                    'receivable_collection_nets.msg_check_nets_mandate',
                    payment=name, party=party.rec_name,
                    journal=journal.payment_journal.rec_name)
            return
        number = mandate.customer_number or ''
        written = to_latin1(number.strip().upper())
        if written != number or len(written) > CUSTOMER_WIDTH:
            yield 'error', 'customer_number', gettext(
                'receivable_collection_nets.msg_check_nets_customer_number',
                payment=name, mandate=mandate.rec_name, number=number,
                written=written, size=CUSTOMER_WIDTH)
        elif party.collection_number and (
                normalise_customer_number(party.collection_number.upper())
                != normalise_customer_number(number)):
            yield 'warning', 'customer_number', gettext(
                'receivable_collection_nets.msg_check_nets_customer_other',
                payment=name, party=party.rec_name, number=number,
                own=party.collection_number)
        notification = None
        if self in firsts:
            notification = notifications.get((self.collection_journal, party))
        if notification:
            long_lines = [
                n for n, line in enumerate(notification.lines, 1)
                if len(to_latin1(line)) > TEXT_WIDTH]
            if long_lines:
                yield 'warning', 'text', gettext(
                    'receivable_collection_nets.msg_check_nets_text_width',
                    payment=name, party=party.rec_name,
                    lines=', '.join(map(str, long_lines[:10])),
                    width=TEXT_WIDTH)

    @classmethod
    def nets_notifications(cls, payments):
        "Map (collection journal, party) of the payments to the customer's notification."
        pool = Pool()
        Notification = pool.get('receivable.collection.notification')
        journals = list({p.collection_journal.id for p in payments
                if p.collection_journal})
        result = {}
        for sub_ids in grouped_slice(journals, backend.MAX_QUERY_PARAMS):
            for notification in Notification.search([
                        ('journal', 'in', list(sub_ids)),
                        ]):
                result[(notification.journal, notification.party)] = notification
        return result

    @property
    def nets_reference(self):
        "The creditor's reference sent to Nets: the invoice number first."
        invoice = self.collection_invoice
        if invoice and invoice.number:
            return invoice.number
        return self.reference_used or self.number

    @property
    def nets_text(self):
        "The notification line: the invoice number with the payment's reference."
        invoice = self.collection_invoice
        reference = self.nets_reference
        description = self.reference or (invoice.description if invoice else None)
        if description and description != reference:
            return f'{reference} {description}'
        return reference

    def nets_debtor(self):
        "The debtor's name and invoice address for the Nets debtor records."
        address = self.party.address_get(type='invoice')
        if not address:
            return Debtor((self.party.full_name,))
        country = address.country.code if address.country else ''
        lines = [address.party_full_name]
        lines.extend(
            line.strip() for line in (address.street or '').splitlines()
            if line.strip())
        postcode = ''
        if country in {'', 'DK'}:
            postcode = address.postal_code or ''
        else:
            lines.append(' '.join(filter(None, [
                            address.postal_code, address.city])))
        return Debtor(tuple(lines[:5]), postcode=postcode, country=country)


class Group(metaclass=PoolMeta):
    "Payment groups sent to Nets as 0601 deliveries."
    __name__ = 'account.payment.group'

    nets_files = fields.One2Many(
        'receivable.collection.file', 'origin', "Nets Files", readonly=True,
        domain=[
            ('company', '=', Eval('company', -1)),
            ],
        states={
            'invisible': ~Eval('nets_files'),
            })

    @classmethod
    def copy(cls, groups, default=None):
        "A copy has not been sent to Nets."
        default = default.copy() if default is not None else {}
        default.setdefault('nets_files', None)
        return super().copy(groups, default=default)

    def process_nets_bs(self):
        "Write the group's payments as a 0601 delivery and store it as a file."
        pool = Pool()
        File = pool.get('receivable.collection.file')
        assert self.process_method == 'nets_bs'
        payments = sorted(self.payments, key=attrgetter('date', 'id'))
        self.nets_check_payments(payments)
        with without_check_access():
            mandates = self.nets_mandates(payments)
            file = self.nets_file(payments, mandates)
            File.save([file])

    def nets_check_payments(self, payments):
        "Refuse payments that Nets cannot collect: payouts and other currencies."
        for payment in payments:
            if payment.kind != 'receivable':
                raise NetsExportError(gettext(
                        'receivable_collection_nets.msg_payment_kind',
                        payment=payment.rec_name))
            if payment.currency.code != NETS_CURRENCY:
                raise NetsExportError(gettext(
                        'receivable_collection_nets.msg_payment_currency',
                        payment=payment.rec_name,
                        currency=payment.currency.code,
                        expected=NETS_CURRENCY))

    def nets_mandates(self, payments):
        "Lock and return the active mandate of each payment, in the same order."
        pool = Pool()
        Mandate = pool.get('receivable.collection.nets.mandate')
        Party = pool.get('party.party')
        candidates = Mandate.search([
                ('journal', '=', self.journal.id),
                ('party', 'in', list({p.party.id for p in payments})),
                ('state', '=', 'active'),
                ], order=[('start_date', 'DESC NULLS LAST'), ('id', 'DESC')])
        Mandate.lock(candidates)
        by_party = defaultdict(list)
        for mandate in candidates:
            by_party[mandate.party].append(mandate)
        mandates = []
        for payment in payments:
            for mandate in by_party[payment.party]:
                if mandate.covers(payment.date):
                    break
            else:
                raise NetsExportError(gettext(
                        'receivable_collection_nets.msg_payment_no_mandate',
                        payment=payment.rec_name,
                        party=payment.party.rec_name,
                        journal=self.journal.rec_name,
                        date=payment.date,
                        field=Party.nets_mandates.string))
            mandates.append(mandate)
        return mandates

    def nets_orders(self, payments, mandates):
        "Merge the payments per mandate and date into collection orders."
        grouped = defaultdict(list)
        for payment, mandate in zip(payments, mandates):
            grouped[(mandate, payment.date)].append(payment)
        debtor = self.journal.nets_section in NETS_DEBTOR_SECTIONS
        Payment = Pool().get('account.payment')
        notifications = Payment.nets_notifications(payments)
        notified = set()
        orders = []
        for (mandate, date), key_payments in grouped.items():
            texts = tuple(p.nets_text for p in key_payments)
            first = key_payments[0]
            notification = notifications.get(
                (first.collection_journal, first.party))
            if notification and notification not in notified:
                # the customer's notification goes with the first collection
                notified.add(notification)
                texts = fit_text_lines(notification.lines) or texts
            orders.append((CollectionOrder(
                        mandate.customer_number, date,
                        sum((p.amount for p in key_payments), Decimal(0)),
                        mandate_number=mandate.mandate_number or '',
                        reference=' '.join(p.nets_reference for p in key_payments),
                        texts=texts,
                        debtor=key_payments[0].nets_debtor() if debtor else None),
                    key_payments))
        return orders

    def nets_section(self, orders):
        "The 0601 section of the journal's agreement holding the orders."
        journal = self.journal
        return CreditorSection(
            journal.nets_creditor_number, int(journal.nets_debtor_group),
            tuple(orders), section=journal.nets_section,
            bank_reg=journal.nets_bank_code or '',
            bank_account=journal.nets_bank_account or '')

    def nets_file(self, payments, mandates):
        "Build the 0601 delivery of the payments as an unsaved outgoing file."
        pool = Pool()
        Date = pool.get('ir.date')
        File = pool.get('receivable.collection.file')
        journal = self.journal
        with Transaction().set_context(company=self.company.id):
            today = Date.today()
        orders = self.nets_orders(payments, mandates)
        delivery_id = journal.nets_next_delivery_id()
        self.nets_check_delivery_id(delivery_id)
        try:
            data = build_0601(
                journal.nets_data_supplier, delivery_id,
                [self.nets_section([o for o, _ in orders])],
                created=today, subsystem=journal.nets_subsystem,
                now=dt.datetime.combine(today, dt.time()))
        except (ExportError, FormatError) as error:
            raise self._nets_export_error(error, orders) from error
        delivery = f'{delivery_id:0{DELIVERY_ID_DIGITS}d}'
        return File(
            company=self.company, direction='out', format='nets_0601',
            filename=f'BS0601-{delivery}.txt', data=data, delivery_id=delivery,
            state='waiting', origin=self)

    def nets_check_delivery_id(self, delivery_id):
        "Refuse a delivery identification already sent for the data supplier."
        pool = Pool()
        File = pool.get('receivable.collection.file')
        delivery = f'{delivery_id:0{DELIVERY_ID_DIGITS}d}'
        files = File.search([
                ('direction', '=', 'out'),
                ('format', '=', 'nets_0601'),
                ('delivery_id', '=', delivery),
                ('origin.journal.nets_data_supplier', '=',
                    self.journal.nets_data_supplier, 'account.payment.group'),
                ], limit=1)
        if files:
            file, = files
            raise NetsExportError(gettext(
                    'receivable_collection_nets.msg_delivery_id_used',
                    delivery=delivery, file=file.rec_name,
                    supplier=self.journal.nets_data_supplier,
                    sequence=self.journal.nets_delivery_sequence.rec_name))

    def _nets_export_error(self, error, orders):
        "Turn a codec error into a user error naming the payment, party and field."
        field = getattr(error, 'field', None) or ''
        message = getattr(error, 'message', None) or str(error)
        customer = getattr(error, 'customer_number', None)
        for order, payments in orders:
            if customer is not None and order.customer_number == customer:
                payment = payments[0]
                if error.reference:
                    payment = next(
                        (p for p in payments
                            if p.nets_reference == error.reference), payment)
                return NetsExportError(gettext(
                        'receivable_collection_nets.msg_payment_export',
                        payment=payment.rec_name, party=payment.party.rec_name,
                        field=field, message=message))
        return NetsExportError(gettext(
                'receivable_collection_nets.msg_journal_export',
                journal=self.journal.rec_name, field=field, message=message))
