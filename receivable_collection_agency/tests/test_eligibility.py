# This file is part of receivable_collection_agency.  The COPYRIGHT file at
# the top level of this repository contains the full copyright notices and
# license terms.
"Unit tests of the eligibility rules (plain Python, no database)."
import datetime as dt
import unittest
from decimal import Decimal

from receivable_collection_agency.eligibility import RULES, InvoiceFacts, Rules, age, evaluate

TODAY = dt.date(2026, 5, 1)


def facts(number='INV-1', **values):
    "An invoice that every default rule accepts, with values changed."
    base = dict(
        number=number, debtor='C-1', currency='DKK', open_amount=Decimal('1000.00'),
        due_date=TODAY - dt.timedelta(days=40), debtor_country='DK',
        creditor_country='DK', has_email=True, has_address=True)
    base.update(values)
    return InvoiceFacts(**base)


def rules_of(result, number='INV-1'):
    "The rule codes refusing one invoice."
    return [r.rule for r in result[number]]


class EligibilityTestCase(unittest.TestCase):
    "Each rule refuses with its own code and says why."

    def test_accepted(self):
        "An invoice meeting every rule has no refusal."
        result = evaluate(Rules(min_days_overdue=30, notice_days=10), [
                facts(notice_date=TODAY - dt.timedelta(days=10))], TODAY)
        self.assertEqual(result, {'INV-1': []})

    def test_days_overdue(self):
        "Too young an invoice is refused with the days it has and needs."
        result = evaluate(Rules(min_days_overdue=30), [
                facts(due_date=TODAY - dt.timedelta(days=29))], TODAY)
        self.assertEqual(rules_of(result), ['min_days_overdue'])
        self.assertIn('29 days overdue, the agency needs 30', result['INV-1'][0].message)

    def test_claim_age(self):
        "An invoice older than the agency takes is refused."
        result = evaluate(Rules(max_claim_age_days=365), [
                facts(due_date=TODAY - dt.timedelta(days=366))], TODAY)
        self.assertEqual(rules_of(result), ['max_claim_age_days'])

    def test_notice(self):
        "The notice must be sent and must have run its days."
        rules = Rules(notice_days=10)
        self.assertEqual(rules_of(evaluate(rules, [facts()], TODAY)), ['notice_sent'])
        result = evaluate(rules, [facts(notice_date=TODAY - dt.timedelta(days=9))], TODAY)
        self.assertEqual(rules_of(result), ['notice_sent'])
        self.assertIn('has run 9 of 10 days', result['INV-1'][0].message)

    def test_reminders_closed(self):
        "Open reminders refuse only where the profile says so."
        invoice = facts(open_reminders=('level 2 (draft)',))
        self.assertEqual(rules_of(evaluate(Rules(), [invoice], TODAY)), [])
        result = evaluate(Rules(reminders_closed=True), [invoice], TODAY)
        self.assertEqual(rules_of(result), ['reminders_closed'])
        self.assertIn('level 2 (draft)', result['INV-1'][0].message)

    def test_disputed(self):
        "A disputed invoice is refused, or passes when flagging is allowed."
        invoice = facts(disputed=True, dispute_reason="Goods damaged")
        result = evaluate(Rules(), [invoice], TODAY)
        self.assertEqual(rules_of(result), ['disputed'])
        self.assertIn('Goods damaged', result['INV-1'][0].message)
        self.assertEqual(
            rules_of(evaluate(Rules(disputed='allow_flagged'), [invoice], TODAY)), [])

    def test_debtor(self):
        "Debtor type, country, insolvency and age each refuse on their own."
        rules = Rules(debtor_types=('company',), debtor_countries=('DK', 'NO'),
            min_debtor_age=18)
        result = evaluate(rules, [
                facts('A', debtor_type='person', birth_date=dt.date(2010, 5, 2)),
                facts('B', debtor_country='SE'),
                facts('C', insolvent=True),
                facts('D', debtor_type='person', debtor_country=None),
                ], TODAY)
        self.assertEqual(rules_of(result, 'A'), ['debtor_types', 'min_debtor_age'])
        self.assertEqual(rules_of(result, 'B'), ['debtor_countries'])
        self.assertEqual(rules_of(result, 'C'), ['not_insolvent'])
        self.assertEqual(
            rules_of(result, 'D'), ['debtor_countries', 'debtor_types', 'min_debtor_age'])
        self.assertIn('no birth date', result['D'][2].message)

    def test_age(self):
        "Age counts whole years, the birthday included."
        self.assertEqual(age(dt.date(2008, 5, 1), TODAY), 18)
        self.assertEqual(age(dt.date(2008, 5, 2), TODAY), 17)

    def test_creditor_currency_poa(self):
        "Creditor country, currency and the power of attorney are checked."
        rules = Rules(creditor_countries=('DK',), currencies=('DKK',), power_of_attorney=True)
        result = evaluate(rules, [
                facts(creditor_country='DE', currency='EUR', poa_signed=False)], TODAY)
        self.assertEqual(
            rules_of(result), ['power_of_attorney', 'currencies', 'creditor_countries'])

    def test_required_fields(self):
        "Missing data is named by its claim path."
        result = evaluate(Rules(require_default_date=True, require_first_reminder_date=True),
            [facts(has_email=False, has_address=False)], TODAY)
        self.assertEqual(rules_of(result), ['required_fields'])
        self.assertEqual(result['INV-1'][0].message, 'missing debtor.email|debtor.address, '
            'lines.first_reminder_date, lines.default_date')

    def test_pdf_and_open_case(self):
        "No PDF, or a case already open, refuses."
        result = evaluate(Rules(invoice_pdf_required=True), [
                facts(has_pdf=False, open_case='RC-2026-000001')], TODAY)
        self.assertEqual(rules_of(result), ['open_case', 'invoice_pdf_required'])
        self.assertIn('RC-2026-000001', str(result['INV-1'][0]))

    def test_amounts_per_claim(self):
        "Minimum and maximum count the whole claim of a debtor and currency."
        rules = Rules(min_amount=Decimal('500.00'), max_amount=Decimal('1500.00'))
        result = evaluate(rules, [
                facts('A1', debtor='A', open_amount=Decimal('300.00')),
                facts('A2', debtor='A', open_amount=Decimal('300.00')),
                facts('B1', debtor='B', open_amount=Decimal('300.00')),
                facts('C1', debtor='C', open_amount=Decimal('1000.00')),
                facts('C2', debtor='C', open_amount=Decimal('1000.00')),
                ], TODAY)
        self.assertEqual({n: rules_of(result, n) for n in result}, {
                'A1': [], 'A2': [], 'B1': ['min_amount'],
                'C1': ['max_amount'], 'C2': ['max_amount']})
        self.assertIn('2000.00 DKK is above the maximum of 1500.00', result['C1'][0].message)

    def test_refused_invoice_not_counted(self):
        "An invoice refused by another rule does not make up its claim's minimum."
        rules = Rules(min_amount=Decimal('500.00'), min_days_overdue=30)
        result = evaluate(rules, [
                facts('A1', open_amount=Decimal('300.00')),
                facts('A2', open_amount=Decimal('300.00'), due_date=TODAY),
                ], TODAY)
        self.assertEqual(rules_of(result, 'A1'), ['min_amount'])
        self.assertEqual(rules_of(result, 'A2'), ['min_days_overdue'])

    def test_rule_codes_known(self):
        "Every refusal uses a code of RULES."
        result = evaluate(Rules(
                min_amount=Decimal(5000), notice_days=1, reminders_closed=True,
                power_of_attorney=True, debtor_types=('person',), min_debtor_age=18,
                creditor_countries=('NO',), debtor_countries=('NO',),
                require_email=True, invoice_pdf_required=True, max_claim_age_days=1,
                currencies=('EUR',), min_days_overdue=100), [
                facts(insolvent=True, disputed=True, open_case='X', has_pdf=False,
                    has_email=False, poa_signed=False, open_reminders=('x',))], TODAY)
        # Age is for persons, amounts for claims of otherwise eligible invoices.
        self.assertEqual(rules_of(result), [
                r for r in RULES if r not in {'min_debtor_age', 'min_amount', 'max_amount'}])


if __name__ == '__main__':
    unittest.main()
