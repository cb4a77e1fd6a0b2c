# This file is part of receivable_collection_agency.  The COPYRIGHT file at
# the top level of this repository contains the full copyright notices and
# license terms.
"The agency's remittance booked as a clearing against the handed-over invoices."
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval

from .agency import protocol
from .case import CaseRecordMixin


class Profile(metaclass=PoolMeta):
    "Agency profile with the accounts its settlements are booked on."
    __name__ = 'receivable.collection.agency.profile'

    settlement_journal = fields.Many2One(
        'account.journal', "Settlement Journal",
        context={'company': Eval('company', -1)}, depends={'company'})
    clearing_account = fields.Many2One(
        'account.account', "Agency Clearing Account",
        domain=[('company', '=', Eval('company', -1)), ('closed', '!=', True)],
        help="Where the agency's remittances are expected (party: the agency).")
    fee_account = fields.Many2One(
        'account.account', "Agency Fee Account",
        domain=[('company', '=', Eval('company', -1)), ('closed', '!=', True)],
        help="The expense the agency's fees are booked on, shown apart.")


class Settlement(CaseRecordMixin, ModelSQL, ModelView):
    "What the agency remitted for one case, and the move clearing the invoice."
    __name__ = 'receivable.collection.agency.settlement'

    case = fields.Many2One(
        'receivable.collection.agency.case', "Case", required=True, readonly=True,
        ondelete='CASCADE')
    settlement_id = fields.Char("Settlement ID", required=True, readonly=True)
    date = fields.Date("Date", required=True, readonly=True)
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'get_currency')
    principal = Monetary("Principal", currency='currency', digits='currency', readonly=True)
    interest = Monetary("Interest", currency='currency', digits='currency', readonly=True)
    costs = Monetary("Costs", currency='currency', digits='currency', readonly=True)
    agency_fee = Monetary(
        "Agency Fee", currency='currency', digits='currency', readonly=True,
        help="Fee and its VAT, kept by the agency.")
    remitted = Monetary("Remitted", currency='currency', digits='currency', readonly=True)
    compensation = Monetary(
        "Compensation", currency='currency', digits='currency', readonly=True,
        help="The B2B compensation collected within the costs, booked as revenue.")
    move = fields.Many2One('account.move', "Move", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_constraints = [
            ('case_settlement_unique', Unique(table, table.case, table.settlement_id),
                'receivable_collection_agency.msg_settlement_unique'),
            ]

    @classmethod
    def post_from_event(cls, event, case, data):
        "Book a settlement.issued event; return a note when it cannot be booked."
        code = case.currency.code
        try:
            all_lines = data.get('lines') or []
            money = {k: [protocol.parse_money(l[k], code) for l in all_lines]
                for k in ['principal', 'interest', 'costs']}
            mine = [i for i, l in enumerate(all_lines)
                if l.get('external_id') == case.external_id]
            parts = {k: sum((v[i] for i in mine), Decimal(0)) for k, v in money.items()}
            fee_total = (protocol.parse_money(data['agency_fee'], code)
                + protocol.parse_money(data['agency_fee_vat'], code))
            remitted_total = protocol.parse_money(data['remitted_amount'], code)
        except (KeyError, TypeError, ValueError) as error:
            return gettext('receivable_collection_agency.msg_settlement_bad',
                case=case.rec_name, error=str(error))
        collected_total = sum((sum(v) for v in money.values()), Decimal(0))
        if remitted_total + fee_total != collected_total:
            return gettext('receivable_collection_agency.msg_settlement_mismatch',
                case=case.rec_name, remitted=remitted_total, fee=fee_total,
                collected=collected_total)
        collected = sum(parts.values())
        # The fee of a settlement over several cases is shared by what each collected.
        fee = case.currency.round(fee_total * collected / collected_total) \
            if collected_total else Decimal(0)
        remitted = collected - fee
        profile = case.profile
        if not (profile.settlement_journal and profile.clearing_account
                and profile.fee_account):
            return gettext('receivable_collection_agency.msg_settlement_accounts',
                profile=profile.rec_name)
        settlement = cls(
            case=case, settlement_id=data['settlement_id'],
            date=protocol.parse_date(data['date']), agency_fee=fee, remitted=remitted,
            **parts)
        settlement.compensation = settlement.collected_compensation()
        revenue = settlement.compensation_account()
        if settlement.compensation and not revenue:
            return gettext('receivable_collection_agency.msg_settlement_compensation_account',
                case=case.rec_name)
        settlement.move = settlement._post()
        settlement.save()

    def collected_compensation(self):
        "The part of the costs that is B2B compensation: what the charged fees leave over."
        case = self.case
        claimed = sum((c.amount for c in case.side_claims if c.type == 'compensation'),
            Decimal(0))
        settled = sum((s.compensation or 0 for s in self.search([('case', '=', case.id)])),
            Decimal(0))
        charged = sum((c.move_line.debit for c in case.side_claims
                if c.type != 'interest' and c.move_line
                and not c.move_line.reconciliation), Decimal(0))
        return max(Decimal(0), min(claimed - settled, (self.costs or 0) - charged))

    def compensation_account(self):
        "The revenue account of compensation: the collection interest account."
        Configuration = Pool().get('receivable.collection.configuration')
        return Configuration(1).get_multivalue(
            'collection_interest_account', company=self.case.company.id)

    def _post(self):
        "The posted clearing move: agency and fee against the debtor's receivable."
        pool = Pool()
        Move = pool.get('account.move')
        Line = pool.get('account.move.line')
        Period = pool.get('account.period')
        Invoice = pool.get('account.invoice')
        case, profile = self.case, self.case.profile
        company = case.company
        invoices = [l.invoice for l in case.lines]
        receivable = invoices[0].account
        move = Move(
            company=company, journal=profile.settlement_journal, date=self.date,
            period=Period.find(company, date=self.date), origin=case,
            description=gettext('receivable_collection_agency.msg_settlement_move',
                case=case.rec_name, settlement=self.settlement_id))
        move.save()
        lines = []
        if self.remitted:
            lines.append(Line(move=move, account=profile.clearing_account,
                    debit=self.remitted, credit=0, party=profile.agency
                    if profile.clearing_account.party_required else None))
        if self.agency_fee:
            lines.append(Line(move=move, account=profile.fee_account,
                    debit=self.agency_fee, credit=0, party=profile.agency
                    if profile.fee_account.party_required else None))
        principal = []
        left = self.principal
        for invoice in invoices:
            amount = min(left, invoice.amount_to_pay)
            if amount > 0:
                line = Line(move=move, account=receivable, party=case.party,
                    debit=0, credit=amount)
                principal.append((invoice, line))
                lines.append(line)
                left -= amount
        if self.compensation:
            lines.append(Line(move=move, account=self.compensation_account(),
                    debit=0, credit=self.compensation))
        side = self.interest + self.costs + left - (self.compensation or 0)
        side_line = None
        if side:
            side_line = Line(move=move, account=receivable, party=case.party,
                debit=0, credit=side)
            lines.append(side_line)
        Line.save(lines)
        Move.post([move])
        Invoice.add_payment_lines({i: [l] for i, l in principal})
        # Fully paid invoices and fully collected side claims are reconciled.
        for invoice in Invoice.browse([i.id for i, _ in principal]):
            if not invoice.amount_to_pay:
                Line.reconcile([l for l in invoice.lines_to_pay + invoice.payment_lines
                        if not l.reconciliation], date=self.date)
        charged = [c.move_line for c in case.side_claims
            if c.move_line and not c.move_line.reconciliation]
        if side_line and charged and sum(l.debit for l in charged) == side:
            Line.reconcile(charged + [side_line], date=self.date)
        return move


class Move(metaclass=PoolMeta):
    "Account move that may come from an agency case."
    __name__ = 'account.move'

    @classmethod
    def _get_origin(cls):
        "Agency cases are origins of settlement moves."
        return super()._get_origin() + ['receivable.collection.agency.case']
