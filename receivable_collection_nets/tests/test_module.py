# This file is part of receivable_collection_nets.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and
# license terms.
"Module tests of receivable_collection_nets."
from trytond.model.exceptions import ValidationError
from trytond.modules.company.tests import CompanyTestMixin, create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction


class ReceivableCollectionNetsTestCase(CompanyTestMixin, ModuleTestCase):
    "Test the receivable_collection_nets module."
    module = 'receivable_collection_nets'

    def _journal(self, **values):
        "Build an unsaved Nets payment journal."
        pool = Pool()
        Journal = pool.get('account.payment.journal')
        Currency = pool.get('currency.currency')
        currency, = Currency.search([], limit=1)
        values = {
            'name': "Nets", 'currency': currency, 'process_method': 'nets_bs',
            'nets_data_supplier': '12345678', 'nets_creditor_number': '87654321',
            'nets_debtor_group': '00001', 'nets_bank_code': '1234',
            'nets_bank_account': '0001234567', **values}
        return Journal(**values)

    @with_transaction()
    def test_agreement_accepted(self):
        "A journal with a complete Nets agreement saves with Nets defaults."
        company = create_company()
        with set_company(company):
            journal = self._journal()
            journal.save()
            self.assertEqual(journal.nets_subsystem, 'BS1')
            self.assertEqual(journal.nets_section, '0112')

    @with_transaction()
    def test_agreement_refuses_bad_digits(self):
        "A PBS number that is not 8 digits is refused, naming the field."
        company = create_company()
        with set_company(company):
            journal = self._journal(nets_creditor_number='1234567X')
            with self.assertRaisesRegex(ValidationError, 'PBS Number.*8 digits'):
                journal.save()

    @with_transaction()
    def test_agreement_required_for_nets(self):
        "A Nets journal without a PBS number is refused."
        company = create_company()
        with set_company(company):
            journal = self._journal(nets_creditor_number=None)
            with self.assertRaises(ValidationError):
                journal.save()


del ModuleTestCase
