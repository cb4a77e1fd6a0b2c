# This file is part of receivable_collection_nets.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and
# license terms.
"Module tests of receivable_collection_nets."
import datetime as dt
import hashlib
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError
from trytond.modules.company.tests import CompanyTestMixin, create_company, set_company
from trytond.modules.currency.tests import create_currency
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction

from receivable_collection_nets.betalingsservice import (
    Collection,
    DebtorAddress,
    DeliveryStart,
    MandateEvent,
    NotificationText,
    PaymentEvent,
    ReplySectionStart,
    parse,
    render,
    with_totals,
)

PBS, GROUP = '87654321', 1


def reply(delivery_type, section, events, delivery_id=1):
    "Render a Nets reply delivery holding the events in one section."
    created = dt.date(2026, 2, 2)
    return render(with_totals([
                DeliveryStart('12345678', 'BS1', delivery_type, delivery_id, created),
                ReplySectionStart(PBS, section, GROUP, 'TRYTON', created),
                *events]))


def payment_event(code, customer, amount, date, paid=None):
    "A 0602 event for the collection of customer on date."
    amount = Decimal(amount)
    if paid is None:
        paid = amount if code in {'0236', '0239'} else Decimal(0)
    return PaymentEvent(
        PBS, code, GROUP, customer.rjust(15, '0'), '000000001', date, 1,
        amount, '', None, None, Decimal(paid))


def mandate_event(code, customer, number, start, end=None):
    "A 0603 event for the mandate of customer."
    return MandateEvent(
        PBS, code, GROUP, customer.rjust(15, '0'), number, start, end)


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
            'nets_bank_account': '0001234567',
            'nets_delivery_sequence': self._delivery_sequence(), **values}
        return Journal(**values)

    def _delivery_sequence(self):
        "Create a sequence of Nets delivery identifications."
        pool = Pool()
        Sequence = pool.get('ir.sequence')
        ModelData = pool.get('ir.model.data')
        sequence = Sequence(
            name="Nets deliveries", padding=10,
            sequence_type=ModelData.get_id(
                'receivable_collection_nets', 'sequence_type_nets_delivery'))
        sequence.save()
        return sequence

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

    def _company(self):
        "Create a Danish company (currency DKK)."
        return create_company(currency=create_currency('DKK'))

    def _party(self, name, street=None, postal_code=None):
        "Create a party with one invoice address."
        pool = Pool()
        Party = pool.get('party.party')
        party = Party(name=name)
        party.addresses = [{'street_unstructured': street, 'postal_code': postal_code}]
        party.save()
        return party

    def _mandate(self, party, journal, customer_number, mandate_number='512204', **values):
        "Create an active Nets mandate."
        pool = Pool()
        Mandate = pool.get('receivable.collection.nets.mandate')
        mandate = Mandate(
            party=party, journal=journal, customer_number=customer_number,
            mandate_number=mandate_number, **values)
        mandate.save()
        Mandate.activate([mandate])
        return mandate

    def _payment(self, journal, party, amount, date, kind='receivable'):
        "Create a submitted payment."
        pool = Pool()
        Payment = pool.get('account.payment')
        payment = Payment(
            journal=journal, party=party, kind=kind, amount=Decimal(amount),
            date=date)
        payment.save()
        Payment.submit([payment])
        return payment

    def _process(self, payments):
        "Process the payments as the process wizard does; return the group."
        pool = Pool()
        Payment = pool.get('account.payment')
        Group = pool.get('account.payment.group')
        payment = payments[0]

        def group():
            group = Group(
                company=payment.company, journal=payment.journal, kind=payment.kind)
            group.save()
            return group
        return Payment.process(payments, group)

    @with_transaction()
    def test_mandate_numbers_normalised(self):
        "Customer numbers are stored upper-case, mandate numbers with 9 digits."
        company = self._company()
        with set_company(company):
            journal = self._journal()
            journal.save()
            mandate = self._mandate(
                self._party("Debtor"), journal, ' c-1001 ', mandate_number='512204')
            self.assertEqual(mandate.customer_number, 'C-1001')
            self.assertEqual(mandate.mandate_number, '000512204')
            self.assertEqual(mandate.state, 'active')

    @with_transaction()
    def test_mandate_customer_number_unique_per_journal(self):
        "A customer number is used once per journal, again on another journal."
        company = self._company()
        with set_company(company):
            journal = self._journal()
            journal.save()
            other = self._journal(name="Other")
            other.save()
            self._mandate(self._party("First"), journal, 'C-1')
            self._mandate(self._party("Second"), other, 'C-1')
            with self.assertRaisesRegex(UserError, 'only one Nets mandate'):
                self._mandate(self._party("Third"), journal, 'c-1')

    @with_transaction()
    def test_mandate_number_refused(self):
        "Letters, too many digits, zeros and the card agreement are refused."
        company = self._company()
        with set_company(company):
            journal = self._journal()
            journal.save()
            party = self._party("Debtor")
            for number in ['51220X', '000000000', '999999999']:
                with self.subTest(number=number), \
                        self.assertRaisesRegex(UserError, 'mandate number'):
                    self._mandate(party, journal, 'C-%s' % number, number)

    @with_transaction()
    def test_mandate_delete_active_refused(self):
        "An active mandate is cancelled, not deleted."
        pool = Pool()
        Mandate = pool.get('receivable.collection.nets.mandate')
        company = self._company()
        with set_company(company):
            journal = self._journal()
            journal.save()
            mandate = self._mandate(self._party("Debtor"), journal, 'C-1')
            with self.assertRaisesRegex(UserError, 'cancel it'):
                Mandate.delete([mandate])
            Mandate.cancel([mandate])
            Mandate.delete([mandate])

    @with_transaction()
    def test_file_formats(self):
        "The collection file offers the three Nets delivery formats."
        pool = Pool()
        File = pool.get('receivable.collection.file')
        formats = dict(File.fields_get(['format'])['format']['selection'])
        self.assertTrue({'nets_0601', 'nets_0602', 'nets_0603'} <= formats.keys())

    @with_transaction()
    def test_process_writes_0601(self):
        "Processing stores one 0601 file; a customer's payments of a date are merged."
        pool = Pool()
        Date = pool.get('ir.date')
        File = pool.get('receivable.collection.file')
        company = self._company()
        with set_company(company):
            journal = self._journal()
            journal.save()
            first, second = self._party("Første"), self._party("Anden")
            self._mandate(first, journal, 'c-1', '1')
            self._mandate(second, journal, 'C-2', '2')
            day = Date.today() + dt.timedelta(days=10)
            payments = [
                self._payment(journal, first, '100.00', day),
                self._payment(journal, first, '20.50', day),
                self._payment(journal, second, '0.99', day),
                self._payment(journal, first, '5.00', day + dt.timedelta(days=1)),
                ]
            group = self._process(payments)

            file, = group.nets_files
            self.assertEqual(
                (file.direction, file.format, file.state, file.delivery_id),
                ('out', 'nets_0601', 'waiting', '0000000001'))
            self.assertEqual(file.filename, 'BS0601-0000000001.txt')
            self.assertEqual(file.origin, group)
            self.assertEqual(file.digest, hashlib.sha256(file.data).hexdigest())
            records = list(parse(file.data, delivery_type='0601'))
            start, end = records[0], records[-1]
            self.assertEqual(start.created, Date.today())
            self.assertEqual(start.delivery_id, 1)
            collections = [r for r in records if isinstance(r, Collection)]
            self.assertEqual(
                [(c.customer_number, c.mandate_number, c.payment_date, c.amount)
                    for c in collections],
                [('C-1', '000000001', day, Decimal('120.50')),
                    ('C-2', '000000002', day, Decimal('0.99')),
                    ('C-1', '000000001', day + dt.timedelta(days=1), Decimal('5.00'))])
            texts = [r for r in records if isinstance(r, NotificationText)]
            self.assertEqual(len(texts), 4)
            self.assertEqual(end.net_amount, Decimal('126.49'))
            self.assertEqual(File.search([], count=True), 1)

            again = self._process([self._payment(journal, second, '1.00', day)])
            self.assertEqual(again.nets_files[0].delivery_id, '0000000002')

    @with_transaction()
    def test_process_without_mandate(self):
        "A party without active mandate stops processing; no file is stored."
        pool = Pool()
        Date = pool.get('ir.date')
        File = pool.get('receivable.collection.file')
        company = self._company()
        with set_company(company):
            journal = self._journal()
            journal.save()
            first, second = self._party("First"), self._party("Second")
            self._mandate(first, journal, 'C-1')
            mandate = self._mandate(
                second, journal, 'C-2', '2',
                end_date=Date.today() + dt.timedelta(days=5))
            day = Date.today() + dt.timedelta(days=10)
            payments = [
                self._payment(journal, first, '10.00', day),
                self._payment(journal, second, '10.00', day),
                ]
            with self.assertRaisesRegex(
                    UserError, 'party "Second" has no active mandate.*Nets Mandates'):
                self._process(payments)
            self.assertEqual(File.search([], count=True), 0)
            self.assertFalse(mandate.covers(day))

    @with_transaction()
    def test_process_refuses_other_currency(self):
        "Nets collects Danish kroner only."
        pool = Pool()
        Date = pool.get('ir.date')
        company = self._company()
        with set_company(company):
            journal = self._journal(currency=create_currency('EUR'))
            journal.save()
            party = self._party("Debtor")
            self._mandate(party, journal, 'C-1')
            payment = self._payment(journal, party, '10.00', Date.today())
            with self.assertRaisesRegex(UserError, 'in EUR.*DKK only'):
                self._process([payment])

    @with_transaction()
    def test_process_refuses_payable(self):
        "Nets Betalingsservice does not pay out."
        pool = Pool()
        Date = pool.get('ir.date')
        Payment = pool.get('account.payment')
        company = self._company()
        with set_company(company):
            journal = self._journal()
            journal.save()
            party = self._party("Supplier")
            payment = self._payment(journal, party, '10.00', Date.today(), 'payable')
            Payment.approve([payment])
            with self.assertRaisesRegex(UserError, 'only receivable'):
                self._process([payment])

    @with_transaction()
    def test_process_card_section_needs_address(self):
        "Section 0117 writes the invoice address; a missing one names payment and field."
        pool = Pool()
        Date = pool.get('ir.date')
        company = self._company()
        with set_company(company):
            journal = self._journal(nets_section='0117')
            journal.save()
            housed = self._party("Housed", street="Nørregade 1", postal_code="8000")
            homeless = self._party("Homeless")
            self._mandate(housed, journal, 'C-1')
            self._mandate(homeless, journal, 'C-2', '2')
            day = Date.today() + dt.timedelta(days=30)
            group = self._process([self._payment(journal, housed, '10.00', day)])
            records = list(parse(group.nets_files[0].data, delivery_type='0601'))
            self.assertEqual(
                [r.text for r in records if isinstance(r, DebtorAddress)],
                ['Housed', 'Nørregade 1'])
            payment = self._payment(journal, homeless, '10.00', day)
            with self.assertRaisesRegex(
                    UserError, '%s" of party "Homeless".*debtor address' % payment.rec_name):
                self._process([payment])

    @with_transaction()
    def test_delivery_id_never_reused(self):
        "A delivery sequence set back is refused instead of sending a number twice."
        pool = Pool()
        Date = pool.get('ir.date')
        company = self._company()
        with set_company(company):
            journal = self._journal()
            journal.save()
            party = self._party("Debtor")
            self._mandate(party, journal, 'C-1')
            self._process([self._payment(journal, party, '10.00', Date.today())])
            sequence = journal.nets_delivery_sequence
            sequence.number_next = 1
            sequence.save()
            payment = self._payment(
                journal, party, '10.00', Date.today() + dt.timedelta(days=1))
            with self.assertRaisesRegex(UserError, '0000000001.*already used'):
                self._process([payment])

    def _import(self, format, data, filename='reply.txt'):
        "Store an incoming file and process it as an accountant does."
        pool = Pool()
        File = pool.get('receivable.collection.file')
        file = File(direction='in', format=format, filename=filename, data=data)
        file.save()
        File.wait([file])
        File.do([file])
        return file

    def _processing(self):
        "Two parties with mandates and their payments processed to Nets."
        pool = Pool()
        Date = pool.get('ir.date')
        journal = self._journal()
        journal.save()
        first, second = self._party("First"), self._party("Second")
        self._mandate(first, journal, 'C-1', '1')
        self._mandate(second, journal, 'C-2', '2')
        day = Date.today() + dt.timedelta(days=10)
        payments = [
            self._payment(journal, first, '100.00', day),
            self._payment(journal, first, '20.50', day),
            self._payment(journal, second, '10.00', day),
            ]
        self._process(payments)
        return journal, day, payments

    @with_transaction()
    def test_import_0602(self):
        "A completed collection succeeds its payments, a rejected one fails them."
        company = self._company()
        with set_company(company):
            journal, day, payments = self._processing()
            file = self._import('nets_0602', reply('0602', '0211', [
                        payment_event('0236', 'C-1', '120.50', day),
                        payment_event('0237', 'C-2', '10.00', day),
                        ]))
            self.assertEqual(file.state, 'done')
            self.assertEqual(file.delivery_id, '0000000001')
            self.assertFalse(file.errors)
            self.assertEqual(
                [(p.state, p.nets_status) for p in payments],
                [('succeeded', 'completed')] * 2 + [('failed', 'rejected')])
            self.assertEqual(payments[2].nets_reason, '0237 rejected by debtor')

    @with_transaction()
    def test_import_0602_reversed(self):
        "A charge-back fails a succeeded payment; an event already applied is skipped."
        company = self._company()
        with set_company(company):
            journal, day, payments = self._processing()
            completed = payment_event('0236', 'C-2', '10.00', day)
            self._import('nets_0602', reply('0602', '0211', [completed]))
            self.assertEqual(payments[2].state, 'succeeded')
            self._import('nets_0602', reply('0602', '0211', [
                        completed,
                        payment_event('0239', 'C-2', '10.00', day),
                        ], delivery_id=2))
            self.assertEqual(
                (payments[2].state, payments[2].nets_status), ('failed', 'reversed'))
            self.assertEqual(payments[0].state, 'processing')

    @with_transaction()
    def test_import_0602_queues_unknown_and_differing(self):
        "Unknown customers and other amounts go to the exception queue; the rest applies."
        pool = Pool()
        File = pool.get('receivable.collection.file')
        Exception_ = pool.get('receivable.collection.exception')
        company = self._company()
        with set_company(company):
            journal, day, payments = self._processing()
            file = File(
                direction='in', format='nets_0602', filename='bad.txt',
                data=reply('0602', '0211', [
                        payment_event('0236', 'C-2', '10.00', day),
                        payment_event('0236', 'C-9', '5.00', day),
                        payment_event('0237', '0C-1', '120.00', day),
                        ]))
            file.save()
            File.wait([file])
            File.do([file])
            self.assertEqual(file.state, 'done')
            exceptions = Exception_.search(
                [('file', '=', file.id)], order=[('file_line', 'ASC')])
            self.assertEqual(
                [(e.file_line, e.kind, e.customer_number, e.amount) for e in exceptions],
                [(4, 'unmatched', 'C-9', Decimal('5.00')),
                    (5, 'difference', 'C-1', Decimal('120.00'))])
            self.assertRegex(exceptions[0].reason, 'unknown customer number "000000000000C-9"')
            self.assertRegex(exceptions[1].reason, r'120.00 .*differs .*120.50')
            self.assertEqual(
                sorted((p.party.name, p.amount, p.state) for p in payments),
                [('First', Decimal('20.50'), 'processing'),
                    ('First', Decimal('100.00'), 'processing'),
                    ('Second', Decimal('10.00'), 'succeeded')])

    @with_transaction()
    def test_import_0602_foreign_refused_whole(self):
        "A delivery for another creditor is refused whole, naming the line."
        pool = Pool()
        File = pool.get('receivable.collection.file')
        company = self._company()
        with set_company(company):
            journal, day, payments = self._processing()
            data = reply('0602', '0211', [
                    payment_event('0236', 'C-2', '10.00', day)])
            data = data.replace(journal.nets_creditor_number.encode(), b'07654321')
            file = File(
                direction='in', format='nets_0602', filename='foreign.txt', data=data)
            file.save()
            File.wait([file])
            with self.assertRaisesRegex(
                    UserError, r'(?s)"foreign.txt" was not imported: 1 line.*'
                    r'line 3: no Nets payment journal has PBS number 07654321'):
                File.do([file])
            self.assertEqual(file.state, 'waiting')
            self.assertEqual({p.state for p in payments}, {'processing'})

    @with_transaction()
    def test_import_0602_same_delivery_refused(self):
        "The same Nets delivery in other bytes is refused naming the earlier file."
        company = self._company()
        with set_company(company):
            journal, day, payments = self._processing()
            data = reply('0602', '0211', [payment_event('0236', 'C-2', '10.00', day)])
            self._import('nets_0602', data, 'first.txt')
            with self.assertRaisesRegex(
                    UserError, r'"second.txt" holds Nets delivery 0000000001 '
                    r'of data supplier 12345678, already imported from file "first.txt"'):
                self._import('nets_0602', data.replace(b'\r\n', b'\n'), 'second.txt')

    @with_transaction()
    def test_import_0602_format_error(self):
        "A file that breaks the format is refused naming file, line and field."
        company = self._company()
        with set_company(company):
            data = bytearray(reply('0602', '0211', [
                        payment_event('0236', 'C-1', '1.00', dt.date(2026, 2, 2))]))
            data[130 * 2 + 49:130 * 2 + 55] = b'310226'
            with self.assertRaisesRegex(
                    UserError, r'"broken.txt" cannot be read: line 3, '
                    r'field "payment date" \(positions 050-055\)'):
                self._import('nets_0602', bytes(data), 'broken.txt')

    @with_transaction()
    def test_import_0603(self):
        "A registered mandate activates the request, a cancelled one ends it."
        pool = Pool()
        Mandate = pool.get('receivable.collection.nets.mandate')
        company = self._company()
        with set_company(company):
            journal = self._journal()
            journal.save()
            requested = Mandate(
                party=self._party("New"), journal=journal, customer_number='C-1')
            requested.save()
            ending = self._mandate(self._party("Old"), journal, 'C-2', '2')
            start, end = dt.date(2026, 2, 5), dt.date(2026, 3, 1)
            file = self._import('nets_0603', reply('0603', '0212', [
                        mandate_event('0231', 'C-1', '000000007', start),
                        mandate_event('0232', 'C-2', '000000002', None, end),
                        mandate_event('0231', 'C-3', '999999999', start),
                        ]))
            self.assertEqual(file.state, 'done')
            self.assertEqual(
                (requested.state, requested.mandate_number, requested.start_date),
                ('active', '000000007', start))
            self.assertEqual((ending.state, ending.end_date), ('cancelled', end))

    @with_transaction()
    def test_import_0603_unknown_customer(self):
        "A mandate of a customer number without party is refused with its line."
        company = self._company()
        with set_company(company):
            journal = self._journal()
            journal.save()
            mandate = self._mandate(self._party("Known"), journal, 'C-1', '1')
            with self.assertRaisesRegex(
                    UserError, r'line 4: unknown customer number "000000000000C-5"'):
                self._import('nets_0603', reply('0603', '0212', [
                            mandate_event(
                                '0232', 'C-1', '000000001', None, dt.date(2026, 3, 1)),
                            mandate_event('0231', 'C-5', '000000005', None),
                            ]))
            self.assertEqual((mandate.state, mandate.end_date), ('active', None))


del ModuleTestCase
