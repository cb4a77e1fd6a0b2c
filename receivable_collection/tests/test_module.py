# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"Module tests of receivable_collection."
import datetime as dt
import hashlib
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.modules.company.tests import CompanyTestMixin, create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

from .. import dunning_rules


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

    @with_transaction()
    def test_load_german_preset(self):
        "The German preset becomes a procedure with the Mahnlauf's levels."
        pool = Pool()
        LoadPreset = pool.get('receivable.collection.dunning.preset', type='wizard')
        preset = dunning_rules.default_presets().presets['DE']
        procedure = LoadPreset.create_procedure(preset, "DE")
        self.assertEqual(
            [(lv.overdue.days, lv.collection_window, lv.print_on_letter,
                    lv.send_email, lv.collection_notice, lv.collection_handover)
                for lv in procedure.levels],
            [(7, 3, False, True, False, False),
                (21, 7, False, True, False, False),
                (35, 7, True, False, True, False),
                (49, 7, False, False, False, True)])
        self.assertEqual(procedure.collection_notice_days, 14)
        self.assertEqual(
            [r.days_overdue for r in procedure.collection_rules()], [7, 21, 35, 49])

    @with_transaction()
    def test_load_danish_preset_caps(self):
        "The Danish preset caps fees at three reminders ten days apart."
        pool = Pool()
        LoadPreset = pool.get('receivable.collection.dunning.preset', type='wizard')
        preset = dunning_rules.default_presets().presets['DK']
        procedure = LoadPreset.create_procedure(preset, "DK")
        self.assertEqual(
            (procedure.collection_max_fee_reminders, procedure.collection_min_spacing),
            (3, 10))
        self.assertEqual(len(procedure.levels), 5)

    @with_transaction()
    def test_overlapping_levels_refused(self):
        "A level whose window reaches the next level is refused, naming the field."
        pool = Pool()
        Procedure = pool.get('account.dunning.procedure')
        procedure = Procedure(name="Overlap", levels=[
                {'overdue': dt.timedelta(days=7), 'collection_window': 20,
                    'print_on_letter': True},
                {'overdue': dt.timedelta(days=21), 'print_on_letter': True},
                ])
        with self.assertRaisesRegex(UserError, 'Window.*reaches'):
            procedure.save()

    @with_transaction()
    def test_backwards_levels_refused(self):
        "Levels whose days go backwards are refused, naming the field."
        pool = Pool()
        Procedure = pool.get('account.dunning.procedure')
        procedure = Procedure(name="Backwards", levels=[
                {'sequence': 1, 'overdue': dt.timedelta(days=21),
                    'print_on_letter': True},
                {'sequence': 2, 'overdue': dt.timedelta(days=7),
                    'print_on_letter': True},
                ])
        with self.assertRaisesRegex(UserError, 'Overdue.*must increase'):
            procedure.save()

    @with_transaction()
    def test_negative_window_refused(self):
        "A negative window is refused, naming the field."
        pool = Pool()
        Procedure = pool.get('account.dunning.procedure')
        procedure = Procedure(name="Negative", levels=[
                {'overdue': dt.timedelta(days=7), 'collection_window': -1,
                    'print_on_letter': True},
                ])
        with self.assertRaisesRegex(UserError, '"Window".*zero or more'):
            procedure.save()

    @with_transaction()
    def test_run_needs_a_company(self):
        "A run without company is refused; a new one covers the current company."
        pool = Pool()
        Run = pool.get('receivable.collection.dunning.run')
        company = create_company()
        with set_company(company):
            self.assertEqual(Run.default_companies(), [company.id])
            run = Run(date=dt.date(2026, 6, 1), companies=[])
            with self.assertRaisesRegex(UserError, 'Companies'):
                run.save()

    @with_transaction()
    def test_run_company_migration(self):
        "Runs and lines made when a run had one company keep that company."
        pool = Pool()
        Run = pool.get('receivable.collection.dunning.run')
        RunCompany = pool.get('receivable.collection.dunning.run.company')
        Message = pool.get('receivable.collection.dunning.message')
        Party = pool.get('party.party')
        module = 'receivable_collection'
        company = create_company()
        with set_company(company):
            run = Run(date=dt.date(2026, 6, 1))
            run.save()
            party = Party(name="Customer")
            party.save()
            message = Message(
                run=run, company=company, party=party, channel='letter',
                state='sent')
            message.save()
        self.assertEqual(run.companies, (company,))

        # The schema before: the run's company column, none on messages
        cursor = Transaction().connection.cursor()
        run_h = Run.__table_handler__(module)
        run_h.add_column('company', 'INTEGER')
        run_table = Run.__table__()
        cursor.execute(*run_table.update([run_table.company], [company.id]))
        RunCompany.delete(RunCompany.search([]))
        Message.__table_handler__(module).drop_column('company')

        Message.__register__(module)
        RunCompany.__register__(module)

        self.assertEqual(Run(run.id).companies, (company,))
        self.assertEqual(Message(message.id).company, company)
        self.assertFalse(Run.__table_handler__(module).column_exist('company'))

    def _file(self, data=b'BS002', direction='in', **values):
        "Create a collection file."
        pool = Pool()
        File = pool.get('receivable.collection.file')
        values.setdefault('filename', 'f.txt')
        file = File(data=data, direction=direction, **values)
        file.save()
        return file

    @with_transaction()
    def test_file_digest_and_duplicate(self):
        "A file is stored with its SHA-256; the same file again names the first."
        company = create_company()
        with set_company(company):
            file = self._file(b'same bytes', filename='first.txt')
            self.assertEqual(file.company, company)
            self.assertEqual(file.state, 'draft')
            self.assertEqual(file.digest, hashlib.sha256(b'same bytes').hexdigest())
            with self.assertRaisesRegex(
                    UserError,
                    r'"second.txt" was already imported on .* as "first.txt" '
                    r'\(ID %s\)' % file.id):
                self._file(b'same bytes', filename='second.txt')

    @with_transaction()
    def test_file_duplicate_per_direction_and_company(self):
        "The same bytes may go out once and come in once, per company."
        pool = Pool()
        File = pool.get('receivable.collection.file')
        first = create_company(name="First")
        second = create_company(name="Second")
        with set_company(first):
            self._file(b'bytes', 'in')
            self._file(b'bytes', 'out')
            with self.assertRaisesRegex(UserError, 'already exported'):
                self._file(b'bytes', 'out')
            with self.assertRaisesRegex(UserError, 'same content'):
                File.create([
                        {'data': b'twin', 'filename': 'a'},
                        {'data': b'twin', 'filename': 'b'}])
        with set_company(second):
            self._file(b'bytes', 'in')

    @with_transaction()
    def test_file_copy_refused(self):
        "A copy would store the same file twice."
        pool = Pool()
        File = pool.get('receivable.collection.file')
        company = create_company()
        with set_company(company):
            file = self._file()
            with self.assertRaisesRegex(UserError, 'cannot be copied'):
                File.copy([file])

    @with_transaction()
    def test_file_workflow(self):
        "Outgoing files go draft, waiting, done; incoming ones need a handler."
        pool = Pool()
        File = pool.get('receivable.collection.file')
        company = create_company()
        with set_company(company):
            out = self._file(b'out', 'out')
            File.wait([out])
            self.assertEqual(out.state, 'waiting')
            with self.assertRaisesRegex(UserError, 'left draft'):
                File.write([out], {'data': b'changed'})
            with self.assertRaisesRegex(UserError, 'draft or cancelled'):
                File.delete([out])
            File.do([out])
            self.assertEqual(out.state, 'done')

            incoming = self._file(b'in', 'in')
            File.wait([incoming])
            with self.assertRaisesRegex(UserError, 'No handler'):
                File.do([incoming])
            File.cancel([incoming])
            self.assertEqual(incoming.state, 'cancelled')
            File.delete([incoming])

    @with_transaction()
    def test_file_draft_data_rehashed(self):
        "Changing a draft file's data changes its digest, still unique."
        company = create_company()
        with set_company(company):
            file = self._file(b'one')
            file.data = b'two'
            file.save()
            self.assertEqual(file.digest, hashlib.sha256(b'two').hexdigest())
            other = self._file(b'three')
            other.data = b'two'
            with self.assertRaisesRegex(UserError, 'already imported or exported'):
                other.save()

    @with_transaction()
    def test_negative_fee_refused(self):
        "A dunning fee of a negative percentage is refused, naming the field."
        pool = Pool()
        Fee = pool.get('account.dunning.fee')
        Journal = pool.get('account.journal')
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        unit, = Uom.search([('name', '=', 'Unit')])
        with set_company(create_company()):
            template = Template(name="Fee", type='service', default_uom=unit,
                list_price=Decimal(10))
            template.save()
            product = pool.get('product.product')(template=template)
            product.save()
            journal = Journal(name="Fees", type='revenue')
            journal.save()
            fee = Fee(name="Fee", product=product, journal=journal,
                compute_method='percentage', percentage=Decimal('-0.05'))
            with self.assertRaisesRegex(UserError, '"Percentage".*zero or more'):
                fee.save()

del ModuleTestCase
