# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"Collection statistics per journal, agreement and month, as list, graph and CSV."
import csv
import io
from decimal import Decimal

from sql import Cast, Literal, Null
from sql.aggregate import Min, Sum
from sql.conditionals import Case
from sql.functions import Extract
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.report import Report
from trytond.transaction import Transaction

SENT = ('processing', 'succeeded', 'failed')


class Statistic(ModelSQL, ModelView):
    "How many collections were sent, completed and rejected, per journal and month."
    __name__ = 'receivable.collection.statistic'

    company = fields.Many2One('company.company', "Company", readonly=True)
    journal = fields.Many2One(
        'receivable.collection.journal', "Journal", readonly=True)
    agreement = fields.Many2One(
        'account.payment.journal', "Agreement", readonly=True)
    currency = fields.Many2One('currency.currency', "Currency", readonly=True)
    month = fields.Integer("Month Number", readonly=True)
    period = fields.Function(fields.Char(
            "Month", help="The month collected, as YYYY-MM."), 'get_period')
    sent = fields.Integer("Sent", readonly=True)
    completed = fields.Integer("Completed", readonly=True)
    rejected = fields.Integer("Rejected", readonly=True)
    with_difference = fields.Integer("With Difference", readonly=True)
    amount_sent = Monetary(
        "Amount Sent", currency='currency', digits='currency', readonly=True)
    amount_completed = Monetary(
        "Amount Completed", currency='currency', digits='currency', readonly=True)
    amount_rejected = Monetary(
        "Amount Rejected", currency='currency', digits='currency', readonly=True)
    success_rate = fields.Function(fields.Numeric(
            "Success Rate (%)", digits=(5, 1)), 'get_success_rate')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('month', 'DESC'), ('journal', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        "One row per journal and month of the collections sent through journals."
        pool = Pool()
        Payment = pool.get('account.payment')
        PaymentJournal = pool.get('account.payment.journal')
        Statistic = cls
        payment = Payment.__table__()
        agreement = PaymentJournal.__table__()
        month = Cast(
            Extract('YEAR', payment.date) * 100 + Extract('MONTH', payment.date),
            Statistic.month.sql_type().base)
        sent = payment.state.in_(SENT)

        def count(condition):
            return Sum(Case((condition, Literal(1)), else_=Literal(0)))

        def amount(condition):
            return Sum(Case((condition, payment.amount), else_=Literal(0)))
        return payment.join(agreement, condition=payment.journal == agreement.id
            ).select(
            Min(payment.id).as_('id'),
            payment.company.as_('company'),
            payment.collection_journal.as_('journal'),
            payment.journal.as_('agreement'),
            agreement.currency.as_('currency'),
            month.as_('month'),
            count(sent).as_('sent'),
            count(payment.state == 'succeeded').as_('completed'),
            count(payment.state == 'failed').as_('rejected'),
            count((payment.collection_difference != Null)
                & (payment.collection_difference != 0)).as_('with_difference'),
            amount(sent).as_('amount_sent'),
            amount(payment.state == 'succeeded').as_('amount_completed'),
            amount(payment.state == 'failed').as_('amount_rejected'),
            where=(payment.collection_journal != Null) & sent,
            group_by=[payment.company, payment.collection_journal,
                payment.journal, agreement.currency, month])

    def get_period(self, name):
        "The month as YYYY-MM."
        if self.month:
            return f'{self.month // 100:04d}-{self.month % 100:02d}'

    def get_success_rate(self, name):
        "Completed collections out of those sent, in percent."
        if not self.sent:
            return None
        return (Decimal(self.completed or 0) * 100 / self.sent).quantize(
            Decimal('0.1'))


class StatisticCSV(Report):
    "The selected statistics as a CSV file (semicolon separated, UTF-8)."
    __name__ = 'receivable.collection.statistic.csv'

    COLUMNS = [
        'company', 'journal', 'agreement', 'period', 'currency', 'sent',
        'completed', 'rejected', 'with_difference', 'amount_sent',
        'amount_completed', 'amount_rejected', 'success_rate']

    @classmethod
    def execute(cls, ids, data):
        "Return ('csv', content, False, name) for the records."
        pool = Pool()
        Statistic = pool.get('receivable.collection.statistic')
        with Transaction().set_context(language=False):
            records = Statistic.browse(ids)
            output = io.StringIO()
            writer = csv.writer(output, delimiter=';', lineterminator='\r\n')
            writer.writerow(cls.COLUMNS)
            for record in records:
                row = []
                for column in cls.COLUMNS:
                    value = getattr(record, column)
                    if hasattr(value, 'rec_name'):
                        value = value.rec_name
                    elif column.startswith('amount_') and value is not None:
                        digits = record.currency.digits
                        value = f'{record.currency.round(Decimal(value)):.{digits}f}'
                    row.append('' if value is None else str(value))
                writer.writerow(row)
        return 'csv', output.getvalue().encode('utf-8'), False, 'collection-statistics'
