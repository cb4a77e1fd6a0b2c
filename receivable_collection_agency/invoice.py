# This file is part of receivable_collection_agency.  The COPYRIGHT file at
# the top level of this repository contains the full copyright notices and
# license terms.
"Hand invoices over to an agency; the invoice shows its case."
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .case import OPEN, STATES, WITH_AGENCY
from .exceptions import HandoverError

_CUSTOMER = {'invisible': Eval('type') != 'out'}


class Invoice(metaclass=PoolMeta):
    "Customer invoice showing the agency case it is in."
    __name__ = 'account.invoice'

    agency_case = fields.Function(fields.Many2One(
            'receivable.collection.agency.case', "Agency Case", states=_CUSTOMER),
        'get_agency_case', searcher='search_agency_case')
    agency_case_state = fields.Function(fields.Selection(
            [(None, "")] + STATES, "Agency Case State", states=_CUSTOMER),
        'get_agency_case')
    agency_name = fields.Function(fields.Char("Agency", states=_CUSTOMER),
        'get_agency_case')
    agency_case_lines = fields.One2Many(
        'receivable.collection.agency.case.line', 'invoice', "Agency Case Lines",
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'agency_hand_over': {
                    'invisible': ((Eval('type') != 'out')
                        | (Eval('state') != 'posted')
                        | Eval('agency_case_state').in_(list(OPEN))),
                    'depends': ['type', 'state', 'agency_case_state'],
                    },
                })

    @classmethod
    def get_agency_case(cls, invoices, names):
        "The open case of each invoice, else its latest one, in one query."
        pool = Pool()
        Line = pool.get('receivable.collection.agency.case.line')
        cases = {}
        for line in Line.search([
                    ('invoice', 'in', [i.id for i in invoices]),
                    ], order=[('id', 'ASC')]):
            current = cases.get(line.invoice.id)
            if current is None or current.state not in OPEN:
                cases[line.invoice.id] = line.case
        result = {name: {} for name in names}
        for invoice in invoices:
            case = cases.get(invoice.id)
            values = {
                'agency_case': case.id if case else None,
                'agency_case_state': case.state if case else None,
                'agency_name': case.profile.agency.rec_name if case else None,
                }
            for name in names:
                result[name][invoice.id] = values[name]
        return result

    @classmethod
    def search_agency_case(cls, name, clause):
        "Invoices by their cases."
        return [('agency_case_lines.case' + clause[0][len(name):],) + tuple(clause[1:])]

    @classmethod
    @ModelView.button_action('receivable_collection_agency.wizard_hand_over')
    def agency_hand_over(cls, invoices):
        "Hand the invoices over to a collection agency."

    @classmethod
    def process(cls, invoices):
        "Report payments and credit notes on handed-over invoices to the agency."
        super().process(invoices)
        cls.agency_report(invoices)

    @classmethod
    def post(cls, invoices):
        "Report posted credit notes on handed-over invoices to the agency."
        pool = Pool()
        Action = pool.get('receivable.collection.agency.action')
        super().post(invoices)
        Action.process(Action.queue_credit_notes(invoices))

    @classmethod
    def add_payment_lines(cls, payments):
        "Report the partial payments added to handed-over invoices."
        super().add_payment_lines(payments)
        cls.agency_report(cls.browse(list(payments)))

    @classmethod
    def agency_report(cls, invoices):
        "Queue and send the reports of the cases of the invoices (credit notes' too)."
        pool = Pool()
        Case = pool.get('receivable.collection.agency.case')
        Action = pool.get('receivable.collection.agency.action')
        ids = {i.id for i in invoices}
        for invoice in invoices:
            for line in invoice.lines:
                origin = getattr(line, 'origin', None)
                if getattr(origin, '__name__', None) == 'account.invoice.line':
                    ids.add(origin.invoice.id)
        cases = [c for c in Case.blocking_cases(list(ids)).values() if c.state in WITH_AGENCY]
        if cases:
            Action.process(Action.queue_reports(list(set(cases))))

    @classmethod
    def copy(cls, invoices, default=None):
        "A copy is in no case."
        default = default.copy() if default else {}
        default.setdefault('agency_case_lines', None)
        return super().copy(invoices, default=default)


class HandOverStart(ModelView):
    "Which agency takes the selected invoices."
    __name__ = 'receivable.collection.agency.hand_over.start'

    company = fields.Many2One('company.company', "Company", readonly=True)
    profile = fields.Many2One(
        'receivable.collection.agency.profile', "Agency", required=True,
        domain=[
            ('company', '=', Eval('company', -1)),
            ('state', 'in', ['active', 'paused']),
            ])
    submit = fields.Boolean(
        "Submit Now", help="Send the cases to the agency at once; "
        "otherwise they wait in draft.")
    invoices = fields.Many2Many(
        'account.invoice', None, None, "Invoices", readonly=True)


class HandOverResult(ModelView):
    "The cases created and the invoices refused, each with the rule."
    __name__ = 'receivable.collection.agency.hand_over.result'

    cases = fields.Many2Many(
        'receivable.collection.agency.case', None, None, "Cases", readonly=True)
    refusals = fields.Text("Refused", readonly=True)


class HandOver(Wizard):
    "Hand over to collection agency: one case per customer and currency."
    __name__ = 'receivable.collection.agency.hand_over'

    start = StateView('receivable.collection.agency.hand_over.start',
        'receivable_collection_agency.hand_over_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Hand Over", 'hand_over', 'tryton-ok', default=True),
            ])
    hand_over = StateTransition()
    result = StateView('receivable.collection.agency.hand_over.result',
        'receivable_collection_agency.hand_over_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def default_start(self, fields):
        "The selected invoices and their company's only profile if there is one."
        pool = Pool()
        Profile = pool.get('receivable.collection.agency.profile')
        invoices = [i for i in self.records if i.type == 'out']
        companies = {i.company for i in invoices}
        if len(companies) != 1:
            raise HandoverError(gettext(
                    'receivable_collection_agency.msg_hand_over_one_company'))
        company, = companies
        profiles = Profile.search([
                ('company', '=', company.id), ('state', 'in', ['active', 'paused'])])
        return {
            'company': company.id,
            'profile': profiles[0].id if len(profiles) == 1 else None,
            'submit': True,
            'invoices': [i.id for i in invoices],
            }

    def transition_hand_over(self):
        "Check eligibility, create the cases and submit them if asked."
        pool = Pool()
        Case = pool.get('receivable.collection.agency.case')
        Date = pool.get('ir.date')
        profile = self.start.profile
        with Transaction().set_context(company=profile.company.id):
            cases, refused = Case.hand_over(
                profile, list(self.start.invoices), Date.today(), origin='manual')
            if self.start.submit and cases:
                Case.submit(cases)
        self.result.cases = cases
        self.result.refusals = '\n'.join(
            str(r) for refusals in refused.values() for r in refusals) or None
        return 'result'

    def default_result(self, fields):
        "What the transition found."
        return {
            'cases': [c.id for c in self.result.cases],
            'refusals': self.result.refusals,
            }
