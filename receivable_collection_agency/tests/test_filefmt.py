"""Tests of the agency file fallback (section g), plain Python with real zip and CSV bytes."""
import csv
import hashlib
import io
import json
import unittest
import zipfile
from datetime import datetime, timedelta, timezone

from receivable_collection_agency.agency import filefmt, protocol
from receivable_collection_agency.agency.filefmt import FileFormatError

from .test_protocol import PDF, example_claim

CLOCK = datetime(2026, 5, 2, 9, 30, 15, tzinfo=timezone.utc)


def second_claim():
    "A company claim with two lines and no side claims."
    claim = example_claim()
    claim.update(external_id='RC-2026-000124', side_claims=[], documents=[],
        total_open='300.00', notes='Zwei; "Zeilen"')
    claim['debtor'] = {
        'type': 'company', 'name': 'Hansen & Søn A/S', 'email': 'bogholderi@hansen.dk',
        'language': 'da', 'customer_no': 'C-2002'}
    claim['lines'] = [
        {'number': f'INV-{n}', 'invoice_date': '2026-02-01', 'due_date': '2026-02-15',
            'original_amount': '150.00', 'open_amount': '150.00', 'disputed': False}
        for n in (1, 2)]
    return claim


def event(sequence, event_type='case.accepted', data=None, **extra):
    "An agency event envelope."
    return protocol.make_event(
        f'evt_{sequence:06d}', sequence, event_type, CLOCK + timedelta(minutes=sequence),
        'RC-2026-000123', data if data is not None else {'agency_case_id': 'A-1'},
        agency_case_id='A-1', **extra)


class ClaimsZipTest(unittest.TestCase):
    "The outgoing claims zip."

    def build(self, clock=CLOCK, seq=1):
        "The zip of the two test claims with the example PDF."
        return filefmt.build_claims_zip(
            [example_claim(), second_claim()], 'cred-42', clock, seq=seq,
            documents={('RC-2026-000123', 'doc-1'): PDF})

    def test_name_and_members(self):
        "Named after creditor, UTC time and sequence; manifest first, PDFs under documents/."
        name, content = self.build(clock=CLOCK.astimezone(timezone(timedelta(hours=2))), seq=7)
        self.assertEqual(name, 'claims_cred-42_20260502T093015Z_7.zip')
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            self.assertEqual(archive.namelist(), [
                    'manifest.json', 'claims.json', 'claims.csv', 'side_claims.csv',
                    'documents/RC-2026-000123/INV-2026-0310.pdf'])
            manifest = json.loads(archive.read('manifest.json'))
            self.assertEqual(archive.read('documents/RC-2026-000123/INV-2026-0310.pdf'), PDF)
            for entry in manifest['files']:
                self.assertEqual(
                    hashlib.sha256(archive.read(entry['name'])).hexdigest(), entry['sha256'])
            self.assertEqual(
                json.loads(archive.read('claims.json')), [example_claim(), second_claim()])
        self.assertEqual(manifest['format'], 'rc-agency-file')
        self.assertEqual(manifest['version'], 1)
        self.assertEqual(manifest['creditor_id'], 'cred-42')
        self.assertEqual(manifest['created_at'], '2026-05-02T09:30:15+00:00')
        self.assertEqual(manifest['claims'], 2)
        self.assertEqual(len(manifest['files']), 4)

    def test_deterministic(self):
        "The same claims and clock give the same bytes; another clock other bytes."
        self.assertEqual(self.build(), self.build())
        self.assertNotEqual(self.build()[1], self.build(clock=CLOCK + timedelta(seconds=1))[1])

    def test_csv_files(self):
        "claims.csv: one row per line with the spec's columns; side_claims.csv per side claim."
        _, content = self.build()
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            claims_csv = archive.read('claims.csv')
            sides_csv = archive.read('side_claims.csv')
        header = claims_csv.decode().splitlines()[0]
        self.assertEqual(header, (
            'external_id;customer_no;debtor_type;name;first_name;last_name;street;house_no;'
            'postal_code;city;country;email;phone;registration_no;vat_id;birth_date;language;'
            'currency;reason;line_number;invoice_date;due_date;original_amount;open_amount;'
            'first_reminder_date;default_date;disputed;notes'))
        self.assertFalse(claims_csv.startswith(b'\xef\xbb\xbf'))
        rows = [r for _, r in filefmt.read_csv('claims.csv', claims_csv, filefmt.CLAIM_COLUMNS)]
        self.assertEqual([(r['external_id'], r['line_number']) for r in rows], [
                ('RC-2026-000123', 'INV-2026-0310'), ('RC-2026-000124', 'INV-1'),
                ('RC-2026-000124', 'INV-2')])
        self.assertEqual(rows[0]['open_amount'], '2500.00')
        self.assertEqual(rows[0]['disputed'], 'false')
        self.assertEqual(rows[1]['name'], 'Hansen & Søn A/S')
        self.assertEqual(rows[1]['notes'], 'Zwei; "Zeilen"')
        self.assertEqual(rows[1]['street'], '')
        sides = list(csv.DictReader(io.StringIO(sides_csv.decode()), delimiter=';'))
        self.assertEqual([(s['type'], s['amount'], s['level'], s['rate'], s['from']) for s in
                sides], [('reminder_fee', '100.00', '1', '', ''),
                ('interest', '26.04', '', '9.75', '2026-03-16')])

    def test_round_trip(self):
        "The agency reads back exactly the claims and documents we wrote."
        name, content = self.build()
        read = filefmt.read_claims_zip(name, content)
        self.assertEqual(read.claims, [example_claim(), second_claim()])
        self.assertEqual(read.documents, {
                'documents/RC-2026-000123/INV-2026-0310.pdf': PDF})
        for claim in read.claims:
            self.assertEqual(protocol.validate_claim(claim, today=CLOCK.date()), [])

    def test_tampered_zip(self):
        "A member that does not match its manifest hash is named."
        name, content = self.build()
        buffer = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(content)) as source, \
                zipfile.ZipFile(buffer, 'w') as target:
            for info in source.infolist():
                data = source.read(info)
                if info.filename == 'claims.json':
                    data = data.replace(b'2500.00', b'2400.00')
                target.writestr(info, data)
        with self.assertRaises(FileFormatError) as caught:
            filefmt.read_claims_zip(name, buffer.getvalue())
        self.assertEqual(
            [(p.file, p.row, p.field) for p in caught.exception.problems],
            [(f'{name}/manifest.json', 1, 'sha256')])
        with self.assertRaises(FileFormatError):
            filefmt.read_claims_zip(name, b'PK not a zip')

    def test_document_must_match(self):
        "A PDF that differs from its metadata, or is not listed, is refused."
        with self.assertRaisesRegex(ValueError, 'sha256'):
            filefmt.build_claims_zip([example_claim()], 'cred-42', CLOCK,
                documents={('RC-2026-000123', 'doc-1'): PDF + b'%'})
        with self.assertRaisesRegex(ValueError, 'doc-2'):
            filefmt.build_claims_zip([example_claim()], 'cred-42', CLOCK,
                documents={('RC-2026-000123', 'doc-2'): PDF})


class UpdatesZipTest(unittest.TestCase):
    "Payments, credit notes and recalls go out as updates zips."

    def updates(self):
        "One envelope of each update type."
        return [
            event(1, 'direct_payment.reported', {'id': 'P-1', 'date': '2026-05-01',
                'amount': '100.00', 'method': 'bank', 'reference': 'R'}),
            event(2, 'credit_note.reported', {'id': 'CN-1', 'number': 'CN-1',
                'date': '2026-05-01', 'amount': '50.00', 'line_number': 'INV-2026-0310',
                'reason': 'discount'}),
            event(3, 'recall.requested', {'reason': 'paid_directly'}),
            ]

    def test_round_trip(self):
        "updates_<creditor>_<time>_<seq>.zip holds events.json; read back as Events."
        name, content = filefmt.build_updates_zip(self.updates(), 'cred-42', CLOCK, seq=3)
        self.assertEqual(name, 'updates_cred-42_20260502T093015Z_3.zip')
        self.assertEqual(
            filefmt.build_updates_zip(self.updates(), 'cred-42', CLOCK, seq=3)[1], content)
        events = filefmt.read_updates_zip(name, content)
        self.assertEqual([e.type for e in events], [
                'direct_payment.reported', 'credit_note.reported', 'recall.requested'])
        self.assertEqual(events[0].data['amount'], '100.00')

    def test_only_update_types(self):
        "Agency events do not go out in an updates zip."
        with self.assertRaisesRegex(ValueError, 'case.accepted'):
            filefmt.build_updates_zip([event(1)], 'cred-42', CLOCK)


class EventsFileTest(unittest.TestCase):
    "The agency's returned events_….json or events.csv, read strictly."

    def events(self):
        "Three agency events."
        return [event(1), event(2, 'case.status_changed',
                {'status': 'in_progress', 'status_reason': 'Brev sendt; "rykker"'}),
            event(3, 'debtor.updated', {'email': 'ny@example.dk', 'city': 'Århus'})]

    def test_round_trips(self):
        "JSON and CSV files give back the same events."
        for fmt in ('json', 'csv'):
            with self.subTest(fmt=fmt):
                name, content = filefmt.build_events_file(self.events(), CLOCK, fmt=fmt)
                self.assertEqual(name, f'events_20260502T093015Z.{fmt}')
                events = filefmt.read_events_file(name, content)
                self.assertEqual(
                    [e.to_json() for e in events],
                    [protocol.parse_event(e).to_json() for e in self.events()])

    def test_csv_problems_name_file_row_field(self):
        "Every bad row is reported with its row number and field; nothing is imported."
        _, content = filefmt.build_events_file(self.events(), CLOCK, fmt='csv')
        lines = content.decode().split('\r\n')
        lines[1] = lines[1].replace(';1;', ';x;', 1)
        lines[2] = lines[2].replace('+00:00', '', 1)
        lines[3] = lines[3].replace('"{', '"[{', 1)
        with self.assertRaises(FileFormatError) as caught:
            filefmt.read_events_file('events.csv', '\r\n'.join(lines).encode())
        self.assertEqual(
            [(p.file, p.row, p.field) for p in caught.exception.problems],
            [('events.csv', 2, 'sequence'), ('events.csv', 3, 'occurred_at'),
                ('events.csv', 4, 'data_json')])
        self.assertIn('events.csv, row 2, sequence', str(caught.exception))

    def test_csv_header_bom_and_columns(self):
        "A byte order mark, another header or a short row is refused."
        _, content = filefmt.build_events_file(self.events(), CLOCK, fmt='csv')
        cases = [
            (b'\xef\xbb\xbf' + content, 1, 'file'),
            (content.replace(b'data_json', b'data', 1), 1, 'header'),
            (content + b'evt_9;9;case.closed\r\n', 5, 'row'),
            ]
        for given, row, field in cases:
            with self.subTest(field=field), self.assertRaises(FileFormatError) as caught:
                filefmt.read_events_file('events.csv', given)
            self.assertEqual(
                [(p.row, p.field) for p in caught.exception.problems], [(row, field)])

    def test_json_problems(self):
        "Duplicate ids, sequences out of order and missing data fields are named per row."
        events = self.events()
        events.append(dict(events[0], sequence=4))
        events.append(dict(events[1], id='evt_x', sequence=2))
        del events[2]['data']
        events[2]['type'] = 'case.closed'
        content = json.dumps(events).encode()
        with self.assertRaises(FileFormatError) as caught:
            filefmt.read_events_file('events_1.json', content)
        self.assertEqual(
            [(p.row, p.field) for p in caught.exception.problems],
            [(3, 'data.outcome'), (4, 'id'), (5, 'sequence')])
        for bad in (b'{"events": []}', b'[1, 2', b'[{"a": 1, "a": 2}]'):
            with self.subTest(bad=bad), self.assertRaises(FileFormatError):
                filefmt.read_events_file('events_1.json', bad)
        with self.assertRaises(FileFormatError):
            filefmt.read_events_file('events.xml', b'<events/>')
