"""Tests for matching incoming payments against expected collections and open items."""
import random
import time
import unittest
from datetime import date, datetime
from decimal import Decimal

from receivable_collection.matching import (
    DIFFERENCE,
    DUPLICATE,
    EXACT,
    UNMATCHED,
    WRONG_CUSTOMER,
    Expected,
    Incoming,
    Tolerance,
    incoming_from_camt054,
    match_payments,
    name_similarity,
)
from receivable_collection.sepa import (
    Camt054Document,
    CamtEntry,
    CamtNotification,
    CamtTransaction,
    CreditorReference,
    build_camt054,
    parse_camt054,
)

D = Decimal
DAY = date(2024, 3, 7)


def item(key, amount, customer='1001', name='Jens Hansen', refs=(), e2e=None, **kw):
    return Expected(key, D(amount), 'DKK', customer, name, tuple(refs), e2e, **kw)


def pay(key, amount, reference=None, e2e=None, customer=None, name=None, day=DAY, line=0,
        currency='DKK'):
    return Incoming(key, D(amount), currency, day, reference, e2e, customer, name, line)


ITEMS = [
    item('INV-10042', '500.00', refs=('10042', 'RF18539007547034'), e2e='501'),
    item('INV-10043', '250.00', refs=('10043',)),
    item('INV-20001', '250.00', customer='2002', name='Hansen & Søn ApS', refs=('20001',)),
    item('INV-20002', '99.00', customer='2002', name='Hansen & Søn ApS', refs=('20002',)),
    item('INV-30001', '1200.00', customer='3003', name='Nordic Tools A/S', refs=('30001',),
         already_paid=True),
]


class MatchKindsTest(unittest.TestCase):
    """One test per kind of decision."""

    def one(self, payment, items=ITEMS, tolerance=None):
        match, = match_payments([payment], items, tolerance or Tolerance())
        self.assertIs(match.incoming, payment)
        self.assertTrue(match.reason)
        return match

    def test_exact_by_end_to_end_id(self):
        match = self.one(pay('p1', '500.00', e2e='501', customer='1001'))
        self.assertEqual((match.kind, match.expected.key, match.difference), (
            EXACT, 'INV-10042', D(0)))
        self.assertIn('end-to-end id 501', match.reason)
        self.assertIn('customer number 1001 agrees', match.reason)

    def test_exact_by_reference_in_free_text(self):
        match = self.one(pay('p1', '250.00', 'Faktura nr. 0010043, tak!', customer='1001'))
        self.assertEqual((match.kind, match.expected.key), (EXACT, 'INV-10043'))
        self.assertIn('reference', match.reason)

    def test_exact_by_rf_reference_printed_with_spaces(self):
        match = self.one(pay('p1', '500.00', 'RF18 5390 0754 7034'))
        self.assertEqual((match.kind, match.expected.key), (EXACT, 'INV-10042'))
        self.assertIn('no customer number on the payment', match.reason)

    def test_duplicate_of_an_earlier_file(self):
        match = self.one(pay('p1', '1200.00', '30001', customer='3003'))
        self.assertEqual((match.kind, match.expected.key), (DUPLICATE, 'INV-30001'))
        self.assertEqual(match.difference, D('1200.00'))
        self.assertIn('earlier file', match.reason)
        self.assertIn('refund or credit of 1200.00 DKK', match.reason)

    def test_duplicate_in_the_same_batch_first_wins(self):
        "The earlier payment (by date, then line) settles the item, whatever the input order"
        later = pay('late', '250.00', '10043', day=date(2024, 3, 8))
        earlier = pay('early', '250.00', '10043', day=date(2024, 3, 7))
        late_match, early_match = match_payments([later, earlier], ITEMS)
        self.assertEqual(early_match.kind, EXACT)
        self.assertEqual(late_match.kind, DUPLICATE)
        self.assertEqual(late_match.settled_by, 'early')
        self.assertIn('by payment early', late_match.reason)
        same_day = match_payments([
            pay('b', '250.00', '10043', line=20), pay('a', '250.00', '10043', line=10)], ITEMS)
        self.assertEqual([m.kind for m in same_day], [DUPLICATE, EXACT])

    def test_wrong_customer(self):
        "The reference names customer 1001's invoice but customer 2002 paid"
        match = self.one(pay('p1', '250.00', '10043', customer='2002', name='Hansen og Søn'))
        self.assertEqual((match.kind, match.expected.key), (WRONG_CUSTOMER, 'INV-10043'))
        self.assertIn('customer 1001', match.reason)
        self.assertIn('customer 2002', match.reason)
        keys = [s.expected.key for s in match.suggestions]
        self.assertEqual(keys[0], 'INV-20001')  # same customer and same amount
        self.assertIn('INV-20002', keys)
        self.assertNotIn('INV-10043', keys)
        self.assertGreater(match.suggestions[0].score, match.suggestions[1].score)
        self.assertIn('same customer number, same amount', match.suggestions[0].reason)

    def test_difference_within_absolute_tolerance(self):
        match = self.one(pay('p1', '498.00', '10042'), tolerance=Tolerance(D('5')))
        self.assertEqual((match.kind, match.difference, match.within_tolerance), (
            DIFFERENCE, D('-2.00'), True))
        self.assertIn('underpaid by 2.00 DKK', match.reason)
        self.assertIn('within the tolerance of 5.00 DKK', match.reason)

    def test_difference_outside_tolerance(self):
        match = self.one(pay('p1', '450.00', '10042'), tolerance=Tolerance(D('5')))
        self.assertEqual((match.kind, match.within_tolerance), (DIFFERENCE, False))
        self.assertIn('outside', match.reason)

    def test_overpayment_within_percent_tolerance(self):
        match = self.one(pay('p1', '505.00', '10042'), tolerance=Tolerance(percent=D('1')))
        self.assertEqual((match.kind, match.difference, match.within_tolerance), (
            DIFFERENCE, D('5.00'), True))
        self.assertIn('overpaid', match.reason)
        match = self.one(pay('p1', '505.01', '10042'), tolerance=Tolerance(percent=D('1')))
        self.assertFalse(match.within_tolerance)

    def test_larger_of_absolute_and_percent(self):
        tolerance = Tolerance(D('2'), D('1'))
        self.assertTrue(tolerance.allows(D('-2'), D('100')))
        self.assertTrue(tolerance.allows(D('5'), D('500')))
        self.assertFalse(tolerance.allows(D('5.01'), D('500')))

    def test_partial_payment_then_the_rest(self):
        "An underpaid item stays open for the rest; paying more then is a duplicate"
        first, rest, again = match_payments([
            pay('p1', '300.00', '10042', line=1),
            pay('p2', '200.00', '10042', line=2),
            pay('p3', '200.00', '10042', line=3)], ITEMS)
        self.assertEqual((first.kind, first.difference), (DIFFERENCE, D('-200.00')))
        self.assertEqual(rest.kind, EXACT)
        self.assertIn('after 300.00 DKK paid in this batch', rest.reason)
        self.assertEqual(again.kind, DUPLICATE)

    def test_open_amount_is_what_is_due(self):
        items = [item('INV-1', '500.00', refs=('1',), open_amount=D('120.00'))]
        self.assertEqual(self.one(pay('p', '120.00', '1'), items).kind, EXACT)

    def test_unmatched_with_suggestions(self):
        match = self.one(pay('p1', '99.00', 'thanks', customer='2002', name='Hansen & Søn ApS'))
        self.assertEqual((match.kind, match.expected), (UNMATCHED, None))
        self.assertEqual(match.suggestions[0].expected.key, 'INV-20002')
        self.assertIn('INV-20002', match.reason)
        nothing = self.one(pay('p2', '12.34', 'hello', name='Unknown Person'))
        self.assertEqual((nothing.kind, nothing.suggestions), (UNMATCHED, ()))

    def test_paid_items_are_never_suggested(self):
        match = self.one(pay('p1', '1200.00', customer='3003', name='Nordic Tools A/S'))
        self.assertEqual(match.kind, UNMATCHED)
        self.assertNotIn('INV-30001', [s.expected.key for s in match.suggestions])

    def test_other_currency_is_unmatched(self):
        match = self.one(pay('p1', '500.00', '10042', currency='EUR'))
        self.assertEqual(match.kind, UNMATCHED)
        self.assertIn('due in DKK, not EUR', match.reason)


class TieBreakTest(unittest.TestCase):
    """Deterministic choices when several items qualify."""

    def test_same_reference_prefers_same_customer_then_open_then_amount_then_key(self):
        items = [
            item('B', '100.00', customer='1', refs=('777',)),
            item('A', '100.00', customer='2', refs=('777',)),
            item('C', '80.00', customer='2', refs=('777',)),
        ]
        match, = match_payments([pay('p', '80.00', '777', customer='2')], items)
        self.assertEqual(match.expected.key, 'C')  # same customer and amount
        match, = match_payments([pay('p', '100.00', '777', customer='2')], items)
        self.assertEqual(match.expected.key, 'A')
        match, = match_payments([pay('p', '100.00', '777')], items)
        self.assertEqual(match.expected.key, 'A')  # same amount, smallest key
        paid_a = [item('A', '100.00', refs=('777',), already_paid=True),
                  item('B', '100.00', refs=('777',))]
        match, = match_payments([pay('p', '100.00', '777')], paid_a)
        self.assertEqual((match.kind, match.expected.key), (EXACT, 'B'))

    def test_end_to_end_id_wins_over_reference(self):
        items = [item('A', '10.00', refs=('X1',)), item('B', '10.00', e2e='E9')]
        match, = match_payments([pay('p', '10.00', 'X1', e2e='E9')], items)
        self.assertEqual(match.expected.key, 'B')

    def test_suggestion_ties_by_name_then_key(self):
        items = [
            item('K2', '50.00', customer='9', name='Anna Berg'),
            item('K1', '50.00', customer='9', name='Anna Berg'),
            item('K0', '50.00', customer='9', name='Other Name'),
        ]
        match, = match_payments([pay('p', '50.00', customer='9', name='Anna Berg')], items)
        self.assertEqual([s.expected.key for s in match.suggestions], ['K1', 'K2', 'K0'])

    def test_same_result_for_shuffled_input(self):
        payments = [pay(f'p{i}', '250.00', '10043', line=i) for i in range(5)]
        expected = [m.kind for m in match_payments(payments, ITEMS)]
        shuffled = payments[:]
        random.Random(7).shuffle(shuffled)
        by_key = {m.incoming.key: m.kind for m in match_payments(shuffled, ITEMS)}
        self.assertEqual([by_key[p.key] for p in payments], expected)
        self.assertEqual(expected, [EXACT] + [DUPLICATE] * 4)

    def test_name_similarity(self):
        self.assertEqual(name_similarity('Hansen & Søn ApS', 'hansen søn aps'), D('1.00'))
        self.assertEqual(name_similarity('Jens Hansen', 'Hansen'), D('0.50'))
        self.assertEqual(name_similarity(None, 'x'), D('0'))


class CamtAdapterTest(unittest.TestCase):
    """From a parsed camt.054 to incoming payments."""

    def test_credits_only(self):
        document = Camt054Document('NTF', datetime(2024, 3, 8), (CamtNotification(
            'N', datetime(2024, 3, 8), 'DK5000400440116243', entries=(
                CamtEntry(D('750.00'), 'DKK', 'CRDT', 'BOOK', value_date=DAY, transactions=(
                    CamtTransaction(D('500.00'), 'DKK', 'CRDT', end_to_end_id='501',
                                    debtor_name='Jens Hansen'),
                    CamtTransaction(D('250.00'), 'DKK', 'CRDT', end_to_end_id='NOTPROVIDED',
                                    creditor_references=(CreditorReference(
                                        '+71<000012345678903 +12345678<'),)),
                )),
                CamtEntry(D('500.00'), 'DKK', 'DBIT', 'BOOK', transactions=(
                    CamtTransaction(D('500.00'), 'DKK', 'DBIT', end_to_end_id='501',
                                    returned=True, return_reason_code='AM04'),)),
                CamtEntry(D('9.00'), 'DKK', 'CRDT', 'PDNG'),
                CamtEntry(D('7.00'), 'DKK', 'CRDT', 'BOOK', entry_reference='FEE-REFUND'),
            )),), version='camt.054.001.08')
        parsed = parse_camt054(build_camt054(document))
        payments = incoming_from_camt054(parsed)
        self.assertEqual(
            [(p.amount, p.end_to_end_id, p.reference) for p in payments],
            [(D('500.00'), '501', None), (D('250.00'), None, '000012345678903'),
             (D('7.00'), None, 'FEE-REFUND')])
        self.assertEqual(payments[0].date, DAY)
        self.assertEqual(payments[0].debtor_name, 'Jens Hansen')
        self.assertTrue(payments[0].key.startswith('NTF:'))
        self.assertEqual(payments[0].line, parsed.entries[0].transactions[0].line)
        self.assertEqual(len(incoming_from_camt054(parsed, booked_only=False)), 4)
        items = [item('PAY-1', '500.00', e2e='501'),
                 item('PAY-2', '250.00', refs=('000012345678903',))]
        self.assertEqual([m.kind for m in match_payments(payments[:2], items)], [EXACT, EXACT])


class ScaleTest(unittest.TestCase):
    """100,000 payments against 100,000 open items."""

    def test_hundred_thousand(self):
        n = 100_000
        items = [
            Expected(f'INV-{i}', D(100 + i % 900), 'DKK', f'C{i % 20000}', f'Customer {i % 20000}',
                     (str(10_000_000 + i),), f'E{i}')
            for i in range(n)]
        payments = []
        for i in range(n):
            if i % 10 == 0:  # no reference: unmatched with suggestions
                payments.append(Incoming(f'P{i}', D(100 + i % 900), 'DKK', DAY, 'thanks', None,
                                         f'C{i % 20000}', f'Customer {i % 20000}', i))
            elif i % 10 == 1:  # underpaid
                payments.append(Incoming(f'P{i}', D(99 + i % 900), 'DKK', DAY,
                                         f'Invoice {10_000_000 + i}', None, None, None, i))
            else:
                payments.append(Incoming(f'P{i}', D(100 + i % 900), 'DKK', DAY, None, f'E{i}',
                                         f'C{i % 20000}', None, i))
        start = time.perf_counter()
        matches = match_payments(payments, items, Tolerance(D('0.50')))
        elapsed = time.perf_counter() - start
        kinds = {}
        for match in matches:
            kinds[match.kind] = kinds.get(match.kind, 0) + 1
        self.assertEqual(kinds, {EXACT: 80_000, DIFFERENCE: 10_000, UNMATCHED: 10_000})
        self.assertTrue(all(m.suggestions for m in matches if m.kind == UNMATCHED))
        self.assertLess(elapsed, 60, f'{elapsed:.1f} s')


if __name__ == '__main__':
    unittest.main()
