# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"Statutory late-payment interest: dated reference rates, computed and posted."
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from . import dunning_rules as rules
from .exceptions import InterestError


def _pct(value):
    "A rate without trailing zeros, whatever the database returned: 10.27."
    text = format(value.normalize(), 'f')
    return text if '.' in text else f'{text}.00'


class Rate(ModelSQL, ModelView):
    "A reference rate (central bank, statutory) valid from a date on."
    __name__ = 'receivable.collection.interest.rate'

    reference = fields.Char(
        "Reference", required=True,
        help="The key procedures use, e.g. DK_NB_LENDING or DE_BASE_RATE.")
    valid_from = fields.Date("Valid From", required=True)
    rate = fields.Numeric(
        "Rate (%)", digits=(16, 4),
        help="Percent per year. Empty: not known yet, interest for days from "
        "this date on is refused until it is entered.")
    source = fields.Char("Source")
    verified = fields.Boolean("Verified")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_constraints = [
            ('reference_date_unique',
                Unique(table, table.reference, table.valid_from),
                'receivable_collection.msg_interest_rate_unique'),
            ]
        cls._order = [('reference', 'ASC'), ('valid_from', 'DESC'), ('id', 'DESC')]

    @classmethod
    def reference_rate(cls, reference):
        "The dated periods of a reference, as the dunning rules read them."
        rates = cls.search([('reference', '=', reference)], order=[('valid_from', 'ASC')])
        return rules.ReferenceRate(reference, tuple(
                rules.RatePeriod(r.valid_from, r.rate) for r in rates))

    @classmethod
    def load_preset_rates(cls, reference, presets=None):
        "Create the preset's dated rates of a reference that are missing."
        presets = presets or rules.default_presets()
        known = {r.valid_from for r in cls.search([('reference', '=', reference)])}
        rate = presets.reference_rates.get(reference)
        if rate is None:
            return []
        new = [
            cls(reference=reference, valid_from=p.valid_from, rate=p.rate,
                source=p.source, verified=bool(p.verified))
            for p in rate.periods if p.valid_from not in known]
        cls.save(new)
        return new


class DunningInterest(ModelSQL, ModelView):
    "Interest charged on a dunned line for a period, with its move."
    __name__ = 'receivable.collection.dunning.interest'

    dunning = fields.Many2One(
        'account.dunning', "Dunning", required=True, ondelete='CASCADE',
        readonly=True)
    date_from = fields.Date(
        "From", required=True, readonly=True,
        help="The last day without interest.")
    date_to = fields.Date("To", required=True, readonly=True)
    currency = fields.Many2One('currency.currency', "Currency", readonly=True)
    amount = Monetary(
        "Amount", currency='currency', digits='currency', readonly=True)
    detail = fields.Text("Calculation", readonly=True)
    move = fields.Many2One('account.move', "Move", readonly=True)
    moves = fields.One2Many(
        'account.move', 'origin', "Moves", readonly=True,
        help="The charge and the splits of its line when paid in part.")
    company = fields.Function(fields.Many2One(
            'company.company', "Company"),
        'get_company', searcher='search_company')

    def get_company(self, name):
        "The company of the dunning."
        return self.dunning.company.id

    @classmethod
    def search_company(cls, name, clause):
        "Search on the dunning's company."
        return [('dunning.company',) + tuple(clause[1:])]

    @classmethod
    def compute(cls, dunning, date):
        """The interest due on the dunning's line up to date (unsaved), or None.

        Raises InterestError naming the rate when one is missing.
        """
        pool = Pool()
        Rate = pool.get('receivable.collection.interest.rate')
        procedure = dunning.procedure
        if not procedure.collection_interest_reference:
            return None
        line = dunning.line
        basis = line.maturity_date
        if procedure.collection_interest_from == 'default_date':
            defaults = [r.date for r in dunning.collection_reminders
                if r.level.collection_sets_default]
            if not defaults:
                return None
            basis = min(defaults)
        start = max([basis] + [i.date_to for i in dunning.collection_interests])
        if date <= start:
            return None
        b2b = bool(line.party.tax_identifier)
        margin = (procedure.collection_interest_margin_b2b if b2b
            else procedure.collection_interest_margin_b2c) or Decimal(0)
        currency, timeline = cls._principal_timeline(line)
        try:
            result = rules.interest(
                timeline, Rate.reference_rate(procedure.collection_interest_reference),
                margin, start, date, procedure.collection_interest_day_count)
        except rules.MissingRateError as error:
            raise InterestError(gettext(
                    'receivable_collection.msg_interest_rate_missing',
                    reference=error.key, date=error.date.isoformat(),
                    line=(line.move.origin or line.move).rec_name)) from error
        amount = currency.round(result.total)
        if not amount:
            return None
        detail = '\n'.join(
            f"{s.date_from} – {s.date_to}: {s.days} days × {s.principal} × "
            f"{_pct(s.rate)} % ({_pct(s.reference_rate)} + {_pct(margin)})"
            for s in result.segments)
        return cls(
            dunning=dunning, date_from=start, date_to=date, currency=currency,
            amount=amount, detail=detail)

    @staticmethod
    def _principal_timeline(line):
        """The open principal of the line from its due date on, in its currency.

        The line is one instalment of its invoice: a payment reconciled to
        it alone lowers it; a payment on the invoice as a whole is spread
        over the instalments oldest due first.
        """
        if line.second_currency:
            currency = line.second_currency

            def amount(l):
                return l.amount_second_currency or 0
        else:
            currency = line.account.company.currency

            def amount(l):
                return l.debit - l.credit
        invoice = getattr(line.move, 'origin', None)
        if (getattr(invoice, '__name__', None) != 'account.invoice'
                or line not in invoice.lines_to_pay):
            return currency, [(line.maturity_date, abs(amount(line)))]
        instalments = [
            l for l in invoice.lines_to_pay if l.maturity_date and amount(l) > 0]
        payments = {}
        for instalment in instalments:
            if not instalment.reconciliation:
                continue
            reconciled = instalment.reconciliation.lines
            alone = sum(1 for l in reconciled if l in instalments) == 1
            for other in reconciled:
                if other not in instalments and amount(other) < 0:
                    payments[other] = instalment.id if alone else None
        for payment in invoice.payment_lines:
            if amount(payment) < 0:
                payments.setdefault(payment, None)
        timelines = rules.instalment_timelines(
            [(l.id, l.maturity_date, amount(l)) for l in instalments],
            [(p.date, -amount(p), key) for p, key in payments.items()])
        return currency, list(timelines[line.id])

    @classmethod
    def post(cls, interests, date):
        "Create and post the interest moves on date."
        pool = Pool()
        Move = pool.get('account.move')
        # Saved first, so that the moves name their charge as origin.
        cls.save(interests)
        moves = []
        for interest in interests:
            interest.move = interest._get_move(date)
            moves.append(interest.move)
        Move.save(moves)
        cls.save(interests)
        Move.post(moves)

    def _get_move(self, date):
        "The move charging the interest to the customer."
        pool = Pool()
        Move = pool.get('account.move')
        Line = pool.get('account.move.line')
        Period = pool.get('account.period')
        Currency = pool.get('currency.currency')
        Configuration = pool.get('receivable.collection.configuration')
        dunning = self.dunning
        company = dunning.company
        configuration = Configuration(1)
        account = configuration.get_multivalue(
            'collection_interest_account', company=company.id)
        journal = configuration.get_multivalue(
            'collection_interest_journal', company=company.id)
        if not account or not journal:
            raise InterestError(gettext(
                    'receivable_collection.msg_interest_account_missing',
                    company=company.rec_name))
        with Transaction().set_context(date=date):
            amount = Currency.compute(self.currency, self.amount, company.currency)
        # Like the dunning fees: no maturity date, so the charge is claimed
        # with the dunned line and not dunned again on its own.
        receivable = Line(
            account=dunning.line.account, party=dunning.line.party,
            debit=amount, credit=0)
        if self.currency != company.currency:
            receivable.second_currency = self.currency
            receivable.amount_second_currency = self.amount
        income = Line(account=account, debit=0, credit=amount)
        if income.account.party_required:
            income.party = dunning.line.party
        return Move(
            company=company, journal=journal,
            date=date, period=Period.find(company, date=date), origin=self,
            description=gettext(
                'receivable_collection.msg_interest_move_description',
                line=dunning.line.rec_name),
            lines=[receivable, income])



class Move(metaclass=PoolMeta):
    "Account move that may come from charged interest."
    __name__ = 'account.move'

    @classmethod
    def _get_origin(cls):
        "Interest charges are origins of moves."
        return super()._get_origin() + ['receivable.collection.dunning.interest']
