# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"Module tests of receivable_collection."
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.modules.company.tests import CompanyTestMixin, create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction


class ReceivableCollectionTestCase(CompanyTestMixin, ModuleTestCase):
    "Test the receivable_collection module."
    module = 'receivable_collection'

    @with_transaction()
    def test_configuration_defaults_per_company(self):
        "Each company gets its own collection settings with defaults."
        pool = Pool()
        Configuration = pool.get('receivable.collection.configuration')
        first = create_company(name="First")
        second = create_company(name="Second")
        with set_company(first):
            config = Configuration(1)
            self.assertEqual(config.collection_horizon, 7)
            self.assertEqual(config.collection_tolerance, Decimal(0))
            config.collection_horizon = 14
            config.save()
        with set_company(second):
            self.assertEqual(Configuration(1).collection_horizon, 7)
        with set_company(first):
            self.assertEqual(Configuration(1).collection_horizon, 14)

    @with_transaction()
    def test_configuration_refuses_negative(self):
        "A negative horizon is refused with the field named."
        pool = Pool()
        Configuration = pool.get('receivable.collection.configuration')
        company = create_company()
        with set_company(company):
            config = Configuration(1)
            config.collection_horizon = -1
            with self.assertRaisesRegex(UserError, 'Collection Horizon'):
                config.save()


del ModuleTestCase
