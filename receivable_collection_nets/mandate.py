# This file is part of receivable_collection_nets.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and
# license terms.
"Nets Betalingsservice mandates: who may be collected under which agreement."
from collections import defaultdict

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, Workflow, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.transaction import Transaction

from .betalingsservice import normalise_customer_number
from .betalingsservice.replies import CANCELLED
from .exceptions import NetsMandateError

# Nets' mandate numbers have 9 digits (0601 BS042 positions 043-051).
MANDATE_DIGITS = 9
# 999999999 in a 0603 marks an e-indbetalingskort agreement, not a mandate.
CARD_AGREEMENT = '9' * MANDATE_DIGITS


class Mandate(Workflow, ModelSQL, ModelView):
    "A debtor's Nets Betalingsservice mandate under one payment journal's agreement."
    __name__ = 'receivable.collection.nets.mandate'

    _readonly = {'readonly': Eval('state') != 'requested'}
    _dates = {'readonly': Eval('state') == 'cancelled'}

    company = fields.Many2One(
        'company.company', "Company", required=True, states=_readonly)
    party = fields.Many2One(
        'party.party', "Party", required=True, states=_readonly,
        context={'company': Eval('company', -1)}, depends={'company'})
    journal = fields.Many2One(
        'account.payment.journal', "Journal", required=True, states=_readonly,
        domain=[
            ('process_method', '=', 'nets_bs'),
            ('company', '=', Eval('company', -1)),
            ],
        help="The payment journal that carries the Nets agreement.")
    customer_number = fields.Char(
        "Customer Number", size=15, required=True, states=_readonly,
        help="The debtor's number at the creditor, as sent to Nets "
        "(stored in upper case).")
    mandate_number = fields.Char(
        "Mandate Number", size=MANDATE_DIGITS,
        states={
            'readonly': Eval('state') == 'cancelled',
            'required': Eval('state') == 'active',
            },
        help="The 9-digit number Nets gave the mandate (delivery 0603).")
    start_date = fields.Date("Start Date", states=_dates)
    end_date = fields.Date(
        "End Date", states=_dates,
        domain=[
            If(Eval('start_date') & Eval('end_date'),
                ('end_date', '>=', Eval('start_date')),
                ()),
            ],
        help="The last payment date the mandate covers.")
    state = fields.Selection([
            ('requested', "Requested"),
            ('active', "Active"),
            ('cancelled', "Cancelled"),
            ], "State", readonly=True, required=True, sort=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('customer_number_unique', Unique(t, t.journal, t.customer_number),
                'receivable_collection_nets.msg_mandate_customer_number_unique'),
            ]
        cls._sql_indexes.add(
            Index(
                t, (t.party, Index.Equality()), (t.journal, Index.Equality()),
                where=t.state == 'active'))
        cls._order.insert(0, ('customer_number', 'ASC'))
        cls._transitions |= {
            ('requested', 'active'),
            ('requested', 'cancelled'),
            ('active', 'cancelled'),
            }
        cls._buttons.update({
                'activate': {
                    'invisible': Eval('state') != 'requested',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': Eval('state') == 'cancelled',
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_company(cls):
        "The company of the context."
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        "A mandate is requested until Nets confirms it."
        return 'requested'

    def get_rec_name(self, name):
        "The customer number with the party."
        return f'{self.customer_number} ({self.party.rec_name})'

    @classmethod
    def search_rec_name(cls, name, clause):
        "Search on customer number, mandate number and party."
        if clause[1].startswith('!') or clause[1].startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        return [bool_op,
            ('customer_number',) + tuple(clause[1:]),
            ('mandate_number',) + tuple(clause[1:]),
            ('party',) + tuple(clause[1:]),
            ]

    @classmethod
    def preprocess_values(cls, mode, values):
        "Store the customer number in upper case and the mandate number with 9 digits."
        values = super().preprocess_values(mode, values)
        if values.get('customer_number'):
            values['customer_number'] = values['customer_number'].strip().upper()
        number = values.get('mandate_number')
        if number:
            number = number.strip()
            if number.isdigit():
                number = number.zfill(MANDATE_DIGITS)
            values['mandate_number'] = number
        elif 'mandate_number' in values:
            values['mandate_number'] = None
        return values

    @classmethod
    def validate_fields(cls, mandates, field_names):
        "Check the mandate number has the form Nets gives it."
        super().validate_fields(mandates, field_names)
        if field_names & {'mandate_number'}:
            for mandate in mandates:
                mandate.check_mandate_number()

    def check_mandate_number(self):
        "Refuse a mandate number that is not a Nets direct-debit mandate number."
        number = self.mandate_number
        if number is None:
            return
        if (not (number.isascii() and number.isdigit())
                or len(number) != MANDATE_DIGITS
                or number in {'0' * MANDATE_DIGITS, CARD_AGREEMENT}):
            raise NetsMandateError(gettext(
                    'receivable_collection_nets.msg_mandate_number',
                    mandate=self.rec_name, number=number))

    def covers(self, date):
        "Whether the mandate is active on date."
        return (self.state == 'active'
            and (not self.start_date or self.start_date <= date)
            and (not self.end_date or date <= self.end_date))

    @classmethod
    def copy(cls, mandates, default=None):
        "Copy as a new request without Nets' numbers."
        default = default.copy() if default is not None else {}
        default.setdefault('mandate_number', None)
        default.setdefault('start_date', None)
        default.setdefault('end_date', None)
        return super().copy(mandates, default=default)

    @classmethod
    def check_modification(cls, mode, mandates, values=None, external=False):
        "Refuse to delete active mandates."
        super().check_modification(
            mode, mandates, values=values, external=external)
        if mode == 'delete':
            for mandate in mandates:
                if mandate.state == 'active':
                    raise AccessError(gettext(
                            'receivable_collection_nets.msg_mandate_delete_active',
                            mandate=mandate.rec_name))

    @classmethod
    def nets_journals(cls, company, events):
        "Map (PBS number, debtor group) of the reply events to the company's journals."
        pool = Pool()
        Journal = pool.get('account.payment.journal')
        journals = Journal.search([
                ('company', '=', company.id),
                ('process_method', '=', 'nets_bs'),
                ('nets_creditor_number', 'in', list({e.pbs_number for e in events})),
                ], order=[('id', 'ASC')])
        result = defaultdict(list)
        for journal in journals:
            group = journal.nets_debtor_group
            if group and group.isdigit():
                result[(journal.nets_creditor_number, int(group))].append(journal)
        return result

    @classmethod
    def nets_find(cls, journals, customer_numbers):
        """Map (journal, customer number) to the mandates with that number.

        Customer numbers are compared without blanks and leading zeros, as Nets
        returns them right-aligned with zeros (spec section 1)."""
        customer_numbers = set(filter(None, customer_numbers))
        if not journals or not customer_numbers:
            return {}
        mandates = cls.search([
                ('journal', 'in', [j.id for j in journals]),
                ['OR',
                    ('customer_number', 'in', list(customer_numbers)),
                    ('customer_number', 'like', '0%'),
                    ],
                ], order=[('id', 'ASC')])
        result = defaultdict(list)
        for mandate in mandates:
            number = normalise_customer_number(mandate.customer_number)
            if number in customer_numbers:
                result[(mandate.journal, number)].append(mandate)
        return result

    @staticmethod
    def nets_named_by(record, journals, found):
        """The mandates a reply record names by PBS number, group and customer.

        Return (mandates, None), or ([], the problem naming what is unknown).
        """
        key = (record.pbs_number, record.debtor_group)
        if key not in journals:
            return [], gettext(
                'receivable_collection_nets.msg_reply_no_journal',
                pbs=record.pbs_number, group=record.debtor_group)
        mandates = [
            m for j in journals[key]
            for m in found.get((j, record.customer_number), [])]
        if not mandates:
            return [], gettext(
                'receivable_collection_nets.msg_reply_unknown_customer',
                customer=record.raw_customer_number.strip(),
                pbs=record.pbs_number, group=record.debtor_group)
        return mandates, None

    @classmethod
    def nets_plan_0603(cls, company, changes, today):
        """Match the 0603 changes to mandates without changing anything.

        Return the plan for nets_apply_0603 and the problems as (line, text)."""
        journals = cls.nets_journals(company, changes)
        found = cls.nets_find(
            {j for js in journals.values() for j in js},
            {c.customer_number for c in changes})
        mandates = [m for ms in found.values() for m in ms]
        cls.lock(mandates)
        state = {m: m.state for m in mandates}
        values = defaultdict(dict)
        problems = []
        for change in changes:
            if change.is_card_agreement:
                # an e-indbetalingskort agreement, not a direct-debit mandate
                continue
            key_mandates, problem = cls.nets_named_by(change, journals, found)
            if problem:
                problems.append((change.line, problem))
                continue
            if change.status == CANCELLED:
                for mandate in key_mandates:
                    if state[mandate] != 'cancelled':
                        values[mandate]['end_date'] = change.end_date or today
                        state[mandate] = 'cancelled'
                continue
            open_mandates = [m for m in key_mandates if state[m] != 'cancelled']
            if not open_mandates:
                problems.append((change.line, gettext(
                            'receivable_collection_nets.msg_0603_mandate_cancelled',
                            mandate=key_mandates[0].rec_name)))
                continue
            for mandate in open_mandates:
                values[mandate].update({
                        'mandate_number': change.mandate_number,
                        'start_date': change.start_date,
                        'end_date': change.end_date,
                        })
                state[mandate] = 'active'
        return (values, state), problems

    @classmethod
    def nets_apply_0603(cls, plan):
        "Write the numbers and dates of the plan, then activate and cancel."
        values, state = plan
        to_activate = [
            m for m in values if m.state == 'requested' and state[m] == 'active']
        to_cancel = [
            m for m in values if m.state != 'cancelled' and state[m] == 'cancelled']
        args = []
        for mandate, mandate_values in values.items():
            if any(getattr(mandate, k) != v for k, v in mandate_values.items()):
                args.extend(([mandate], mandate_values))
        if args:
            cls.write(*args)
        if to_activate:
            cls.activate(to_activate)
        if to_cancel:
            cls.cancel(to_cancel)

    @classmethod
    @ModelView.button
    @Workflow.transition('active')
    def activate(cls, mandates):
        "Record that Nets confirmed the mandates."

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, mandates):
        "End the mandates."
