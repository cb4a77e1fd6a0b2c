"""Tests of the agency claim protocol (plain Python, no Tryton)."""
import copy
import hashlib
import json
import unittest
from datetime import date, datetime, timezone
from decimal import Decimal

from receivable_collection_agency.agency import protocol
from receivable_collection_agency.agency.protocol import (
    Allocation,
    Balance,
    MoneyError,
    SignatureError,
    allocate,
    can_transition,
    format_money,
    parse_money,
    validate_claim,
)

PDF = b'%PDF-1.4\n'
TODAY = date(2026, 5, 1)


def example_claim():
    "The claim of the spec's section (a), field by field."
    return {
        'external_id': 'RC-2026-000123',
        'creditor': {
            'id': 'cred-42', 'name': 'Nordlys ApS', 'registration_no': '12345674',
            'vat_id': 'DK12345674', 'country': 'DK'},
        'debtor': {
            'type': 'person', 'first_name': 'Mette', 'last_name': 'Jensen',
            'customer_no': 'C-1001',
            'address': {
                'street': 'Vestergade', 'house_no': '12', 'postal_code': '8000',
                'city': 'Aarhus C', 'country': 'DK'},
            'email': 'mette@example.dk', 'phone': '+4520123456', 'birth_date': '1980-04-02',
            'language': 'da'},
        'currency': 'DKK',
        'reason': 'Service agreement, March 2026',
        'disputed': False,
        'lines': [{
                'number': 'INV-2026-0310', 'invoice_date': '2026-03-01',
                'due_date': '2026-03-15', 'original_amount': '2500.00',
                'open_amount': '2500.00', 'first_reminder_date': '2026-03-25',
                'default_date': '2026-03-16', 'disputed': False, 'document_id': 'doc-1'}],
        'side_claims': [
            {'type': 'reminder_fee', 'amount': '100.00', 'date': '2026-03-25', 'level': 1,
                'line_number': 'INV-2026-0310'},
            {'type': 'interest', 'amount': '26.04', 'date': '2026-04-24', 'rate': '9.75',
                'reference_rate_name': 'DK_NB_LENDING', 'margin': '8.00',
                'from': '2026-03-16', 'to': '2026-04-24', 'day_count': 'act/365',
                'basis': '2500.00', 'line_number': 'INV-2026-0310'}],
        'total_open': '2626.04',
        'documents': [{
                'id': 'doc-1', 'kind': 'invoice', 'filename': 'INV-2026-0310.pdf',
                'content_type': 'application/pdf',
                'sha256': hashlib.sha256(PDF).hexdigest(), 'size': len(PDF)}],
        'notes': 'Customer promised payment by phone on 2026-04-02, not kept.',
        }


def codes(errors):
    "The (path, code) pairs of an error list."
    return {(e['path'], e['code']) for e in errors}


class MoneyTest(unittest.TestCase):
    "Money strings carry exactly the currency's ISO 4217 minor-unit digits."

    def test_minor_units_table(self):
        "The currencies of our markets and the odd ones have their ISO 4217 digits."
        expected = {'DKK': 2, 'EUR': 2, 'SEK': 2, 'NOK': 2, 'JPY': 0, 'ISK': 0, 'KWD': 3,
            'BHD': 3, 'CLF': 4}
        for currency, digits in expected.items():
            with self.subTest(currency=currency):
                self.assertEqual(protocol.minor_digits(currency), digits)
        with self.assertRaises(KeyError):
            protocol.minor_digits('XXX')

    def test_valid_strings(self):
        "1200 in each currency parses exactly and formats back to the same string."
        for currency, text in [('DKK', '1200.00'), ('EUR', '0.01'), ('JPY', '1200'),
                ('KWD', '1200.000'), ('BHD', '0.125'), ('SEK', '999999999999999.99')]:
            with self.subTest(currency=currency, text=text):
                amount = parse_money(text, currency)
                self.assertIsInstance(amount, Decimal)
                self.assertEqual(amount, Decimal(text))
                self.assertEqual(format_money(amount, currency), text)

    def test_digit_codes(self):
        "Too few decimals are wrong_digits, too many too_many_digits."
        cases = [
            ('2500', 'DKK', 'wrong_digits'), ('2500.0', 'DKK', 'wrong_digits'),
            ('2500.001', 'DKK', 'too_many_digits'), ('2500.000', 'EUR', 'too_many_digits'),
            ('1200.0', 'JPY', 'too_many_digits'), ('1200.00', 'KWD', 'wrong_digits'),
            ('1200', 'BHD', 'wrong_digits'),
            ]
        for text, currency, code in cases:
            with self.subTest(text=text, currency=currency):
                with self.assertRaises(MoneyError) as caught:
                    parse_money(text, currency)
                self.assertEqual(caught.exception.code, code)

    def test_bad_forms(self):
        "Signs, leading zeros, exponents, commas, blanks and 16 digits are not money."
        for text in ['-1.00', '+1.00', '01.00', '1e3', '1E+3', '1,00', ' 1.00', '1.', '.50',
                '1234567890123456.00', '', 'NaN']:
            with self.subTest(text=text):
                with self.assertRaises(MoneyError) as caught:
                    parse_money(text, 'DKK')
                self.assertEqual(caught.exception.code, 'invalid_format')

    def test_number_is_a_type_error(self):
        "A JSON number for money is a type error, not a format error."
        with self.assertRaises(MoneyError) as caught:
            parse_money(12.5, 'DKK')
        self.assertEqual(caught.exception.code, 'wrong_type')

    def test_format(self):
        "Decimals are written with exactly the minor digits, zero included, never rounded."
        self.assertEqual(format_money(Decimal('1200'), 'DKK'), '1200.00')
        self.assertEqual(format_money(Decimal('0'), 'EUR'), '0.00')
        self.assertEqual(format_money(Decimal('-0.00'), 'EUR'), '0.00')
        self.assertEqual(format_money(Decimal('1200.0'), 'JPY'), '1200')
        self.assertEqual(format_money(Decimal('7.5'), 'KWD'), '7.500')
        for amount, currency in [('1200.005', 'DKK'), ('0.5', 'JPY'), ('-1', 'DKK'),
                ('1E+30', 'DKK'), ('NaN', 'EUR')]:
            with self.subTest(amount=amount), self.assertRaises(ValueError):
                format_money(Decimal(amount), currency)


class ClaimValidationTest(unittest.TestCase):
    "Each section (a) rule answers its code at the field's path."

    def assertError(self, claim, path, code, **kwargs):
        errors = validate_claim(claim, today=TODAY, **kwargs)
        self.assertIn((path, code), codes(errors), errors)
        return errors

    def test_spec_example_is_valid(self):
        "The spec's example claim passes every check."
        self.assertEqual(validate_claim(example_claim(), today=TODAY), [])

    def test_company_sole_trader(self):
        "A company debtor with person_name, registration number and no birth date is valid."
        claim = example_claim()
        claim['debtor'] = {
            'type': 'company', 'name': 'Jensen Tømrer', 'person_name': 'Mette Jensen',
            'registration_no': 'DK 1234 5674', 'vat_id': 'DK12345674', 'email': 'a@b.dk',
            'address': {'street': 'Vestergade', 'postal_code': '8000', 'city': 'Aarhus',
                'country': 'DK'},
            'language': 'da', 'customer_no': 'C-1'}
        self.assertEqual(validate_claim(claim, today=TODAY), [])

    def test_unknown_fields_and_null_optionals(self):
        "Unknown fields are ignored and null counts as absent."
        claim = example_claim()
        claim['future_field'] = {'x': 1}
        claim['notes'] = None
        claim['lines'][0]['first_reminder_date'] = None
        self.assertEqual(validate_claim(claim, today=TODAY), [])

    def test_money_codes_in_claims(self):
        "wrong_digits, too_many_digits and not_positive at the amount's path."
        claim = example_claim()
        claim['lines'][0]['original_amount'] = '2500'
        claim['side_claims'][0]['amount'] = '100.001'
        claim['side_claims'][1]['basis'] = '0.00'
        errors = validate_claim(claim, today=TODAY)
        self.assertTrue({
                ('lines[0].original_amount', 'wrong_digits'),
                ('side_claims[0].amount', 'too_many_digits'),
                ('side_claims[1].basis', 'not_positive')} <= codes(errors), errors)
        self.assertFalse(protocol.is_malformed(errors))

    def test_japanese_yen_claim(self):
        "Amounts in JPY have no decimals: the same claim in yen with '2500' is valid."
        claim = example_claim()
        claim['currency'] = 'JPY'
        for line in claim['lines']:
            line['original_amount'] = line['open_amount'] = '2500'
        claim['side_claims'] = []
        claim['total_open'] = '2500'
        self.assertEqual(validate_claim(claim, today=TODAY), [])
        claim['total_open'] = '2500.00'
        self.assertError(claim, 'total_open', 'too_many_digits')

    def test_total_mismatch(self):
        "total_open must be the exact sum of open amounts and side claims."
        claim = example_claim()
        claim['total_open'] = '2626.05'
        self.assertError(claim, 'total_open', 'total_mismatch')
        claim['total_open'] = '2626.04'
        del claim['side_claims']
        self.assertError(claim, 'total_open', 'total_mismatch')

    def test_disputed_mismatch(self):
        "disputed is true exactly when a line is disputed; a disputed line needs a reason."
        claim = example_claim()
        claim['lines'][0]['disputed'] = True
        errors = self.assertError(claim, 'disputed', 'disputed_mismatch')
        self.assertIn(('lines[0].dispute_reason', 'required'), codes(errors))
        claim['disputed'] = True
        claim['lines'][0]['dispute_reason'] = 'Customer says the work was not done'
        self.assertEqual(validate_claim(claim, today=TODAY), [])
        claim['lines'][0]['disputed'] = False
        self.assertError(claim, 'disputed', 'disputed_mismatch')

    def test_inline_content(self):
        "A document with content, data or base64 is refused: PDFs are uploaded separately."
        for key in ('content', 'data', 'base64'):
            claim = example_claim()
            claim['documents'][0][key] = 'JVBERi0xLjQK'
            with self.subTest(key=key):
                self.assertError(claim, f'documents[0].{key}', 'inline_content')

    def test_documents(self):
        "Document ids are unique, sha256 lower-case hex, size > 0, PDFs only, lines refer."
        claim = example_claim()
        document = claim['documents'][0]
        claim['documents'].append(dict(document))
        claim['documents'][1]['sha256'] = document['sha256'].upper()
        claim['documents'][1]['size'] = 0
        claim['documents'][1]['content_type'] = 'image/png'
        claim['lines'][0]['document_id'] = 'doc-9'
        errors = validate_claim(claim, today=TODAY)
        self.assertTrue({
                ('documents[1].id', 'not_unique'),
                ('documents[1].sha256', 'invalid_format'),
                ('documents[1].size', 'invalid_value'),
                ('documents[1].content_type', 'invalid_value'),
                ('lines[0].document_id', 'unknown_document')} <= codes(errors), errors)

    def test_address_or_email_required(self):
        "A debtor needs an address or an e-mail; either one alone is enough."
        claim = example_claim()
        del claim['debtor']['address']
        self.assertEqual(validate_claim(claim, today=TODAY), [])
        claim['debtor']['email'] = None
        self.assertError(claim, 'debtor', 'address_or_email_required')
        claim = example_claim()
        del claim['debtor']['email']
        self.assertEqual(validate_claim(claim, today=TODAY), [])

    def test_registration_numbers(self):
        "Registration numbers are checked by the address country (DK, NO, SE, DE)."
        valid = [('DK', 'DK-1234 5674'), ('NO', 'NO 988 077 917 MVA'), ('NO', '988077917'),
            ('SE', 'SE 556036-0793'), ('DE', 'HRB 12345 B'), ('DE', 'HRA-1'),
            ('FR', 'anything goes')]
        invalid = [('DK', '12345675'), ('NO', '988077918'), ('SE', '5560360794'),
            ('DE', 'HRC 12345'), ('DE', 'HRB 1234567')]
        for country, number in valid + invalid:
            claim = example_claim()
            claim['debtor']['address']['country'] = country
            claim['debtor']['registration_no'] = number
            with self.subTest(country=country, number=number):
                errors = codes(validate_claim(claim, today=TODAY))
                self.assertEqual(
                    ('debtor.registration_no', 'invalid_registration_no') in errors,
                    (country, number) in invalid)

    def test_registration_without_address_is_unchecked(self):
        "Without an address the registration number is not checked."
        claim = example_claim()
        del claim['debtor']['address']
        claim['debtor']['registration_no'] = '12345675'
        self.assertEqual(validate_claim(claim, today=TODAY), [])

    def test_birth_date(self):
        "A company has no birth date, none lies ahead, minors only where the contract says."
        claim = example_claim()
        claim['debtor'].update(type='company', name='Jensen ApS')
        self.assertError(claim, 'debtor.birth_date', 'persons_only')
        claim = example_claim()
        claim['debtor']['birth_date'] = '2026-05-02'
        self.assertError(claim, 'debtor.birth_date', 'in_future')
        claim['debtor']['birth_date'] = '2008-05-02'
        self.assertEqual(validate_claim(claim, today=TODAY), [])
        self.assertError(claim, 'debtor.birth_date', 'debtor_minor', min_debtor_age=18)
        claim['debtor']['birth_date'] = '2008-05-01'
        self.assertEqual(validate_claim(claim, today=TODAY, min_debtor_age=18), [])

    def test_insolvent_debtor(self):
        "An insolvent debtor blocks the handover."
        claim = example_claim()
        claim['debtor']['insolvent'] = True
        self.assertError(claim, 'debtor.insolvent', 'debtor_insolvent')
        claim['debtor']['insolvent'] = False
        self.assertEqual(validate_claim(claim, today=TODAY), [])

    def test_side_claims(self):
        "Side claims name a line, carry their type's fields, levels >= 1 and to >= from."
        claim = example_claim()
        claim['side_claims'][0]['line_number'] = 'INV-X'
        claim['side_claims'][0]['level'] = 0
        del claim['side_claims'][1]['reference_rate_name']
        claim['side_claims'][1]['to'] = '2026-03-01'
        claim['side_claims'][1]['rate'] = '-1'
        claim['side_claims'][1]['day_count'] = 'act/366'
        claim['side_claims'].append(
            {'type': 'other_cost', 'amount': '10.00', 'date': '2026-04-01'})
        claim['side_claims'].append(
            {'type': 'penalty', 'amount': '10.00', 'date': '2026-04-01'})
        errors = validate_claim(claim, today=TODAY)
        self.assertTrue({
                ('side_claims[0].line_number', 'unknown_line'),
                ('side_claims[0].level', 'invalid_value'),
                ('side_claims[1].reference_rate_name', 'required'),
                ('side_claims[1].to', 'date_order'),
                ('side_claims[1].rate', 'invalid_value'),
                ('side_claims[1].day_count', 'invalid_value'),
                ('side_claims[2].description', 'required'),
                ('side_claims[3].type', 'invalid_value')} <= codes(errors), errors)

    def test_lines(self):
        "Line numbers are unique, dates in order, open amount within the original."
        claim = example_claim()
        line = claim['lines'][0]
        claim['lines'].append(dict(line))
        claim['lines'][1].update(
            due_date='2026-02-28', first_reminder_date='2026-02-28',
            open_amount='2600.00', invoice_date='2026-02-30')
        errors = validate_claim(claim, today=TODAY)
        self.assertTrue({
                ('lines[1].number', 'not_unique'),
                ('lines[1].invoice_date', 'invalid_format'),
                ('lines[1].open_amount', 'exceeds_original')} <= codes(errors), errors)
        claim['lines'][1]['invoice_date'] = '2026-03-01'
        errors = validate_claim(claim, today=TODAY)
        self.assertIn(('lines[1].due_date', 'date_order'), codes(errors))
        self.assertIn(('lines[1].first_reminder_date', 'date_order'), codes(errors))
        claim['lines'] = []
        self.assertError(claim, 'lines', 'required')

    def test_required_strings_and_lengths(self):
        "Blank required strings are missing; external_id, reason and notes have limits."
        claim = example_claim()
        claim['reason'] = '   '
        claim['external_id'] = 'R' * 65
        claim['notes'] = 'n' * 2001
        del claim['debtor']['last_name']
        del claim['creditor']['vat_id']
        errors = validate_claim(claim, today=TODAY)
        self.assertTrue({
                ('reason', 'required'), ('external_id', 'too_long'), ('notes', 'too_long'),
                ('debtor.last_name', 'required'),
                ('creditor.vat_id', 'required')} <= codes(errors), errors)

    def test_formats(self):
        "E-mail, E.164 phones, VAT ids, ISO countries, languages and currencies."
        claim = example_claim()
        claim['debtor'].update(
            email='mette@localhost', phone='+0520123456', mobile='4520123456',
            vat_id='dk123', language='dan')
        claim['debtor']['address']['country'] = 'DNK'
        claim['creditor']['country'] = 'XX'
        errors = validate_claim(claim, today=TODAY)
        self.assertTrue({
                ('debtor.email', 'invalid_format'), ('debtor.phone', 'invalid_format'),
                ('debtor.mobile', 'invalid_format'), ('debtor.vat_id', 'invalid_format'),
                ('debtor.language', 'invalid_value'),
                ('debtor.address.country', 'invalid_value'),
                ('creditor.country', 'invalid_value')} <= codes(errors), errors)
        claim = example_claim()
        claim['currency'] = 'DKR'
        self.assertError(claim, 'currency', 'invalid_value')

    def test_type_errors_are_malformed(self):
        "Money as number, string for integer, object for array are type errors (400)."
        claim = example_claim()
        claim['lines'][0]['open_amount'] = 2500.00
        claim['side_claims'][0]['level'] = '1'
        claim['documents'] = {'id': 'doc-1'}
        claim['disputed'] = 'false'
        claim['total_open'] = '2626.05'
        errors = validate_claim(claim, today=TODAY)
        self.assertTrue({
                ('lines[0].open_amount', 'wrong_type'),
                ('side_claims[0].level', 'wrong_type'),
                ('documents', 'wrong_type'),
                ('disputed', 'wrong_type')} <= codes(errors), errors)
        self.assertTrue(protocol.is_malformed(errors))
        # A rule error is listed next to the type errors (the 400 lists all).
        self.assertIn(('lines[0].document_id', 'unknown_document'), codes(errors))
        self.assertEqual(
            validate_claim([example_claim()], today=TODAY),
            [{'path': 'body', 'code': 'wrong_type',
                'message': "the claim must be a JSON object"}])

    def test_booleans_are_not_integers(self):
        "true is not an integer level, 1 is not a boolean."
        claim = example_claim()
        claim['side_claims'][0]['level'] = True
        claim['lines'][0]['disputed'] = 0
        errors = validate_claim(claim, today=TODAY)
        self.assertTrue({('side_claims[0].level', 'wrong_type'),
                ('lines[0].disputed', 'wrong_type')} <= codes(errors), errors)


class ReportValidationTest(unittest.TestCase):
    "Direct payments, credit notes, recalls and document metadata."

    def test_payment(self):
        "A payment names a known line, a new id and a positive amount."
        payment = {'id': 'P-1', 'date': '2026-05-01', 'amount': '100.00',
            'line_number': 'INV-1', 'method': 'bank_transfer', 'reference': 'FIK 71'}
        self.assertEqual(protocol.validate_payment(payment, 'DKK', {'INV-1'}), [])
        errors = protocol.validate_payment(
            {**payment, 'line_number': 'INV-2', 'amount': '0.00'}, 'DKK', {'INV-1'},
            known_ids={'P-1'})
        self.assertEqual(codes(errors), {
                ('line_number', 'unknown_line'), ('amount', 'not_positive'),
                ('id', 'duplicate_id')})
        del payment['line_number']
        self.assertEqual(protocol.validate_payment(payment, 'DKK', {'INV-1'}), [])

    def test_credit_note(self):
        "A credit note needs its line."
        note = {'id': 'CN-1', 'number': 'CN-2026-1', 'date': '2026-05-01',
            'amount': '100.00', 'line_number': 'INV-1', 'reason': 'price reduction'}
        self.assertEqual(protocol.validate_credit_note(note, 'DKK', {'INV-1'}), [])
        del note['line_number']
        self.assertEqual(
            codes(protocol.validate_credit_note(note, 'DKK', {'INV-1'})),
            {('line_number', 'required')})

    def test_recall(self):
        "A recall gives one of the five reasons."
        self.assertEqual(protocol.validate_recall({'reason': 'paid_directly'}), [])
        self.assertEqual(
            codes(protocol.validate_recall({'reason': 'bored'})),
            {('reason', 'invalid_value')})

    def test_document_meta(self):
        "Given sha256 and size must match the file; a listed id its listed sha256."
        meta = {'id': 'doc-1', 'kind': 'invoice', 'filename': 'a.pdf',
            'sha256': hashlib.sha256(PDF).hexdigest(), 'size': len(PDF)}
        self.assertEqual(protocol.validate_document_meta(meta, PDF), [])
        errors = protocol.validate_document_meta(
            {**meta, 'size': 9}, PDF + b'x', listed={'sha256': meta['sha256']})
        self.assertEqual(codes(errors), {
                ('meta.sha256', 'sha256_mismatch'), ('meta.size', 'size_mismatch'),
                ('file', 'sha256_mismatch')})


class CanonicalHashTest(unittest.TestCase):
    "payload_sha256 is the SHA-256 of the spec's canonical JSON."

    def test_spec_formula(self):
        "The hash equals the spec's json.dumps formula, whatever the key order."
        claim = example_claim()
        formula = hashlib.sha256(json.dumps(
                claim, sort_keys=True, separators=(",", ":"),
                ensure_ascii=False).encode("utf-8")).hexdigest()
        self.assertEqual(protocol.payload_sha256(claim), formula)
        reordered = json.loads(json.dumps(claim, indent=4), object_pairs_hook=lambda p: dict(
                reversed(p)))
        self.assertNotEqual(list(reordered), list(claim))
        self.assertEqual(protocol.payload_sha256(reordered), formula)
        changed = copy.deepcopy(claim)
        changed['notes'] += '.'
        self.assertNotEqual(protocol.payload_sha256(changed), formula)

    def test_canonical_bytes(self):
        "Sorted keys, no whitespace, non-ASCII as UTF-8 bytes."
        self.assertEqual(
            protocol.canonical_json({'name': 'Søren', 'a': [1, {'z': 'ø', 'b': None}]}),
            '{"a":[1,{"b":null,"z":"ø"}],"name":"Søren"}'.encode())

    def test_example_document_hash(self):
        "The example document's sha256 is that of the 9 bytes %PDF-1.4 LF."
        self.assertEqual(
            hashlib.sha256(PDF).hexdigest(),
            'e5c62df5dab5c87b6a015ef3d43597074d1eec433b15f51aec63b8582d0e4ab4')

    def test_strict_json(self):
        "Duplicate keys, NaN, a byte order mark and broken UTF-8 are refused."
        for body in [b'{"a": 1, "a": 2}', b'{"a": NaN}', b'[Infinity]',
                b'\xef\xbb\xbf{}', b'{"a": "\xff"}', b'{"a": ']:
            with self.subTest(body=body), self.assertRaises(protocol.JSONError):
                protocol.loads(body)
        self.assertEqual(protocol.loads('{"a": "ø"}'.encode()), {'a': 'ø'})


class SignatureTest(unittest.TestCase):
    "Webhook X-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, '<t>.<body>')>."

    body = b'{"id":"evt_000001","type":"case.accepted"}'
    t = 1767261600

    def test_vectors(self):
        "Vectors computed with openssl dgst -hmac: the secret's UTF-8 bytes are the key."
        self.assertEqual(
            protocol.sign('whsec_2026-rotation', self.body, self.t),
            't=1767261600,v1='
            '7865361452215aee63c82c2ec294b3c5ff1b91f929f9ad65020ba4b7f3cfb00f')
        # '616263' is used as six ASCII bytes, never hex-decoded to 'abc'.
        self.assertEqual(
            protocol.signature('616263', self.body, self.t),
            '4efaee83594bdec456261c5703299f620d45ab18ab8c19568df94b08bb034ec6')
        self.assertNotEqual(
            protocol.signature('616263', self.body, self.t),
            '954fd9cfe08af0cdaad76bf2d6bfebefab4569156ce08de669e1560a1913c24b')

    def test_verify(self):
        "Either of two rotation secrets verifies; others, edits and stale times fail."
        header = protocol.sign('new-secret', self.body, self.t)
        self.assertEqual(
            protocol.verify(['old-secret', 'new-secret'], self.body, header, self.t + 10),
            self.t)
        self.assertEqual(protocol.verify('new-secret', self.body, header, self.t - 300), self.t)
        failures = [
            (['old-secret'], self.body, header, self.t),
            (['new-secret'], self.body + b' ', header, self.t),
            (['new-secret'], self.body, header, self.t + 301),
            (['new-secret'], self.body, header, self.t - 301),
            (['new-secret'], self.body, header.replace('v1=', 'v0='), self.t),
            (['new-secret'], self.body, '', self.t),
            ([], self.body, header, self.t),
            ]
        for secrets, body, given, now in failures:
            with self.subTest(secrets=secrets, header=given, now=now):
                with self.assertRaises(SignatureError):
                    protocol.verify(secrets, body, given, now)

    def test_header_with_two_signatures(self):
        "A header signed with both secrets during rotation verifies with either."
        header = protocol.sign('a', self.body, self.t) + ',v1=' + protocol.signature(
            'b', self.body, self.t)
        self.assertEqual(protocol.verify(['b'], self.body, header, self.t), self.t)


class LifecycleTest(unittest.TestCase):
    "Case states and transitions of section (d)."

    def test_agency_transitions(self):
        "Each row of the spec's transition table, and nothing else."
        table = {
            'submitted': {'accepted', 'rejected', 'recalled'},
            'accepted': {'in_progress', 'installment_plan', 'paid', 'partially_paid',
                'uncollectible', 'recalled'},
            'in_progress': {'installment_plan', 'paid', 'partially_paid', 'uncollectible',
                'recalled'},
            'installment_plan': {'in_progress', 'paid', 'partially_paid', 'uncollectible',
                'recalled'},
            'paid': {'closed'}, 'partially_paid': {'closed'}, 'uncollectible': {'closed'},
            'recalled': {'closed'}, 'rejected': set(), 'closed': set(),
            }
        for source in protocol.STATES:
            for target in protocol.STATES:
                with self.subTest(source=source, target=target):
                    if source == 'draft':
                        allowed = target in ('submitted', 'rejected')
                    else:
                        allowed = target in table[source]
                    self.assertEqual(can_transition(source, target), allowed)

    def test_terminal_states(self):
        "The four outcomes, closed and rejected are terminal; reports need an open state."
        self.assertEqual(protocol.TERMINAL_STATES, {
                'paid', 'partially_paid', 'uncollectible', 'recalled', 'closed', 'rejected'})
        self.assertFalse(set(protocol.OPEN_STATES) & protocol.TERMINAL_STATES)

    def test_state_after_event(self):
        "Events move the case; payments and balances do not."
        self.assertEqual(protocol.state_after_event('case.accepted', {}), 'accepted')
        self.assertEqual(
            protocol.state_after_event('case.status_changed', {'status': 'in_progress'}),
            'in_progress')
        self.assertIsNone(protocol.state_after_event('payment.received', {}))


class AllocationTest(unittest.TestCase):
    "Payments go to costs, then interest, then principal."

    def test_allocate(self):
        "The spec's example payment of 500.00 on 100.00 costs and 26.04 interest."
        balance = Balance(
            principal=Decimal('2500.00'), costs=Decimal('100.00'), interest=Decimal('26.04'))
        allocation, after = allocate(Decimal('500.00'), balance)
        self.assertEqual(allocation, Allocation(
                costs=Decimal('100.00'), interest=Decimal('26.04'),
                principal=Decimal('373.96')))
        self.assertEqual(after.total, Decimal('2126.04'))
        self.assertEqual(after.to_json('DKK'), {
                'principal': '2126.04', 'costs': '0.00', 'interest': '0.00',
                'total': '2126.04'})
        allocation, after = allocate(Decimal('50.00'), balance)
        self.assertEqual((allocation.costs, allocation.interest, allocation.principal),
            (Decimal('50.00'), 0, 0))

    def test_over_balance(self):
        "More than the open total, zero or negative cannot be allocated."
        balance = Balance(principal=Decimal('10.00'))
        for amount in ('10.01', '0', '-1'):
            with self.subTest(amount=amount), self.assertRaises(ValueError):
                allocate(Decimal(amount), balance)
        self.assertEqual(allocate(Decimal('10.00'), balance)[1].total, 0)

    def test_claim_balance(self):
        "A claim opens with its lines as principal, interest and the other side claims."
        balance = protocol.claim_balance(example_claim())
        self.assertEqual(balance, Balance(
                principal=Decimal('2500.00'), costs=Decimal('100.00'),
                interest=Decimal('26.04')))


class EventTest(unittest.TestCase):
    "Event envelopes of the feed, webhooks and files."

    def envelope(self):
        "The spec's payment.received example."
        return {
            'id': 'evt_01HX', 'sequence': 184, 'type': 'payment.received',
            'occurred_at': '2026-05-02T10:12:00+00:00', 'external_id': 'RC-2026-000123',
            'agency_case_id': 'A-99812',
            'data': {'payment_id': 'P-77', 'date': '2026-05-02', 'amount': '500.00',
                'allocation': {'costs': '100.00', 'interest': '26.04',
                    'principal': '373.96'}}}

    def test_parse(self):
        "The example parses into an Event with an aware time, from a dict or raw bytes."
        for given in (self.envelope(), json.dumps(self.envelope()).encode()):
            event = protocol.parse_event(given)
            self.assertEqual((event.id, event.sequence, event.type), (
                    'evt_01HX', 184, 'payment.received'))
            self.assertEqual(
                event.occurred_at, datetime(2026, 5, 2, 10, 12, tzinfo=timezone.utc))
            self.assertTrue(event.known)
            self.assertIsNone(event.state)
        self.assertEqual(protocol.parse_event(event.to_json()), event)

    def test_unknown_type_is_kept(self):
        "An unknown type parses (stored and ignored by the consumer)."
        envelope = {**self.envelope(), 'type': 'case.colour_changed', 'data': {}}
        self.assertFalse(protocol.parse_event(envelope).known)

    def test_errors(self):
        "Missing fields, wrong types, local times and incomplete data name the field."
        cases = [
            ('id', None, 'id'), ('sequence', '184', 'sequence'), ('sequence', 0, 'sequence'),
            ('occurred_at', '2026-05-02T10:12:00', 'occurred_at'),
            ('data', [], 'data'), ('external_id', '', 'external_id'),
            ]
        for key, value, path in cases:
            envelope = self.envelope()
            envelope[key] = value
            with self.subTest(key=key, value=value):
                with self.assertRaises(protocol.EventError) as caught:
                    protocol.parse_event(envelope)
                self.assertEqual(caught.exception.path, path)
        envelope = self.envelope()
        del envelope['data']['allocation']
        with self.assertRaises(protocol.EventError) as caught:
            protocol.parse_event(envelope)
        self.assertEqual(caught.exception.path, 'data.allocation')

    def test_make_event(self):
        "make_event writes an envelope parse_event reads back."
        envelope = protocol.make_event(
            'evt_1', 1, 'case.accepted', datetime(2026, 5, 2, 10, 12, tzinfo=timezone.utc),
            'RC-1', {'agency_case_id': 'A-1'}, agency_case_id='A-1')
        self.assertEqual(envelope['occurred_at'], '2026-05-02T10:12:00+00:00')
        self.assertEqual(protocol.parse_event(envelope).state, 'accepted')
        with self.assertRaises(ValueError):
            protocol.make_event('evt_1', 1, 'case.accepted', datetime(2026, 5, 2), 'RC-1', {})

    def test_idempotency_key_shape(self):
        "Only uuid4 strings are Idempotency-Keys."
        self.assertTrue(protocol.is_uuid4('1b4e28ba-2fa1-41d2-883f-0016d3cca427'))
        self.assertFalse(protocol.is_uuid4('1b4e28ba-2fa1-11d2-883f-0016d3cca427'))
        self.assertFalse(protocol.is_uuid4('not-a-key'))
        self.assertFalse(protocol.is_uuid4(None))
