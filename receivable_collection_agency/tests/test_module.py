# This file is part of receivable_collection_agency.  The COPYRIGHT file at
# the top level of this repository contains the full copyright notices and
# license terms.
"Module tests of receivable_collection_agency."
import datetime as dt

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.modules.company.tests import CompanyTestMixin, create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction


class ReceivableCollectionAgencyTestCase(CompanyTestMixin, ModuleTestCase):
    "Test the receivable_collection_agency module."
    module = 'receivable_collection_agency'

    def _profile(self, company, **values):
        "Create a draft agency profile."
        pool = Pool()
        Party = pool.get('party.party')
        Profile = pool.get('receivable.collection.agency.profile')
        agency = Party(name="Collectia A/S")
        agency.save()
        profile = Profile(name="Collectia", company=company, agency=agency, **values)
        profile.save()
        return profile

    def _onboard(self, profile):
        "Fill in everything the agency asks for at onboarding."
        pool = Pool()
        Country = pool.get('country.country')
        Contact = pool.get('receivable.collection.agency.profile.contact')
        country = Country(name="Denmark", code='DK')
        country.save()
        profile.agency_creditor_id = 'cred-42'
        profile.creditor_name = "Nordlys ApS"
        profile.creditor_registration_no = '12345674'
        profile.creditor_vat_id = 'DK12345674'
        profile.creditor_country = country
        profile.claim_reason = "Services"
        profile.payout_iban = 'DK50 0040 0440 1162 43'
        profile.payout_holder = "Nordlys ApS"
        profile.terms_version = '2026-01'
        profile.terms_accepted_at = dt.date(2026, 1, 5)
        profile.poa_status = 'signed'
        profile.poa_signed_at = dt.date(2026, 1, 5)
        profile.test_api_key = 'sk_test_0123456789abcdef'
        profile.save()
        Contact(profile=profile, role='main', name="Anna", email='anna@example.dk').save()

    @with_transaction()
    def test_profile_lifecycle(self):
        "An onboarded push profile activates, pauses, resumes and ends."
        pool = Pool()
        Profile = pool.get('receivable.collection.agency.profile')
        company = create_company()
        with set_company(company):
            profile = self._profile(company, endpoint='http://127.0.0.1:9/api')
            self.assertEqual((profile.state, profile.handover_days), ('draft', 30))
            self._onboard(profile)
            self.assertIsNone(profile.onboarding_missing)
            Profile.activate([profile])
            self.assertEqual(profile.state, 'active')
            Profile.pause([profile])
            self.assertEqual(profile.state, 'paused')
            Profile.activate([profile])
            self.assertEqual(profile.state, 'active')
            Profile.deactivate([profile])
            self.assertEqual(profile.state, 'inactive')

    @with_transaction()
    def test_activation_needs_onboarding(self):
        "Activation is refused, naming every missing item, until onboarding is done."
        pool = Pool()
        Profile = pool.get('receivable.collection.agency.profile')
        company = create_company()
        with set_company(company):
            profile = self._profile(company)
            with self.assertRaises(UserError) as context:
                Profile.activate([profile])
            message = context.exception.message
            for missing in ["Creditor ID at Agency", "Registration No.", "Payout IBAN",
                    "a main contact", "a signed power of attorney", "Endpoint",
                    "Test API Key"]:
                self.assertIn(missing, message)
            self.assertEqual(profile.state, 'draft')
            self._onboard(profile)
            profile.poa_status = 'declined'
            profile.save()
            with self.assertRaisesRegex(UserError, 'Missing: a signed power of attorney'):
                Profile.activate([profile])

    @with_transaction()
    def test_secrets_never_read_back(self):
        "Keys show as a mask; the stored value is out of reach of the client."
        pool = Pool()
        Profile = pool.get('receivable.collection.agency.profile')
        company = create_company()
        with set_company(company):
            profile = self._profile(company)
            Profile.write([profile], {'api_key': 'sk_live_abcdefghijkl9876'})
            profile = Profile(profile.id)
            self.assertEqual(profile.api_key, '••••••••9876')
            self.assertNotIn('abcdefgh', profile.api_key)
            self.assertIsNone(profile.push_api_key)  # environment test
            profile.environment = 'live'
            self.assertEqual(profile.push_api_key, 'sk_live_abcdefghijkl9876')
            with Transaction().set_context(_check_access=True):
                with self.assertRaises(AccessError):
                    Profile.read([profile.id], ['api_key_stored'])
                with self.assertRaises(AccessError):
                    Profile.search([('api_key_stored', 'like', 'sk_%')])
                self.assertEqual(
                    Profile.read([profile.id], ['api_key'])[0]['api_key'], '••••••••9876')
                # The mask written back (unchanged form) keeps the key.
                Profile.write([profile], {'api_key': '••••••••9876'})
            self.assertEqual(profile.secret('api_key'), 'sk_live_abcdefghijkl9876')

    @with_transaction()
    def test_webhook_secret_rotation(self):
        "A new webhook secret keeps the old one valid, then replaces it."
        pool = Pool()
        Profile = pool.get('receivable.collection.agency.profile')
        company = create_company()
        with set_company(company):
            profile = self._profile(company)
            Profile.write([profile], {'webhook_secret': 'whsec_first_secret'})
            self.assertEqual(Profile(profile.id).webhook_secrets, ['whsec_first_secret'])
            Profile.write([profile], {'webhook_secret': 'whsec_second_secret'})
            self.assertEqual(Profile(profile.id).webhook_secrets,
                ['whsec_second_secret', 'whsec_first_secret'])

    @with_transaction()
    def test_profile_values_checked(self):
        "Negative days, code lists and IBANs are checked."
        company = create_company()
        with set_company(company):
            with self.assertRaisesRegex(UserError, 'Minimum Days Overdue'):
                self._profile(company, min_days_overdue=-1)
            with self.assertRaisesRegex(UserError, 'ISO codes'):
                self._profile(company, debtor_countries='DK,NO')
            with self.assertRaisesRegex(UserError, 'IBAN'):
                self._profile(company, payout_iban='DK50 0040 0440 1162 44')
            profile = self._profile(company, debtor_countries='dk no', currencies='DKK')
            rules = profile.eligibility_rules
            self.assertEqual((rules.debtor_countries, rules.currencies, rules.min_amount),
                (('DK', 'NO'), ('DKK',), None))

    def _case(self, company, **values):
        "A saved draft case of a new profile."
        pool = Pool()
        Party = pool.get('party.party')
        Case = pool.get('receivable.collection.agency.case')
        debtor = Party(name="Mette Jensen")
        debtor.save()
        case = Case(company=company, profile=self._profile(company), party=debtor,
            currency=company.currency, reason="Services", **values)
        case.save()
        return case

    @with_transaction()
    def test_case_number_and_states(self):
        "Cases are numbered RC-YYYY-NNNNNN and move only as the contract allows."
        pool = Pool()
        Case = pool.get('receivable.collection.agency.case')
        Date = pool.get('ir.date')
        company = create_company()
        with set_company(company):
            case = self._case(company)
            self.assertEqual(case.external_id, f'RC-{Date.today().year}-000001')
            self.assertEqual(Case.set_state([case], 'accepted'), [])
            self.assertEqual(case.state, 'draft')
            for state in ['submitted', 'accepted', 'in_progress', 'paid']:
                self.assertEqual(Case.set_state([case], state), [case])
            self.assertEqual(Case.set_state([case], 'in_progress'), [])
            Case.close([case])
            self.assertEqual((case.state, case.closed_outcome), ('closed', 'paid'))
            with self.assertRaisesRegex(UserError, 'cannot be deleted'):
                Case.delete([case])
            second = self._case(company)
            self.assertEqual(second.external_id, f'RC-{Date.today().year}-000002')
            Case.delete([second])

    @with_transaction()
    def test_case_blocks_dunning(self):
        "Dunning waits while the agency has the case, and after a settled recall."
        pool = Pool()
        Case = pool.get('receivable.collection.agency.case')
        cases = {
            ('draft', None, None): False,
            ('submitted', None, None): True,
            ('installment_plan', None, None): True,
            ('uncollectible', None, None): True,
            ('rejected', None, None): False,
            ('recalled', 'error', None): False,
            ('recalled', 'paid_directly', None): True,
            ('closed', 'disputed', 'recalled'): False,
            ('closed', 'settled', 'recalled'): True,
            ('closed', None, 'paid'): True,
            }
        for (state, reason, outcome), blocks in cases.items():
            case = Case(state=state, recall_reason=reason, closed_outcome=outcome)
            self.assertEqual(case.blocks_dunning, blocks, (state, reason, outcome))


del ModuleTestCase
