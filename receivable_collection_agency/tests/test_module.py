# This file is part of receivable_collection_agency.  The COPYRIGHT file at
# the top level of this repository contains the full copyright notices and
# license terms.
"Module tests of receivable_collection_agency."
from trytond.exceptions import UserError
from trytond.modules.company.tests import CompanyTestMixin, create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction


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

    @with_transaction()
    def test_profile_lifecycle(self):
        "A push profile activates with an endpoint, pauses and ends."
        pool = Pool()
        Profile = pool.get('receivable.collection.agency.profile')
        company = create_company()
        with set_company(company):
            profile = self._profile(company, endpoint='http://127.0.0.1:9/api')
            self.assertEqual((profile.state, profile.handover_days), ('draft', 30))
            Profile.activate([profile])
            self.assertEqual(profile.state, 'active')
            Profile.pause([profile])
            self.assertEqual(profile.state, 'paused')
            Profile.deactivate([profile])
            self.assertEqual(profile.state, 'inactive')

    @with_transaction()
    def test_push_profile_needs_endpoint(self):
        "A push profile without endpoint cannot be activated."
        pool = Pool()
        Profile = pool.get('receivable.collection.agency.profile')
        company = create_company()
        with set_company(company):
            profile = self._profile(company)
            with self.assertRaisesRegex(UserError, 'endpoint'):
                Profile.activate([profile])
            self.assertEqual(profile.state, 'draft')


del ModuleTestCase
