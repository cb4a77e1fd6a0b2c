# This file is part of receivable_collection_agency.  The COPYRIGHT file at
# the top level of this repository contains the full copyright notices and
# license terms.
"Debt-collection agency profiles: onboarding, credentials and eligibility."
import re
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Workflow, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.pyson import Bool, Eval
from trytond.transaction import Transaction, without_check_access

from . import eligibility
from .exceptions import ProfileActivationError, ProfileValueError

# The stored column behind each write-only secret.
SECRETS = {
    'api_key': 'api_key_stored',
    'test_api_key': 'test_api_key_stored',
    'webhook_secret': 'webhook_secret_stored',
    'webhook_secret_previous': 'webhook_secret_previous_stored',
    }
_CODES = re.compile(r'^[A-Z]{2,3}( [A-Z]{2,3})*$')


def mask(secret):
    "What the client shows of a stored secret: whether it is set, and its end."
    if not secret:
        return ''
    return '•' * 8 + (secret[-4:] if len(secret) >= 12 else '')


def codes(text):
    "The codes of a blank-separated list such as 'DK NO', as a tuple."
    return tuple((text or '').upper().split())


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
    environment = fields.Selection([
            ('test', "Test"),
            ('live', "Live"),
            ], "Environment", required=True,
        help="Which of the two API keys the push client sends.")
    api_key = fields.Function(fields.Char(
            "Live API Key", help="Write the key to change it; it is never shown back."),
        'get_secrets', setter='set_secrets')
    api_key_stored = fields.Char("Live API Key (stored)", strip=False, loading='lazy')
    test_api_key = fields.Function(fields.Char(
            "Test API Key", help="Write the key to change it; it is never shown back."),
        'get_secrets', setter='set_secrets')
    test_api_key_stored = fields.Char("Test API Key (stored)", strip=False, loading='lazy')
    webhook_secret = fields.Function(fields.Char(
            "Webhook Secret",
            help="The secret the agency signs its webhooks with. Writing a new "
            "one keeps the old one valid until the next change (rotation)."),
        'get_secrets', setter='set_secrets')
    webhook_secret_stored = fields.Char("Webhook Secret (stored)", strip=False, loading='lazy')
    webhook_secret_previous = fields.Function(fields.Char(
            "Previous Webhook Secret"), 'get_secrets', setter='set_secrets')
    webhook_secret_previous_stored = fields.Char(
        "Previous Webhook Secret (stored)", strip=False, loading='lazy')
    request_timeout = fields.Integer(
        "Request Timeout", required=True, help="Seconds to wait for each answer.")
    max_tries = fields.Integer(
        "Tries per Run", required=True,
        help="Tries of one call inside a run before it waits, pending, for the next run.")
    rate_limit = fields.Numeric(
        "Requests per Second", digits=(16, 1),
        help="At most this many calls per second. Empty: no limit.")
    events_cursor = fields.Char(
        "Events Cursor", readonly=True,
        help="The position in the agency's event feed read so far.")

    # Onboarding (what the agency asks for before it takes claims)
    agency_creditor_id = fields.Char(
        "Creditor ID at Agency", help="The creditor or mandate id the agency "
        "gave at onboarding; sent with every claim.")
    creditor_name = fields.Char("Applicant Company", help="Legal name.")
    creditor_legal_form = fields.Char("Legal Form")
    creditor_registration_no = fields.Char("Registration No.")
    creditor_vat_id = fields.Char("VAT ID")
    creditor_country = fields.Many2One('country.country', "Country")
    input_vat_deductible = fields.Boolean(
        "Entitled to Deduct Input VAT",
        help="Decides whether the agency's fees are claimed gross or net.")
    claim_reason = fields.Char(
        "Claim Reason", help="What is typically sold; the reason sent with "
        "each claim when the invoice does not say more.")
    industry = fields.Char("Industry")
    b2b_share = fields.Integer("B2B Share (%)")
    expected_volume = fields.Integer(
        "Expected Claims per Month")
    contacts = fields.One2Many(
        'receivable.collection.agency.profile.contact', 'profile', "Contacts")
    payout_iban = fields.Char("Payout IBAN")
    payout_bic = fields.Char("Payout BIC")
    payout_holder = fields.Char("Payout Account Holder")
    remittance_reference = fields.Char(
        "Remittance Reference Format",
        help="How the agency marks its remittances, e.g. 'RC-{settlement_id}'.")
    poa_status = fields.Selection([
            ('not_sent', "Not Sent"),
            ('sent', "Sent"),
            ('viewed', "Viewed"),
            ('signed', "Signed"),
            ('declined', "Declined"),
            ('expired', "Expired"),
            ], "Power of Attorney", required=True,
        help="The e-signature state of the power of attorney for the agency.")
    poa_provider_ref = fields.Char("E-Sign Reference")
    poa_signed_at = fields.Date(
        "Signed On", states={'required': Eval('poa_status') == 'signed'})
    poa_document = fields.Binary("Signed Power of Attorney", filename='poa_filename')
    poa_filename = fields.Char("Power of Attorney File Name")
    terms_version = fields.Char("Terms Version")
    terms_accepted_at = fields.Date("Terms Accepted On")
    terms_accepted_by = fields.Char("Terms Accepted By")
    onboarding_missing = fields.Function(
        fields.Text("Onboarding Missing"), 'get_onboarding_missing')

    # Eligibility (section e of the contract)
    handover_days = fields.Integer(
        "Handover Days", required=True,
        help="Days after the due date at which invoices are handed over "
        "automatically.")
    auto_handover = fields.Boolean(
        "Automatic Handover",
        help="Hand over eligible invoices once they are Handover Days overdue.")
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')
    minimum_amount = Monetary(
        "Minimum Amount", currency='currency', digits='currency',
        required=True, help="Smallest open amount of a claim the agency accepts.")
    maximum_amount = Monetary(
        "Maximum Amount", currency='currency', digits='currency',
        help="Largest open amount of a claim. Empty: no limit.")
    min_days_overdue = fields.Integer(
        "Minimum Days Overdue", required=True)
    notice_days = fields.Integer(
        "Notice Days", help="Days the handover notice (reminder announcing the "
        "handover) must have run. Empty: no notice needed.")
    reminders_closed = fields.Boolean(
        "Reminders Closed First",
        help="Refuse invoices whose reminders still wait for an answer "
        "(draft dunnings), as Collectia requires.")
    poa_required = fields.Boolean(
        "Power of Attorney Required",
        help="Refuse every handover until the power of attorney is signed.")
    debtor_types = fields.Selection([
            ('both', "Persons and Companies"),
            ('person', "Persons Only"),
            ('company', "Companies Only"),
            ], "Debtors", required=True)
    min_debtor_age = fields.Integer(
        "Minimum Debtor Age", help="Years; persons need a birth date.")
    creditor_countries = fields.Char(
        "Creditor Countries", help="ISO codes separated by spaces, e.g. 'DK'. "
        "Empty: any.")
    debtor_countries = fields.Char(
        "Debtor Countries", help="ISO codes separated by spaces. Empty: any.")
    currencies = fields.Char(
        "Currencies", help="ISO codes separated by spaces. Empty: any.")
    disputed = fields.Selection([
            ('reject', "Refuse"),
            ('allow_flagged', "Hand Over Flagged"),
            ], "Disputed Invoices", required=True,
        help="What happens to an invoice with a dunning block in force.")
    require_first_reminder_date = fields.Boolean(
        "First Reminder Date Required")
    require_default_date = fields.Boolean("Default Date Required")
    require_email = fields.Boolean("E-mail Required")
    require_address = fields.Boolean("Address Required")
    invoice_pdf_required = fields.Boolean("Invoice PDF Required")
    max_claim_age_days = fields.Integer(
        "Maximum Claim Age", help="Days since the due date; older invoices "
        "are refused (limitation). Empty: no limit.")

    # Side claims (section a of the contract)
    b2b_compensation = Monetary(
        "Claim B2B Compensation", currency='b2b_compensation_currency',
        digits='b2b_compensation_currency',
        help="The statutory flat sum per invoice claimed from company debtors "
        "(e.g. DK 310 DKK, DE/EU 40 EUR, SE 450 SEK, NO standardkompensasjon); "
        "fill it in from the creditor country's law. Empty: none is claimed.")
    b2b_compensation_currency = fields.Many2One(
        'currency.currency', "Compensation Currency",
        states={'required': Bool(Eval('b2b_compensation'))},
        help="Only claims in this currency get the compensation.")

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
                'sync': {
                    'invisible': (Eval('state') == 'draft') | (Eval('pattern') != 'push'),
                    'icon': 'tryton-refresh',
                    'depends': ['state', 'pattern'],
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
    def default_environment(cls):
        "Start against the agency's test system."
        return 'test'

    @classmethod
    def default_request_timeout(cls):
        "Ten seconds."
        return 10

    @classmethod
    def default_max_tries(cls):
        "Eight tries, as the contract's retry rule says."
        return 8

    @classmethod
    def default_rate_limit(cls):
        "Five calls per second, the contract's client default."
        return Decimal(5)

    @classmethod
    def default_handover_days(cls):
        "Hand over 30 days after the due date."
        return 30

    @classmethod
    def default_auto_handover(cls):
        "Nothing is handed over without being asked to."
        return False

    @classmethod
    def default_minimum_amount(cls):
        "Accept any amount unless the agency says otherwise."
        return 0

    @classmethod
    def default_min_days_overdue(cls):
        "Two weeks, the low end of what agencies ask."
        return 14

    @classmethod
    def default_poa_status(cls):
        "Nothing sent yet."
        return 'not_sent'

    @classmethod
    def default_poa_required(cls):
        "Most agencies act only with a signed power of attorney."
        return True

    @classmethod
    def default_debtor_types(cls):
        "Persons and companies."
        return 'both'

    @classmethod
    def default_disputed(cls):
        "Disputed invoices are refused."
        return 'reject'

    @classmethod
    def default_invoice_pdf_required(cls):
        "The agency gets the invoice."
        return True

    @classmethod
    def default_state(cls):
        "New profiles start in draft."
        return 'draft'

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        "The company currency."
        return self.company.currency if self.company else None

    @fields.depends('company', 'creditor_name', 'creditor_country')
    def on_change_company(self):
        "Prefill the applicant company from the company's party."
        if self.company and not self.creditor_name:
            party = self.company.party
            self.creditor_name = party.name
            address = party.address_get()
            if address and address.country:
                self.creditor_country = address.country
            if party.tax_identifier:
                self.creditor_vat_id = party.tax_identifier.code

    @classmethod
    def get_secrets(cls, profiles, names):
        "A mask of each secret: never the secret itself."
        result = {name: {} for name in names}
        with without_check_access():
            for profile in cls.browse(profiles):
                for name in names:
                    result[name][profile.id] = mask(getattr(profile, SECRETS[name]))
        return result

    @classmethod
    def set_secrets(cls, profiles, name, value):
        "Store a new secret; writing the shown mask back changes nothing."
        if value and value.startswith('•'):
            return
        values = {SECRETS[name]: value or None}
        if name == 'webhook_secret':
            with without_check_access():
                for profile in cls.browse(profiles):
                    cls.write([profile], {
                            'webhook_secret_previous_stored': profile.webhook_secret_stored,
                            **values})
            return
        with without_check_access():
            cls.write(profiles, values)

    def secret(self, name):
        "The stored secret name (e.g. 'api_key'), for the client only."
        with without_check_access():
            return getattr(self.__class__(self.id), SECRETS[name]) or None

    @property
    def push_api_key(self):
        "The API key of the environment in use."
        return self.secret('api_key' if self.environment == 'live' else 'test_api_key')

    @property
    def webhook_secrets(self):
        "The webhook secrets valid now: the current and, while rotating, the previous."
        return [s for s in (
                self.secret('webhook_secret'), self.secret('webhook_secret_previous')) if s]

    @property
    def eligibility_rules(self):
        "The profile's eligibility settings for the plain-Python rules."
        return eligibility.Rules(
            min_amount=self.minimum_amount or None,
            max_amount=self.maximum_amount,
            min_days_overdue=self.min_days_overdue,
            notice_days=self.notice_days,
            reminders_closed=bool(self.reminders_closed),
            power_of_attorney=bool(self.poa_required),
            debtor_types=(
                ('person', 'company') if self.debtor_types == 'both'
                else (self.debtor_types,)),
            min_debtor_age=self.min_debtor_age,
            creditor_countries=codes(self.creditor_countries),
            debtor_countries=codes(self.debtor_countries),
            disputed=self.disputed,
            require_first_reminder_date=bool(self.require_first_reminder_date),
            require_default_date=bool(self.require_default_date),
            require_email=bool(self.require_email),
            require_address=bool(self.require_address),
            invoice_pdf_required=bool(self.invoice_pdf_required),
            max_claim_age_days=self.max_claim_age_days,
            currencies=codes(self.currencies))

    def compensation_for(self, debtor_type, currency):
        "The B2B compensation per invoice for a debtor type and claim currency, else None."
        if (debtor_type == 'company' and self.b2b_compensation
                and self.b2b_compensation_currency == currency):
            return self.b2b_compensation
        return None

    def get_onboarding_missing(self, name):
        "What still lacks before the profile can be activated, one per line."
        return '\n'.join(self.onboarding_gaps()) or None

    def onboarding_gaps(self):
        "The labels of the onboarding data still missing."
        cls = self.__class__
        gaps = []
        for name in ['agency_creditor_id', 'creditor_name', 'creditor_registration_no',
                'creditor_vat_id', 'creditor_country', 'claim_reason', 'payout_iban',
                'payout_holder', 'terms_version', 'terms_accepted_at']:
            if not getattr(self, name):
                gaps.append(getattr(cls, name).string)
        if not any(c.role == 'main' for c in self.contacts):
            gaps.append(gettext('receivable_collection_agency.msg_profile_gap_contact'))
        if self.poa_status != 'signed' or not self.poa_signed_at:
            gaps.append(gettext('receivable_collection_agency.msg_profile_gap_poa'))
        if self.pattern == 'push':
            if not self.endpoint:
                gaps.append(cls.endpoint.string)
            if not self.push_api_key:
                gaps.append(cls.api_key.string if self.environment == 'live'
                    else cls.test_api_key.string)
        return gaps

    @classmethod
    def validate_fields(cls, profiles, field_names):
        "Refuse negative numbers, bad code lists and a bad IBAN."
        from stdnum import iban
        super().validate_fields(profiles, field_names)
        for profile in profiles:
            for name in ['handover_days', 'minimum_amount', 'maximum_amount',
                    'min_days_overdue', 'notice_days', 'min_debtor_age',
                    'max_claim_age_days', 'b2b_share', 'expected_volume',
                    'b2b_compensation']:
                value = getattr(profile, name)
                if value is not None and value < 0:
                    raise ProfileValueError(gettext(
                            'receivable_collection_agency.msg_profile_negative',
                            profile=profile.rec_name,
                            field=getattr(cls, name).string, value=value))
            for name in ['creditor_countries', 'debtor_countries', 'currencies']:
                value = getattr(profile, name)
                if value and not _CODES.match(value.strip().upper()):
                    raise ProfileValueError(gettext(
                            'receivable_collection_agency.msg_profile_codes',
                            profile=profile.rec_name,
                            field=getattr(cls, name).string, value=value))
            if profile.payout_iban and not iban.is_valid(profile.payout_iban):
                raise ProfileValueError(gettext(
                        'receivable_collection_agency.msg_profile_iban',
                        profile=profile.rec_name, value=profile.payout_iban))

    @classmethod
    @ModelView.button
    @Workflow.transition('active')
    def activate(cls, profiles):
        "Start handing claims over: only once onboarding is complete."
        for profile in profiles:
            gaps = profile.onboarding_gaps()
            if gaps:
                raise ProfileActivationError(gettext(
                        'receivable_collection_agency.msg_profile_incomplete',
                        profile=profile.rec_name, missing=', '.join(gaps)))

    @classmethod
    @ModelView.button
    @Workflow.transition('paused')
    def pause(cls, profiles):
        "Stop handing over for a while; open cases go on syncing."

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

    @classmethod
    def copy(cls, profiles, default=None):
        "Copies start in draft without the secrets and the feed position."
        default = default.copy() if default else {}
        default.setdefault('state', 'draft')
        default.setdefault('events_cursor', None)
        for name in SECRETS.values():
            default.setdefault(name, None)
        return super().copy(profiles, default=default)

    @classmethod
    @ModelView.button
    def sync(cls, profiles):
        """Read the agency's event feed from the stored cursor and apply it.

        Each page's events and the cursor after it are saved in the same
        transaction, so a rolled-back page is read again (events dedupe by id).
        Then the direct payments and credit notes booked since are reported and
        pending actions retried.
        """
        pool = Pool()
        Event = pool.get('receivable.collection.agency.event')
        Action = pool.get('receivable.collection.agency.action')
        Case = pool.get('receivable.collection.agency.case')
        from .sync import client_for
        for profile in profiles:
            if profile.pattern != 'push' or profile.state == 'draft':
                continue
            with client_for(profile) as client:
                for page in client.iter_event_pages(cursor=profile.events_cursor):
                    Event.store(profile, [e.to_json() for e in page.events], 'poll')
                    Event.apply_pending(profile)
                    profile.events_cursor = page.next_cursor
                    profile.save()
            cases = Case.search([
                    ('profile', '=', profile.id), ('state', 'in', ['submitted',
                            'accepted', 'in_progress', 'installment_plan'])])
            Action.queue_reports(cases)
            Action.process(Action.search([
                        ('case.profile', '=', profile.id), ('state', '=', 'pending')]))

    @classmethod
    def cron_sync(cls):
        "Synchronise the company's agency profiles (push: poll the events feed)."
        company_id = Transaction().context.get('company')
        cls.sync(cls.search([
                    ('company', '=', company_id),
                    ('state', 'in', ['active', 'paused', 'inactive']),
                    ]))

    @classmethod
    def for_webhook(cls, profile_id):
        "The profile a webhook names, read without the user's access rights."
        with without_check_access():
            profiles = cls.search([('id', '=', profile_id)])
            return profiles[0] if profiles else None


class ProfileRecordMixin:
    "Records of an agency profile, in the profile's company (for the company rule)."
    __slots__ = ()
    company = fields.Function(fields.Many2One(
            'company.company', "Company"),
        'get_company', searcher='search_company')

    def get_company(self, name):
        "The company of the profile."
        return self.profile.company.id

    @classmethod
    def search_company(cls, name, clause):
        "Search on the profile's company."
        return [('profile.company',) + tuple(clause[1:])]


class ProfileContact(ProfileRecordMixin, ModelSQL, ModelView):
    "A person the agency talks to at the creditor."
    __name__ = 'receivable.collection.agency.profile.contact'

    profile = fields.Many2One(
        'receivable.collection.agency.profile', "Profile", required=True,
        ondelete='CASCADE')
    role = fields.Selection([
            ('main', "Main"),
            ('accounting', "Accounting"),
            ('legal', "Legal"),
            ], "Role", required=True)
    name = fields.Char("Name", required=True)
    email = fields.Char("E-mail")
    phone = fields.Char("Phone")

    @classmethod
    def default_role(cls):
        "The main contact."
        return 'main'

