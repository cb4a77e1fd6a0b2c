# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"A payment on a dunned invoice clears costs, then interest, then principal."
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from . import dunning_rules as rules
from .exceptions import ClearingError


class Dunning(metaclass=PoolMeta):
    "Dunning whose costs and interest are open receivable lines of their own."
    __name__ = 'account.dunning'

    def collection_open_items(self):
        "The open cost and interest lines of the dunning, in clearing order."
        def open_lines(moves):
            return [
                line for move in moves for line in move.lines
                if line.account == self.line.account
                and line.party == self.line.party
                and not line.reconciliation and line.debit > 0]
        # The moves of a fee or a charge include the splits of the lines a
        # payment covered in part: their remainder is still open.
        costs = open_lines(m for fee in self.fees for m in fee.moves)
        interest = open_lines({
                m for charge in self.collection_interests
                for m in [charge.move, *charge.moves] if m})
        return {'costs': costs, 'interest': interest}

    def collection_clear(self, payment_line, date):
        """Split payment_line over costs, interest and principal and reconcile.

        Costs and interest lines are paid oldest first; a line the payment
        covers only in part is split and the covered part reconciled, the
        rest stays open.  What is left goes to the invoice as a payment line.
        Return the allocation.
        """
        pool = Pool()
        Move = pool.get('account.move')
        Line = pool.get('account.move.line')
        Period = pool.get('account.period')
        Invoice = pool.get('account.invoice')
        invoice = self.line.move.origin
        if not isinstance(invoice, Invoice):
            raise ClearingError(gettext(
                    'receivable_collection.msg_clearing_no_invoice',
                    dunning=self.rec_name))
        paid = payment_line.credit - payment_line.debit
        if (paid <= 0 or payment_line.reconciliation
                or payment_line.party != self.line.party
                or payment_line.account != self.line.account):
            raise ClearingError(gettext(
                    'receivable_collection.msg_clearing_bad_payment',
                    line=payment_line.rec_name, dunning=self.rec_name))
        items = self.collection_open_items()
        open_items = {
            'costs': sum((l.debit for l in items['costs']), Decimal(0)),
            'interest': sum((l.debit for l in items['interest']), Decimal(0)),
            'principal': invoice.amount_to_pay,
            }
        allocation = rules.allocate(paid, open_items)
        if allocation[rules.REMAINDER]:
            raise ClearingError(gettext(
                    'receivable_collection.msg_clearing_overpayment',
                    line=payment_line.rec_name,
                    amount=allocation[rules.REMAINDER]))

        company = self.company
        cleared, amounts = [], {'costs': Decimal(0), 'interest': Decimal(0)}
        principal = allocation['principal']
        for key in ['costs', 'interest']:
            left = allocation[key]
            for line in sorted(items[key], key=lambda l: (l.date, l.id)):
                if not left:
                    break
                part = min(line.debit, left)
                if part < line.debit:
                    line = self._collection_split(line, part, date)
                left -= part
                amounts[key] += part
                cleared.append(line)

        split = Move(
            company=company, journal=payment_line.move.journal, date=date,
            period=Period.find(company, date=date), origin=invoice,
            description=gettext(
                'receivable_collection.msg_clearing_move_description',
                invoice=invoice.rec_name))
        split.save()

        def line(debit=Decimal(0), credit=Decimal(0)):
            return Line(move=split, account=payment_line.account,
                party=payment_line.party, debit=debit, credit=credit)
        against = line(debit=paid)
        counterparts = [line(credit=l.debit) for l in cleared]
        principal_line = line(credit=principal) if principal else None
        Line.save([against, *counterparts] + ([principal_line] if principal_line else []))
        Move.post([split])
        Line.reconcile(
            [payment_line, against],
            *([c, counterpart] for c, counterpart in zip(cleared, counterparts)),
            date=date)
        if principal_line:
            Invoice.add_payment_lines({invoice: [principal_line]})
        return {**amounts, 'principal': principal}

    @classmethod
    def _collection_split(cls, line, part, date):
        """Split an open cost or interest line in the part paid and the rest.

        A move of the line's origin takes the line off (reconciled with it)
        and puts it back as two lines: the paid part, returned to be
        reconciled with the payment, and the rest, which stays open.
        """
        pool = Pool()
        Move = pool.get('account.move')
        Line = pool.get('account.move.line')
        Period = pool.get('account.period')
        company = line.move.company
        rest = line.debit - part

        move = Move(
            company=company, journal=line.move.journal, date=date,
            period=Period.find(company, date=date), origin=line.move.origin,
            description=gettext(
                'receivable_collection.msg_clearing_split_description',
                line=line.rec_name, amount=part))
        move.save()

        def copy(debit=Decimal(0), credit=Decimal(0), second=None):
            new = Line(
                move=move, account=line.account, party=line.party, debit=debit,
                credit=credit, maturity_date=line.maturity_date)
            if line.second_currency:
                new.second_currency = line.second_currency
                new.amount_second_currency = second
            return new
        second_paid = second_rest = None
        if line.second_currency:
            second_paid = line.second_currency.round(
                line.amount_second_currency * part / line.debit)
            second_rest = line.amount_second_currency - second_paid
        off = copy(credit=line.debit, second=(
                -line.amount_second_currency if line.second_currency else None))
        paid = copy(debit=part, second=second_paid)
        Line.save([off, paid, copy(debit=rest, second=second_rest)])
        Move.post([move])
        Line.reconcile([line, off], date=date)
        return paid


class Invoice(metaclass=PoolMeta):
    "Customer invoice showing the costs and interest still open beside it."
    __name__ = 'account.invoice'

    collection_open_costs = fields.Function(fields.Numeric(
            "Open Costs", digits=(16, 2),
            states={'invisible': Eval('type') != 'out'}),
        'get_collection_open')
    collection_open_interest = fields.Function(fields.Numeric(
            "Open Interest", digits=(16, 2),
            states={'invisible': Eval('type') != 'out'}),
        'get_collection_open')

    @classmethod
    def get_collection_open(cls, invoices, names):
        "The open fee and interest lines of the invoices' dunnings."
        pool = Pool()
        Dunning = pool.get('account.dunning')
        result = {name: {i.id: Decimal(0) for i in invoices} for name in names}
        lines = {l: i for i in invoices if i.type == 'out' for l in i.lines_to_pay}
        if not lines:
            return result
        for dunning in Dunning.search([('line', 'in', [l.id for l in lines])]):
            items = dunning.collection_open_items()
            invoice = lines[dunning.line]
            for name, key in [('collection_open_costs', 'costs'),
                    ('collection_open_interest', 'interest')]:
                if name in result:
                    result[name][invoice.id] += sum(
                        (l.debit for l in items[key]), Decimal(0))
        return result


class ClearPaymentStart(ModelView):
    "The payment to spread over the dunned invoice's costs, interest and principal."
    __name__ = 'receivable.collection.clearing.start'

    party = fields.Many2One('party.party', "Customer", readonly=True)
    account = fields.Many2One('account.account', "Account", readonly=True)
    payment_line = fields.Many2One(
        'account.move.line', "Payment", required=True,
        domain=[
            ('party', '=', Eval('party', -1)),
            ('account', '=', Eval('account', -1)),
            ('reconciliation', '=', None),
            ('credit', '>', 0),
            ('move.state', '=', 'posted'),
            ])
    date = fields.Date("Date", required=True)


class ClearPayment(Wizard):
    "Apply a customer payment to a dunned invoice in the legal clearing order."
    __name__ = 'receivable.collection.clearing'

    start = StateView('receivable.collection.clearing.start',
        'receivable_collection.clearing_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Apply", 'apply', 'tryton-ok', default=True),
            ])
    apply = StateTransition()

    def default_start(self, fields):
        "The dunning's customer and account, dated today."
        pool = Pool()
        Date = pool.get('ir.date')
        return {
            'party': self.record.line.party.id,
            'account': self.record.line.account.id,
            'date': Date.today(),
            }

    def transition_apply(self):
        "Clear the payment."
        with Transaction().set_context(company=self.record.company.id):
            self.record.collection_clear(self.start.payment_line, self.start.date)
        return 'end'
