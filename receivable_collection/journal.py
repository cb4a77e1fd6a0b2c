# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""The collection journal (opkrævningskladde) over Tryton's payments.

A journal collects the open receivables of the customers of one agreement
(an account.payment.journal with its process method): propose → validate
(error log) → export (a payment group processed by its method, the file kept
as a receivable.collection.file) → receipts and payments come back on the
payments → closed."""
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sql import Null
from sql.aggregate import Count, Sum
from sql.conditionals import Coalesce
from trytond import backend
from trytond.i18n import gettext
from trytond.model import DeactivableMixin, Index, ModelSQL, ModelView, Unique, Workflow, fields
from trytond.model.exceptions import AccessError
from trytond.modules.company.model import employee_field, set_employee
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, If
from trytond.tools import grouped_slice, sqlite_apply_types
from trytond.transaction import Transaction

from .exceptions import CollectionJournalError

_DRAFT = {'readonly': Eval('state') != 'draft'}
SEVERITIES = [
    ('error', "Error"),
    ('warning', "Warning"),
    ]
EVENT_KINDS = [
    ('propose', "Proposal"),
    ('validate', "Validation"),
    ('notify', "Notification"),
    ('export', "Export"),
    ('receipt', "Receipt"),
    ('rejection', "Rejection"),
    ('payment', "Payment"),
    ('exception', "Exception"),
    ('post', "Posting"),
    ('close', "Closing"),
    ]


class Journal(Workflow, ModelSQL, ModelView):
    "Collection journal: the open receivables collected through one agreement."
    __name__ = 'receivable.collection.journal'

    name = fields.Char("Name", required=True, states=_DRAFT)
    company = fields.Many2One(
        'company.company', "Company", required=True,
        states={
            'readonly': (Eval('state') != 'draft') | Eval('payments', [0]),
            })
    payment_journal = fields.Many2One(
        'account.payment.journal', "Agreement", required=True,
        domain=[
            ('company', '=', Eval('company', -1)),
            ],
        states={
            'readonly': (Eval('state') != 'draft') | Eval('payments', [0]),
            },
        help="The payment journal whose process method collects the payments "
        "(Nets Betalingsservice, SEPA direct debit ...).")
    process_method = fields.Function(fields.Selection(
            'get_process_methods', "Process Method"),
        'on_change_with_process_method')
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"),
        'on_change_with_currency')
    date = fields.Date(
        "Collection Date", required=True, states=_DRAFT,
        help="The earliest date the payments are collected on; "
        "an item due later is collected on its due date.")
    horizon = fields.Date(
        "Due Until", required=True, states=_DRAFT,
        domain=[
            If(Bool(Eval('date')) & Bool(Eval('horizon')),
                ('horizon', '>=', Eval('date')),
                ()),
            ],
        help="Propose the items due up to this date.")
    template = fields.Many2One(
        'receivable.collection.template', "Notification Template",
        domain=[
            ('company', 'in', [Eval('company', -1), None]),
            ],
        states=_DRAFT,
        help="How the notification text sent to the customers is built.")
    payments = fields.One2Many(
        'account.payment', 'collection_journal', "Payments",
        domain=[
            ('company', '=', Eval('company', -1)),
            ('journal', '=', Eval('payment_journal', -1)),
            ('kind', '=', 'receivable'),
            ],
        states={
            'readonly': ((Eval('state') != 'draft')
                | ~Eval('payment_journal')),
            })
    notifications = fields.One2Many(
        'receivable.collection.notification', 'journal', "Notifications",
        states={
            'readonly': ~Eval('state').in_(['draft', 'validated']),
            })
    errors = fields.One2Many(
        'receivable.collection.journal.error', 'journal', "Error Log",
        states={
            'readonly': Eval('state') != 'draft',
            })
    events = fields.One2Many(
        'receivable.collection.journal.event', 'journal', "Transaction Log",
        readonly=True)
    group = fields.Many2One(
        'account.payment.group', "Payment Group", readonly=True,
        domain=[
            ('company', '=', Eval('company', -1)),
            ])
    files = fields.Function(fields.Many2Many(
            'receivable.collection.file', None, None, "Files"),
        'get_files')
    payment_count = fields.Function(
        fields.Integer("Payments"), 'get_totals')
    total_amount = fields.Function(Monetary(
            "Total", currency='currency', digits='currency'),
        'get_totals')
    error_count = fields.Function(
        fields.Integer("Errors"), 'get_totals')
    validated_by = employee_field(
        "Validated by", states=['validated', 'exported', 'closed'])
    exported_by = employee_field("Exported by", states=['exported', 'closed'])
    state = fields.Selection([
            ('draft', "Draft"),
            ('validated', "Validated"),
            ('exported', "Exported"),
            ('closed', "Closed"),
            ], "State", readonly=True, required=True, sort=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('name_unique', Unique(t, t.company, t.name),
                'receivable_collection.msg_journal_name_unique'),
            ]
        cls._sql_indexes.add(
            Index(
                t, (t.state, Index.Equality(cardinality='low')),
                where=t.state.in_(['draft', 'validated', 'exported'])))
        cls._order.insert(0, ('date', 'DESC'))
        cls._transitions |= {
            ('draft', 'validated'),
            ('validated', 'draft'),
            ('validated', 'exported'),
            ('exported', 'closed'),
            }
        cls._buttons.update({
                'propose': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-refresh',
                    'depends': ['state'],
                    },
                'notify': {
                    'invisible': ~Eval('state').in_(['draft', 'validated']),
                    'icon': 'tryton-email',
                    'depends': ['state'],
                    },
                'validate_journal': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'draft': {
                    'invisible': Eval('state') != 'validated',
                    'icon': 'tryton-back',
                    'depends': ['state'],
                    },
                'export': {
                    'invisible': Eval('state') != 'validated',
                    'icon': 'tryton-launch',
                    'depends': ['state'],
                    },
                'close': {
                    'invisible': Eval('state') != 'exported',
                    'icon': 'tryton-close',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_company(cls):
        "The company of the context."
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        "New journals start in draft."
        return 'draft'

    @classmethod
    def default_date(cls):
        "Collect from today on."
        return Pool().get('ir.date').today()

    @classmethod
    def default_horizon(cls, **pattern):
        "Today plus the company's collection horizon."
        pool = Pool()
        Configuration = pool.get('receivable.collection.configuration')
        Date = pool.get('ir.date')
        company = pattern.get('company', cls.default_company())
        days = Configuration(1).get_multivalue(
            'collection_horizon', company=company) if company else None
        return Date.today() + dt.timedelta(days=days or 0)

    @classmethod
    def get_process_methods(cls):
        "The process methods of the payment journals."
        pool = Pool()
        PaymentJournal = pool.get('account.payment.journal')
        return PaymentJournal.fields_get(['process_method'])[
            'process_method']['selection']

    @fields.depends('payment_journal')
    def on_change_with_process_method(self, name=None):
        "The process method of the agreement."
        if self.payment_journal:
            return self.payment_journal.process_method

    @fields.depends('payment_journal')
    def on_change_with_currency(self, name=None):
        "The currency of the agreement."
        if self.payment_journal:
            return self.payment_journal.currency.id

    def get_files(self, name):
        "The files sent and received for the journal."
        pool = Pool()
        File = pool.get('receivable.collection.file')
        domain = [('id', 'in', [e.file.id for e in self.events if e.file])]
        if self.group:
            domain = ['OR', domain, ('origin', '=', str(self.group))]
        return [f.id for f in File.search(domain)]

    @classmethod
    def get_totals(cls, journals, names):
        "Payment count, total and open errors of each journal, in two queries."
        pool = Pool()
        Payment = pool.get('account.payment')
        Error = pool.get('receivable.collection.journal.error')
        payment = Payment.__table__()
        error = Error.__table__()
        cursor = Transaction().connection.cursor()
        ids = [j.id for j in journals]
        result = {n: {i: 0 for i in ids} for n in names}
        if 'total_amount' in result:
            result['total_amount'] = {i: Decimal(0) for i in ids}
        in_ = fields.SQL_OPERATORS['in']
        for sub_ids in grouped_slice(ids, backend.MAX_QUERY_PARAMS):
            sub_ids = list(sub_ids)
            query = payment.select(
                payment.collection_journal, Count(payment.id),
                Sum(payment.amount).as_('amount'),
                where=in_(payment.collection_journal, sub_ids),
                group_by=payment.collection_journal)
            if backend.name == 'sqlite':
                sqlite_apply_types(query, [None, None, 'NUMERIC'])
            cursor.execute(*query)
            for journal_id, count, amount in cursor:
                if 'payment_count' in result:
                    result['payment_count'][journal_id] = count
                if 'total_amount' in result:
                    result['total_amount'][journal_id] = amount or Decimal(0)
            if 'error_count' in result:
                cursor.execute(*error.select(
                        error.journal, Count(error.id),
                        where=in_(error.journal, sub_ids)
                        & ((error.severity == 'error')
                            | (Coalesce(error.accepted, False) == False)),  # noqa: E712
                        group_by=error.journal))
                for journal_id, count in cursor:
                    result['error_count'][journal_id] = count
        if 'total_amount' in result:
            for journal in journals:
                result['total_amount'][journal.id] = journal.currency.round(
                    result['total_amount'][journal.id])
        return result

    @classmethod
    def copy(cls, journals, default=None):
        "A copy starts empty in draft."
        default = default.copy() if default is not None else {}
        default.setdefault('payments', None)
        default.setdefault('notifications', None)
        default.setdefault('errors', None)
        default.setdefault('events', None)
        default.setdefault('group', None)
        default.setdefault('validated_by', None)
        default.setdefault('exported_by', None)
        default.setdefault('name', None)
        return super().copy(journals, default=default)

    @classmethod
    def check_modification(cls, mode, journals, values=None, external=False):
        "Only draft journals can be deleted."
        super().check_modification(
            mode, journals, values=values, external=external)
        if mode == 'delete':
            for journal in journals:
                if journal.state != 'draft':
                    raise AccessError(gettext(
                            'receivable_collection.msg_journal_delete_draft',
                            journal=journal.rec_name))

    @classmethod
    def new_event(cls, journal, kind, text, payment=None, file=None, code=None):
        "An unsaved transaction log entry of the journal."
        pool = Pool()
        Event = pool.get('receivable.collection.journal.event')
        return Event(
            journal=journal, kind=kind, text=text, payment=payment, file=file,
            code=code)

    # Propose

    def _propose_line_domain(self):
        "The open receivable lines of the journal's customers due by the horizon."
        pool = Pool()
        PartyJournal = pool.get('receivable.collection.party.journal')
        party_journal = PartyJournal.__table__()
        parties = party_journal.select(
            party_journal.party,
            where=(party_journal.company == self.company.id)
            & (party_journal.collection_payment_journal
                == self.payment_journal.id))
        return [
            ('move.company', '=', self.company.id),
            ('move.state', '=', 'posted'),
            ('account.type.receivable', '=', True),
            ('reconciliation', '=', None),
            ('party', 'in', parties),
            ('maturity_date', '<=', self.horizon),
            ['OR',
                ('debit', '>', 0),
                ('credit', '<', 0),
                ],
            ('payment_blocked', '=', False),
            ('payment_currency', '=', self.payment_journal.currency.id),
            ('payment_amount', '>', 0),
            ('move.origin', 'like', 'account.invoice,%'),
            ('move.origin.collection_excluded', '=', False, 'account.invoice'),
            ]

    def _propose_payment(self, line):
        "An unsaved payment collecting the open amount of the line."
        pool = Pool()
        Payment = pool.get('account.payment')
        date = max(line.maturity_date or self.date, self.date)
        return Payment(
            company=self.company, journal=self.payment_journal,
            kind='receivable', party=line.party, line=line,
            amount=line.payment_amount, date=date, collection_journal=self,
            state='draft')

    @classmethod
    @ModelView.button
    def propose(cls, journals):
        "Add a payment for every open item marked for collection and not yet in one."
        pool = Pool()
        MoveLine = pool.get('account.move.line')
        Payment = pool.get('account.payment')
        Event = pool.get('receivable.collection.journal.event')
        payments, events = [], []
        for journal in journals:
            if journal.state != 'draft':
                continue
            with Transaction().set_context(company=journal.company.id):
                lines = MoveLine.search(
                    journal._propose_line_domain(),
                    order=[('party', 'ASC'), ('maturity_date', 'ASC'), ('id', 'ASC')])
            new = [journal._propose_payment(line) for line in lines]
            payments.extend(new)
            events.append(cls.new_event(journal, 'propose', gettext(
                        'receivable_collection.msg_journal_proposed',
                        count=len(new))))
        Payment.save(payments)
        Event.save(events)

    # Validation

    @classmethod
    def _collection_problems(cls, journal, today):
        "Return (payment, party, severity, code, text) for the journal's problems."
        pool = Pool()
        Payment = pool.get('account.payment')
        problems = []
        payments = list(journal.payments)
        if not payments:
            problems.append((None, None, 'error', 'empty', gettext(
                        'receivable_collection.msg_journal_check_empty')))
        problems.extend(Payment.collection_check(journal, payments, today))
        return problems

    @classmethod
    def check_journals(cls, journals):
        "Rebuild the error log of the journals; accepted warnings stay accepted."
        pool = Pool()
        Date = pool.get('ir.date')
        Error = pool.get('receivable.collection.journal.error')
        to_delete, to_save = [], []
        for journal in journals:
            with Transaction().set_context(company=journal.company.id):
                today = Date.today()
            accepted = {
                (e.payment, e.code): e for e in journal.errors
                if e.severity == 'warning' and e.accepted}
            to_delete.extend(journal.errors)
            for payment, party, severity, code, text in cls._collection_problems(
                    journal, today):
                to_save.append(Error(
                        journal=journal, payment=payment, party=party,
                        severity=severity, code=code, message=text,
                        accepted=(payment, code) in accepted))
        Error.delete(to_delete)
        Error.save(to_save)
        return to_save

    @classmethod
    @ModelView.button
    def validate_journal(cls, journals):
        "Check the journals; only those without standing errors become validated."
        Event = Pool().get('receivable.collection.journal.event')
        errors = cls.check_journals(journals)
        standing = defaultdict(int)
        for error in errors:
            if error.severity == 'error' or not error.accepted:
                standing[error.journal] += 1
        events = [cls.new_event(j, 'validate', gettext(
                    'receivable_collection.msg_journal_validated_log',
                    count=standing[j])) for j in journals]
        Event.save(events)
        ok = [j for j in journals if not standing[j]]
        cls._validate_ok(ok)

    @classmethod
    @Workflow.transition('validated')
    @set_employee('validated_by')
    def _validate_ok(cls, journals):
        "Mark the checked journals as validated."

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, journals):
        "Reopen validated journals for changes."
        cls.write(journals, {'validated_by': None})

    # Notification

    @classmethod
    @ModelView.button
    def notify(cls, journals):
        "Build each customer's notification text and mail it when the template says so."
        pool = Pool()
        Notification = pool.get('receivable.collection.notification')
        notifications = Notification.build(journals)
        to_mail = [n for n in notifications if n.journal.template
            and n.journal.template.mail and not n.sent]
        if to_mail:
            Notification.send(to_mail)

    # Export

    @classmethod
    @ModelView.button
    @Workflow.transition('exported')
    @set_employee('exported_by')
    def export(cls, journals):
        "Check again, then process the payments as one group and keep the file."
        pool = Pool()
        Payment = pool.get('account.payment')
        Event = pool.get('receivable.collection.journal.event')
        errors = cls.check_journals(journals)
        for error in errors:
            if error.severity == 'error' or not error.accepted:
                raise CollectionJournalError(gettext(
                        'receivable_collection.msg_journal_export_errors',
                        journal=error.journal.rec_name,
                        error=error.message))
        events = []
        for journal in journals:
            payments = sorted(journal.payments, key=lambda p: (p.date, p.id))
            Payment.lock(payments)
            Payment.submit(payments)
            group = journal._new_group()
            Payment.process(payments, lambda group=group: group)
            journal.group = group
            file = journal._export_file(group)
            events.append(cls.new_event(journal, 'export', gettext(
                        'receivable_collection.msg_journal_exported_log',
                        count=len(payments), group=group.rec_name,
                        file=file.rec_name if file else '-'), file=file))
        cls.save(journals)
        Event.save(events)

    def _new_group(self):
        "The saved payment group the journal's payments are processed in."
        pool = Pool()
        Group = pool.get('account.payment.group')
        group = Group(
            company=self.company, journal=self.payment_journal, kind='receivable')
        group.save()
        return group

    def _export_file(self, group):
        "The outgoing file the processing wrote, stored as a collection file."
        pool = Pool()
        File = pool.get('receivable.collection.file')
        files = File.search([
                ('origin', '=', str(group)),
                ('direction', '=', 'out'),
                ], order=[('id', 'DESC')], limit=1)
        if files:
            return files[0]
        if getattr(group, 'sepa_messages', None):
            message = group.sepa_messages[-1]
            file = File(
                company=self.company, direction='out', format='sepa_pain008',
                filename=f'{group.number}.xml', data=message.message,
                delivery_id=group.sepa_id, origin=group, state='waiting')
            file.save()
            return file

    @classmethod
    @ModelView.button
    @Workflow.transition('closed')
    def close(cls, journals):
        "Close journals whose payments have all succeeded or failed."
        Event = Pool().get('receivable.collection.journal.event')
        for journal in journals:
            pending = [p for p in journal.payments
                if p.state not in {'succeeded', 'failed'}]
            if pending:
                raise CollectionJournalError(gettext(
                        'receivable_collection.msg_journal_close_pending',
                        journal=journal.rec_name, count=len(pending),
                        payment=pending[0].rec_name))
        Event.save([cls.new_event(j, 'close', gettext(
                        'receivable_collection.msg_journal_closed_log'))
                for j in journals])


class Payment(metaclass=PoolMeta):
    "Payments collected through a collection journal."
    __name__ = 'account.payment'

    collection_journal = fields.Many2One(
        'receivable.collection.journal', "Collection Journal",
        ondelete='CASCADE', readonly=True,
        domain=[
            ('company', '=', Eval('company', -1)),
            ])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.collection_journal, Index.Range())))

    @property
    def collection_invoice(self):
        "The invoice the payment collects, if any."
        pool = Pool()
        Invoice = pool.get('account.invoice')
        if self.line and isinstance(self.line.move_origin, Invoice):
            return self.line.move_origin

    @fields.depends('line', 'account')
    def on_change_line(self):
        "A payment of an item clears through the item, not an account."
        super().on_change_line()
        if self.line and getattr(self, 'account', None):
            self.account = None

    @classmethod
    def copy(cls, payments, default=None):
        "A copy is not part of the journal."
        default = default.copy() if default is not None else {}
        default.setdefault('collection_journal', None)
        return super().copy(payments, default=default)

    @classmethod
    def on_write(cls, payments, values):
        "A draft payment taken out of its journal is deleted: it collects nothing."
        callback = super().on_write(payments, values)
        if 'collection_journal' in values and not values['collection_journal']:
            removed = [p.id for p in payments
                if p.collection_journal and p.state == 'draft']
            if removed:
                callback.append(lambda: cls.delete(cls.browse(removed)))
        return callback

    @classmethod
    def collection_check(cls, journal, payments, today):
        "Return (payment, party, severity, code, text) for every problem found."
        pool = Pool()
        Block = pool.get('receivable.collection.dunning.block')
        Payment = pool.get('account.payment')
        lines = [p.line for p in payments if p.line]
        blocked = Block.blocked_lines(lines, today) if lines else {}
        others = defaultdict(list)
        for sub in grouped_slice(
                [line.id for line in lines], backend.MAX_QUERY_PARAMS):
            for other in Payment.search([
                        ('line', 'in', list(sub)),
                        ('state', '!=', 'failed'),
                        ('id', 'not in', [p.id for p in payments]),
                        ]):
                others[other.line].append(other)
        seen = defaultdict(list)
        problems = []
        for payment in payments:
            for severity, code, text in payment._collection_problems(
                    journal, today, blocked, others, seen):
                problems.append((payment, payment.party, severity, code, text))
        return problems

    def _collection_problems(self, journal, today, blocked, others, seen):
        "Yield (severity, code, text) for what stops the payment from collecting."
        name = self.rec_name
        party = self.party
        if self.amount is None or self.amount <= 0:
            yield 'error', 'amount', gettext(
                'receivable_collection.msg_check_amount', payment=name)
        line = self.line
        if line:
            currency = line.payment_currency
            if currency != journal.currency:
                yield 'error', 'currency', gettext(
                    'receivable_collection.msg_check_currency', payment=name,
                    currency=currency.code if currency else '',
                    expected=journal.currency.code)
            if line.reconciliation:
                yield 'error', 'paid', gettext(
                    'receivable_collection.msg_check_paid', payment=name,
                    line=line.rec_name)
            if line in blocked:
                yield 'error', 'blocked', gettext(
                    'receivable_collection.msg_check_blocked', payment=name,
                    party=party.rec_name, reason=blocked[line])
            if line.payment_blocked:
                yield 'error', 'blocked', gettext(
                    'receivable_collection.msg_check_payment_blocked',
                    payment=name, line=line.rec_name)
            for other in others.get(line, []):
                yield 'error', 'duplicate', gettext(
                    'receivable_collection.msg_check_duplicate', payment=name,
                    line=line.rec_name, other=other.rec_name)
            if seen[line]:
                yield 'error', 'duplicate', gettext(
                    'receivable_collection.msg_check_duplicate', payment=name,
                    line=line.rec_name, other=seen[line][0].rec_name)
            seen[line].append(self)
            if self.amount and line.payment_amount is not None and (
                    line.payment_amount < 0):
                yield 'error', 'overpay', gettext(
                    'receivable_collection.msg_check_overpay', payment=name,
                    line=line.rec_name)
            if line.maturity_date and line.maturity_date > journal.horizon:
                yield 'warning', 'horizon', gettext(
                    'receivable_collection.msg_check_horizon', payment=name,
                    date=line.maturity_date, horizon=journal.horizon)
        else:
            yield 'warning', 'line', gettext(
                'receivable_collection.msg_check_no_line', payment=name)
        if self.date and (self.date < today or self.date < journal.date):
            yield 'error', 'date', gettext(
                'receivable_collection.msg_check_date', payment=name,
                date=self.date, earliest=max(today, journal.date))
        agreement = party.get_multivalue(
            'collection_payment_journal', company=journal.company.id)
        if agreement != journal.payment_journal:
            yield 'warning', 'agreement', gettext(
                'receivable_collection.msg_check_agreement', payment=name,
                party=party.rec_name,
                agreement=agreement.rec_name if agreement else '-')
        method = journal.payment_journal.process_method
        if (not party.collection_number
                and method not in self._collection_numbered_methods()):
            yield 'error', 'customer_number', gettext(
                'receivable_collection.msg_check_customer_number',
                payment=name, party=party.rec_name)
        check = getattr(self, f'_collection_problems_{method}', None)
        if check:
            yield from check(journal, today)

    @classmethod
    def _collection_numbered_methods(cls):
        "Process methods whose mandates carry the customer number the files use."
        return set()

    def _collection_problems_sepa(self, journal, today):
        "Yield the SEPA problems: a valid mandate with a valid IBAN at a known bank."
        from stdnum import iban
        mandate, = self.get_sepa_mandates([self])
        if not mandate:
            yield 'error', 'mandate', gettext(
                'receivable_collection.msg_check_sepa_mandate',
                payment=self.rec_name, party=self.party.rec_name)
            return
        number = mandate.account_number
        if not number or number.type != 'iban' or not iban.is_valid(
                number.number or ''):
            yield 'error', 'bank', gettext(
                'receivable_collection.msg_check_iban', payment=self.rec_name,
                mandate=mandate.rec_name,
                number=number.number if number else '')
        elif not number.account.bank or not number.account.bank.bic:
            yield 'error', 'bank', gettext(
                'receivable_collection.msg_check_bic', payment=self.rec_name,
                account=number.account.rec_name)


class JournalCompanyMixin:
    "Records of a journal, in the journal's company (for the company rule)."
    __slots__ = ()
    company = fields.Function(fields.Many2One(
            'company.company', "Company"),
        'get_company', searcher='search_company')

    def get_company(self, name):
        "The journal's company."
        return self.journal.company.id

    @classmethod
    def search_company(cls, name, clause):
        "Search on the journal's company."
        return [('journal.company',) + tuple(clause[1:])]


class Error(JournalCompanyMixin, ModelSQL, ModelView):
    "A problem found when validating a collection journal."
    __name__ = 'receivable.collection.journal.error'

    journal = fields.Many2One(
        'receivable.collection.journal', "Journal", required=True,
        ondelete='CASCADE', readonly=True)
    payment = fields.Many2One(
        'account.payment', "Payment", readonly=True, ondelete='CASCADE')
    party = fields.Many2One(
        'party.party', "Party", readonly=True,
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    severity = fields.Selection(SEVERITIES, "Severity", readonly=True)
    code = fields.Char("Code", readonly=True)
    message = fields.Text("Message", readonly=True)
    accepted = fields.Boolean(
        "Accepted",
        states={
            'readonly': Eval('severity') != 'warning',
            },
        help="An accepted warning does not stop the export.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('severity', 'ASC'))

    @classmethod
    def default_accepted(cls):
        "Warnings start not accepted."
        return False


class Event(JournalCompanyMixin, ModelSQL, ModelView):
    "An entry of a journal's transaction log: what happened, when, to what."
    __name__ = 'receivable.collection.journal.event'

    journal = fields.Many2One(
        'receivable.collection.journal', "Journal", required=True,
        ondelete='CASCADE', readonly=True)
    timestamp = fields.Timestamp("Time", readonly=True)
    kind = fields.Selection(EVENT_KINDS, "Kind", readonly=True)
    payment = fields.Many2One(
        'account.payment', "Payment", readonly=True, ondelete='SET NULL')
    file = fields.Many2One(
        'receivable.collection.file', "File", readonly=True, ondelete='RESTRICT')
    code = fields.Char("Code", readonly=True)
    text = fields.Text("Text", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('timestamp', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_timestamp(cls):
        "Now."
        return dt.datetime.now()

    @classmethod
    def check_modification(cls, mode, events, values=None, external=False):
        "The log is written by the journal only and never changed."
        super().check_modification(
            mode, events, values=values, external=external)
        if mode in {'write', 'delete'} and external:
            raise AccessError(gettext(
                    'receivable_collection.msg_journal_event_readonly'))


class Template(DeactivableMixin, ModelSQL, ModelView):
    "Notification template: which invoice fields and texts the customer gets."
    __name__ = 'receivable.collection.template'

    name = fields.Char("Name", required=True, translate=True)
    company = fields.Many2One('company.company', "Company", required=True)
    header = fields.Text(
        "Header", translate=True,
        help="Text above the items; ${party}, ${date}, ${total}, ${company} "
        "and ${currency} are replaced.")
    footer = fields.Text("Footer", translate=True)
    show_number = fields.Boolean("Invoice Number")
    show_invoice_date = fields.Boolean("Invoice Date")
    show_due_date = fields.Boolean("Due Date")
    show_description = fields.Boolean("Description")
    show_amount = fields.Boolean("Amount")
    show_subtotal = fields.Boolean("Subtotal")
    subtotal_label = fields.Char("Subtotal Label", translate=True, states={
            'invisible': ~Eval('show_subtotal'),
            })
    width = fields.Integer(
        "Line Width", required=True,
        domain=[('width', '>=', 20), ('width', '<=', 120)],
        help="Characters per line: Nets prints at most 60.")
    mail = fields.Boolean(
        "Send by E-mail",
        help="Mail each customer when and what will be collected.")
    mail_subject = fields.Char(
        "E-mail Subject", translate=True,
        states={
            'invisible': ~Eval('mail'),
            'required': Bool(Eval('mail')),
            })
    attach_invoice = fields.Boolean(
        "Attach Invoice PDF",
        states={
            'invisible': ~Eval('mail'),
            })

    @classmethod
    def default_company(cls):
        "The company of the context."
        return Transaction().context.get('company')

    @classmethod
    def default_width(cls):
        "The width Nets prints."
        return 60

    @classmethod
    def default_show_number(cls):
        "Show the invoice number."
        return True

    default_show_due_date = default_show_number
    default_show_amount = default_show_number
    default_show_subtotal = default_show_number

    def layout(self):
        "The plain layout the notice builder reads."
        from .notice import NoticeLayout
        columns = tuple(name for name, show in [
                ('number', self.show_number),
                ('invoice_date', self.show_invoice_date),
                ('due_date', self.show_due_date),
                ('description', self.show_description),
                ('amount', self.show_amount),
                ] if show)
        return NoticeLayout(
            header=self.header or '', footer=self.footer or '',
            columns=columns, subtotal=bool(self.show_subtotal),
            subtotal_label=self.subtotal_label or 'Total', width=self.width)


class Notification(JournalCompanyMixin, ModelSQL, ModelView):
    "What one customer is told will be collected, and how it was sent."
    __name__ = 'receivable.collection.notification'

    journal = fields.Many2One(
        'receivable.collection.journal', "Journal", required=True,
        ondelete='CASCADE', readonly=True)
    party = fields.Many2One(
        'party.party', "Party", required=True, readonly=True,
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    text = fields.Text(
        "Text", help="Edit before the journal is exported; Nets prints it.")
    email = fields.Char("E-mail", readonly=True)
    sent = fields.Timestamp("Sent", readonly=True)
    attachments = fields.Char("Attachments", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('party_unique', Unique(t, t.journal, t.party),
                'receivable_collection.msg_notification_party_unique'),
            ]

    @property
    def lines(self):
        "The notification text as lines."
        return (self.text or '').splitlines()

    @classmethod
    def build(cls, journals):
        "Create or refresh each customer's text; edited texts are kept."
        pool = Pool()
        Lang = pool.get('ir.lang')
        to_save = []
        for journal in journals:
            existing = {n.party: n for n in journal.notifications}
            by_party = defaultdict(list)
            for payment in sorted(journal.payments, key=lambda p: (p.date, p.id)):
                by_party[payment.party].append(payment)
            for party, payments in by_party.items():
                notification = existing.get(party) or cls(
                    journal=journal, party=party, sent=None)
                if notification.sent:
                    continue
                lang = party.lang or Lang.get()
                notification.text = '\n'.join(
                    cls.notice_lines(journal, party, payments, lang))
                to_save.append(notification)
        cls.save(to_save)
        return to_save

    @classmethod
    def notice_lines(cls, journal, party, payments, lang):
        "The notification lines of the party's payments from the journal's template."
        from .notice import NoticeItem, NoticeLayout, build_notice
        layout = journal.template.layout() if journal.template else NoticeLayout()
        currency = journal.currency
        items = []
        for payment in payments:
            line = payment.line
            invoice = payment.collection_invoice
            items.append(NoticeItem(
                    number=(invoice.number if invoice else None)
                    or payment.reference_used or payment.number,
                    invoice_date=invoice.invoice_date if invoice else None,
                    due_date=line.maturity_date if line else payment.date,
                    description=(invoice.description if invoice else None)
                    or payment.reference or '',
                    amount=payment.amount))
        total = sum((i.amount for i in items), Decimal(0))
        values = {
            'party': party.rec_name,
            'company': journal.company.rec_name,
            'date': lang.strftime(min(p.date for p in payments)),
            'total': lang.currency(total, currency),
            'currency': currency.code,
            }
        return build_notice(
            layout, items, values, format_date=lang.strftime,
            format_amount=lambda a: lang.format_number(a, digits=currency.digits))

    @classmethod
    def send(cls, notifications):
        "Mail the notifications with the invoice PDFs the template asks for."
        from .notify import send_notifications
        send_notifications(notifications)


class Invoice(metaclass=PoolMeta):
    "Customer invoices marked for collection through the customer's agreement."
    __name__ = 'account.invoice'

    collection_excluded = fields.Boolean(
        "Not Collected",
        states={
            'invisible': Eval('type') != 'out',
            },
        help="Leave this invoice out of the collection journals.")
    collection_marked = fields.Function(fields.Boolean(
            "Marked for Collection",
            states={
                'invisible': Eval('type') != 'out',
                'readonly': Eval('state').in_(['paid', 'cancelled']),
                },
            help="Collected by direct debit through the customer's agreement."),
        'get_collection_marked', setter='set_collection_marked',
        searcher='search_collection_marked')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._check_modify_exclude |= {'collection_excluded', 'collection_marked'}

    @classmethod
    def default_collection_excluded(cls):
        "Invoices are collected unless excluded."
        return False

    @classmethod
    def get_collection_marked(cls, invoices, name):
        "Whether the customer has an agreement in the company and the invoice is not excluded."
        result = {}
        for invoice in invoices:
            agreement = None
            if invoice.type == 'out' and invoice.party and invoice.company:
                agreement = invoice.party.get_multivalue(
                    'collection_payment_journal', company=invoice.company.id)
            result[invoice.id] = bool(agreement) and not invoice.collection_excluded
        return result

    @classmethod
    def default_collection_marked(cls):
        "New invoices are collected when their customer has an agreement."
        return True

    @classmethod
    def set_collection_marked(cls, invoices, name, value):
        "Removing the mark excludes the invoice; setting it includes it again."
        if value is None:
            return
        to_write = [i for i in invoices if i.collection_excluded == bool(value)]
        if to_write:
            cls.write(to_write, {'collection_excluded': not value})

    @classmethod
    def search_collection_marked(cls, name, clause):
        "Search the invoices of customers with an agreement that are not excluded."
        pool = Pool()
        PartyJournal = pool.get('receivable.collection.party.journal')
        invoice = cls.__table__()
        party_journal = PartyJournal.__table__()
        _, operator, value = clause
        query = invoice.join(party_journal, condition=(
                (party_journal.party == invoice.party)
                & (party_journal.company == invoice.company))
            ).select(invoice.id,
            where=(party_journal.collection_payment_journal != Null)
            & (invoice.type == 'out')
            & (invoice.collection_excluded == False))  # noqa: E712
        positive = (operator == '=') == bool(value)
        return [('id', 'in' if positive else 'not in', query)]


class Dunning(metaclass=PoolMeta):
    "Dunning leaves alone the items being collected by direct debit."
    __name__ = 'account.dunning'

    @classmethod
    def _overdue_line_domain(cls, date):
        "Only lines whose open amount is not covered by pending or paid collections."
        return super()._overdue_line_domain(date) + [
            ('payment_amount', '>', 0),
            ]
