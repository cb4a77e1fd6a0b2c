# This file is part of receivable_collection_agency.  The COPYRIGHT file at
# the top level of this repository contains the full copyright notices and
# license terms.
"Debt-collection agency profiles."
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Workflow, fields
from trytond.modules.currency.fields import Monetary
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .exceptions import ProfileActivationError


class Profile(Workflow, ModelSQL, ModelView):
    "How the company hands claims over to one debt-collection agency."
    __name__ = 'receivable.collection.agency.profile'

    _readonly = {'readonly': Eval('state') != 'draft'}

    name = fields.Char("Name", required=True)
    company = fields.Many2One(
        'company.company', "Company", required=True, states=_readonly)
    agency = fields.Many2One(
        'party.party', "Agency", required=True, states=_readonly,
        context={'company': Eval('company', -1)}, depends={'company'})
    pattern = fields.Selection([
            ('push', "Push (we call the agency's API)"),
            ('pull', "Pull (the agency reads our API)"),
            ('file', "File (CSV/JSON upload or e-mail)"),
            ], "Pattern", required=True, states=_readonly)
    endpoint = fields.Char(
        "Endpoint", states={
            'required': (Eval('pattern') == 'push') & (Eval('state') != 'draft'),
            'invisible': Eval('pattern') != 'push',
            },
        help="Base URL of the agency's claim API.")
    handover_days = fields.Integer(
        "Handover Days", required=True,
        help="Days after the due date at which invoices are handed over "
        "automatically.")
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')
    minimum_amount = Monetary(
        "Minimum Amount", currency='currency', digits='currency',
        required=True, help="Smallest open amount the agency accepts.")
    state = fields.Selection([
            ('draft', "Draft"),
            ('active', "Active"),
            ('paused', "Paused"),
            ('inactive', "Inactive"),
            ], "State", readonly=True, required=True, sort=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._transitions |= {
            ('draft', 'active'),
            ('active', 'paused'),
            ('paused', 'active'),
            ('active', 'inactive'),
            ('paused', 'inactive'),
            ('inactive', 'draft'),
            }
        cls._buttons.update({
                'activate': {
                    'invisible': ~Eval('state').in_(['draft', 'paused']),
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'pause': {
                    'invisible': Eval('state') != 'active',
                    'icon': 'tryton-pause',
                    'depends': ['state'],
                    },
                'deactivate': {
                    'invisible': ~Eval('state').in_(['active', 'paused']),
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                'draft': {
                    'invisible': Eval('state') != 'inactive',
                    'icon': 'tryton-back',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_company(cls):
        "The company of the context."
        return Transaction().context.get('company')

    @classmethod
    def default_pattern(cls):
        "Most agencies offer a REST API."
        return 'push'

    @classmethod
    def default_handover_days(cls):
        "Hand over 30 days after the due date."
        return 30

    @classmethod
    def default_minimum_amount(cls):
        "Accept any amount unless the agency says otherwise."
        return 0

    @classmethod
    def default_state(cls):
        "New profiles start in draft."
        return 'draft'

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        "The company currency."
        return self.company.currency if self.company else None

    @classmethod
    def validate_fields(cls, profiles, field_names):
        "Refuse negative day counts and amounts."
        super().validate_fields(profiles, field_names)
        for profile in profiles:
            for name in ['handover_days', 'minimum_amount']:
                value = getattr(profile, name)
                if value is not None and value < 0:
                    raise ProfileActivationError(gettext(
                            'receivable_collection_agency.msg_profile_negative',
                            profile=profile.rec_name,
                            field=getattr(cls, name).string, value=value))

    @classmethod
    @ModelView.button
    @Workflow.transition('active')
    def activate(cls, profiles):
        "Start handing claims over to the agency."
        for profile in profiles:
            if profile.pattern == 'push' and not profile.endpoint:
                raise ProfileActivationError(gettext(
                        'receivable_collection_agency.msg_profile_no_endpoint',
                        profile=profile.rec_name))

    @classmethod
    @ModelView.button
    @Workflow.transition('paused')
    def pause(cls, profiles):
        "Stop handing over for a while; open cases go on."

    @classmethod
    @ModelView.button
    @Workflow.transition('inactive')
    def deactivate(cls, profiles):
        "End the cooperation with the agency."

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, profiles):
        "Reopen an ended profile for editing."
