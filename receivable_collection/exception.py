# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"The exception queue: incoming payments that could not be posted by themselves."
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.modules.company.model import employee_field, set_employee
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.pyson import Bool, Eval
from trytond.transaction import Transaction

from .exceptions import CollectionExceptionError

_OPEN = {'readonly': Eval('state') != 'open'}
KINDS = [
    ('duplicate', "Duplicate Payment"),
    ('wrong_customer', "Wrong Customer Number"),
    ('difference', "Amount Difference"),
    ('unmatched', "Unmatched"),
    ]


class CollectionException(Workflow, ModelSQL, ModelView):
    "An incoming payment waiting for the accountant's decision."
    __name__ = 'receivable.collection.exception'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    file = fields.Many2One(
        'receivable.collection.file', "File", readonly=True, ondelete='RESTRICT')
    file_line = fields.Integer("Line", readonly=True)
    kind = fields.Selection(KINDS, "Kind", required=True, readonly=True)
    date = fields.Date("Date", readonly=True)
    currency = fields.Many2One('currency.currency', "Currency", readonly=True)
    amount = Monetary(
        "Amount", currency='currency', digits='currency', readonly=True)
    difference = Monetary(
        "Difference", currency='currency', digits='currency', readonly=True,
        help="Received minus due; for a duplicate, the whole amount.")
    reference = fields.Char("Reference", readonly=True)
    end_to_end_id = fields.Char("End to End ID", readonly=True)
    customer_number = fields.Char("Customer Number", readonly=True)
    debtor_name = fields.Char("Debtor Name", readonly=True)
    party = fields.Many2One(
        'party.party', "Party", states=_OPEN,
        context={
            'company': Eval('company', -1),
            },
        depends={'company'},
        help="Who paid: the money goes on this customer's account.")
    payment = fields.Many2One(
        'account.payment', "Collection", readonly=True,
        help="The collection the payment refers to.")
    line = fields.Many2One(
        'account.move.line', "Open Item", states=_OPEN,
        domain=[
            ('move.company', '=', Eval('company', -1)),
            ('account.type.receivable', '=', True),
            ],
        help="The open item to post the payment to.")
    reason = fields.Text("Reason", readonly=True)
    suggestions = fields.Text("Suggestions", readonly=True)
    posted_payment = fields.Many2One(
        'account.payment', "Posted Payment", readonly=True)
    note = fields.Text("Note", states=_OPEN)
    resolved_by = employee_field("Resolved by", states=['done', 'ignored'])
    state = fields.Selection([
            ('open', "Open"),
            ('done', "Done"),
            ('ignored', "Ignored"),
            ], "State", readonly=True, required=True, sort=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(
                t, (t.state, Index.Equality(cardinality='low')),
                where=t.state == 'open'))
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('open', 'done'),
            ('open', 'ignored'),
            ('ignored', 'open'),
            }
        cls._buttons.update({
                'post': {
                    'invisible': Eval('state') != 'open',
                    'readonly': ~Bool(Eval('line')),
                    'icon': 'tryton-ok',
                    'depends': ['state', 'line'],
                    },
                'write_off': {
                    'invisible': ((Eval('state') != 'open')
                        | (Eval('kind') != 'difference')),
                    'icon': 'tryton-ok',
                    'depends': ['state', 'kind'],
                    },
                'on_account': {
                    'invisible': Eval('state') != 'open',
                    'readonly': ~Bool(Eval('party')),
                    'icon': 'tryton-forward',
                    'depends': ['state', 'party'],
                    },
                'ignore': {
                    'invisible': Eval('state') != 'open',
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                'reopen': {
                    'invisible': Eval('state') != 'ignored',
                    'icon': 'tryton-back',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_company(cls):
        "The company of the context."
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        "New exceptions wait for a decision."
        return 'open'

    def get_rec_name(self, name):
        "The file line and amount."
        return f'{self.file.rec_name if self.file else ""}:{self.file_line or ""}'

    @classmethod
    def _check_open_item(cls, exceptions):
        "Refuse posting without an open item of the same currency."
        for exception in exceptions:
            if not exception.line or exception.line.reconciliation:
                raise CollectionExceptionError(gettext(
                        'receivable_collection.msg_exception_no_line',
                        exception=exception.rec_name))

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    @set_employee('resolved_by')
    def post(cls, exceptions):
        "Post the amount received to the chosen open item; what is not paid stays open."
        pool = Pool()
        Payment = pool.get('account.payment')
        cls._check_open_item(exceptions)
        for exception in exceptions:
            due = exception.line.payment_amount or 0
            amount = min(exception.amount, due) if due > 0 else exception.amount
            items = [(exception.line.party, amount, exception.line)]
            if exception.amount > amount:
                # the excess stays on the customer's account as a credit
                items.append((exception.line.party, exception.amount - amount, None))
            exception._fail_collection()
            payments = Payment.collection_receipt_payments(exception.company, items)
            Payment.succeed(payments)
            exception.posted_payment = payments[0]
        cls.save(exceptions)

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    @set_employee('resolved_by')
    def write_off(cls, exceptions):
        "Post the whole due amount and write off the difference."
        pool = Pool()
        Payment = pool.get('account.payment')
        cls._check_open_item(exceptions)
        for exception in exceptions:
            due = exception.line.payment_amount or 0
            if exception.payment and exception.payment.state == 'processing':
                payment = exception.payment
            else:
                payment, = Payment.collection_receipt_payments(
                    exception.company, [(exception.line.party, due, exception.line)])
            Payment.succeed([payment])
            Payment.collection_write_off(
                exception.company, [(payment, exception.amount - due)])
            exception.posted_payment = payment
        cls.save(exceptions)

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    @set_employee('resolved_by')
    def on_account(cls, exceptions):
        "Keep the money as a credit on the customer's account (to refund or offset)."
        pool = Pool()
        Payment = pool.get('account.payment')
        for exception in exceptions:
            if not exception.party:
                raise CollectionExceptionError(gettext(
                        'receivable_collection.msg_exception_no_party',
                        exception=exception.rec_name))
            payment, = Payment.collection_receipt_payments(
                exception.company, [(exception.party, exception.amount, None)])
            Payment.succeed([payment])
            exception.posted_payment = payment
        cls.save(exceptions)

    def _fail_collection(self):
        "A collection paid with another amount is failed; the new payment replaces it."
        pool = Pool()
        Payment = pool.get('account.payment')
        payment = self.payment
        if payment and payment.state == 'processing' and payment.line == self.line:
            Payment.write([payment], {
                    'sepa_return_reason_information': gettext(
                        'receivable_collection.msg_exception_replaced',
                        exception=self.rec_name),
                    })
            Payment.fail([payment])

    @classmethod
    @ModelView.button
    @Workflow.transition('ignored')
    @set_employee('resolved_by')
    def ignore(cls, exceptions):
        "Set the payment aside: it is handled outside the queue."

    @classmethod
    @ModelView.button
    @Workflow.transition('open')
    def reopen(cls, exceptions):
        "Bring an ignored payment back to the queue."
        cls.write(exceptions, {'resolved_by': None})
