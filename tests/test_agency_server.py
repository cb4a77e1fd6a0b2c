"""The push client against the reference agency server over real HTTP on 127.0.0.1."""
import hashlib
import json
import logging
import threading
import time
import unittest
import urllib.error
import urllib.request
import uuid
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from receivable_collection_agency.agency import protocol
from receivable_collection_agency.agency.client import AgencyError, PushClient
from receivable_collection_agency.tests.test_protocol import PDF, example_claim

from .agency_server import AgencyServer


def key():
    "A fresh Idempotency-Key."
    return str(uuid.uuid4())


def claim(n=1, **changes):
    "A valid claim with its own external_id."
    value = example_claim()
    value['external_id'] = f'RC-2026-{n:06d}'
    value.update(changes)
    return value


class Sleeps(list):
    "An injected sleep that records the delays instead of waiting."

    def __call__(self, seconds):
        self.append(seconds)


class AgencyTestCase(unittest.TestCase):
    "Starts a reference agency per test and a client that does not really wait."

    server_options = {}

    def setUp(self):
        self.agency = AgencyServer(**self.server_options).start()
        self.addCleanup(self.agency.stop)
        self.sleeps = Sleeps()
        self.client = self.make_client()

    def make_client(self, **options):
        "A client of the test agency: no client-side throttle, jitter factor 0.5."
        options = {'sleep': self.sleeps, 'rng': lambda: 0.5, 'rate_limit': None,
            'timeout': 5, **options}
        client = PushClient(self.agency.url, options.pop('api_key', self.agency.api_key),
            **options)
        self.addCleanup(client.close)
        return client

    def raw(self, method, path, body=None, headers=None):
        "A raw HTTP call: (status, headers, parsed body)."
        headers = {'Authorization': f'Bearer {self.agency.api_key}', **(headers or {})}
        request = urllib.request.Request(
            self.agency.url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                status, answer_headers, data = response.status, response.headers, response.read()
        except urllib.error.HTTPError as exception:
            status, answer_headers, data = exception.code, exception.headers, exception.read()
        return status, answer_headers, json.loads(data) if data else None

    def create(self, value):
        "Create a claim and accept it at the agency."
        self.client.create_claim(value, key())
        self.agency.accept(value['external_id'])

    def assertAgencyError(self, call, kind, status, code, errors=None):
        "The call raises an AgencyError of that kind, status, code (and error pairs)."
        with self.assertRaises(AgencyError) as caught:
            call()
        error = caught.exception
        self.assertEqual((error.kind, error.status, error.code), (kind, status, code), error)
        if errors is not None:
            self.assertEqual({(e['path'], e['code']) for e in error.errors}, errors)
        return error


class CreateClaimTest(AgencyTestCase):
    "POST /claims with retries and idempotency."

    server_options = {'rate': 1000, 'burst': 1000}

    def test_create_one(self):
        "A valid claim is stored as submitted with its balance."
        result = self.client.create_claim(claim(), key())
        self.assertEqual((result.status, result.tries, result.replayed), (201, 1, False))
        self.assertEqual(result.body, {'external_id': 'RC-2026-000001', 'status': 'submitted'})
        self.assertEqual(result.headers['Location'], '/v1/claims/RC-2026-000001')
        view = self.client.get_claim('RC-2026-000001').body
        self.assertEqual(view['status'], 'submitted')
        self.assertEqual(view['balance'], {
                'principal': '2500.00', 'costs': '100.00', 'interest': '26.04',
                'total': '2626.04'})
        self.assertEqual(self.agency.events, [], "creating a claim emits no event")

    def test_create_fifty(self):
        "Fifty claims, fifty cases, listed page by page."
        for n in range(50):
            self.client.create_claim(claim(n), key())
        first = self.client.list_claims(limit=20).body
        self.assertEqual((first['total'], len(first['claims']), first['has_more']),
            (50, 20, True))
        ids = [c['external_id'] for c in self.client.iter_claims(limit=20)]
        self.assertEqual(ids, [f'RC-2026-{n:06d}' for n in range(50)])

    def test_timeout_then_retry_creates_one_claim(self):
        "The agency stores the claim but answers late; the retry with the same key replays."
        self.agency.inject('timeout', delay=1.0, path='/v1/claims')
        client = self.make_client(timeout=0.3)
        idempotency_key = key()
        result = client.create_claim(claim(), idempotency_key)
        self.assertEqual((result.status, result.tries, result.replayed), (201, 2, True))
        self.assertEqual(list(self.agency.cases), ['RC-2026-000001'])
        posts = [r for r in self.agency.requests if r['method'] == 'POST']
        self.assertEqual([r['idempotency_key'] for r in posts], [idempotency_key] * 2)
        self.assertEqual(self.sleeps, [1.0])

    def test_request_in_progress_is_retried(self):
        "A retry while the first request still runs gets 409 request_in_progress, then the replay."
        self.agency.inject('slow', delay=1.0, path='/v1/claims')
        waits = []

        def sleep(seconds):
            waits.append(seconds)
            time.sleep(min(seconds, 0.3))
        client = self.make_client(timeout=0.3, sleep=sleep, rng=lambda: 0.0)
        result = client.create_claim(claim(), key())
        self.assertEqual((result.status, result.replayed), (201, True))
        self.assertIn(1, waits, "Retry-After: 1 of request_in_progress")
        self.assertEqual(len(self.agency.cases), 1)

    def test_server_errors_then_success(self):
        "Two 500 answers, then success; backoff 2 s, 4 s times the jitter."
        self.agency.inject('error500', count=2)
        result = self.client.create_claim(claim(), key())
        self.assertEqual((result.status, result.tries, result.replayed), (201, 3, False))
        self.assertEqual(self.sleeps, [1.0, 2.0])

    def test_retry_after_wins(self):
        "A 429 with Retry-After: 7 waits exactly 7 s, whatever the backoff says."
        self.agency.inject('rate_limit', retry_after=7)
        result = self.client.create_claim(claim(), key())
        self.assertEqual((result.status, result.tries), (201, 2))
        self.assertEqual(self.sleeps, [7])

    def test_long_retry_after_leaves_it_pending(self):
        "A Retry-After beyond the cap is not waited for: transient at once, with the delay."
        self.agency.inject('rate_limit', retry_after=900)
        error = self.assertAgencyError(
            lambda: self.client.create_claim(claim(), key()), 'transient', 429, 'rate_limited')
        self.assertEqual((error.tries, error.retry_after, self.sleeps), (1, 900, []))

    def test_post_needs_a_uuid4_key(self):
        "A POST without a uuid4 key is refused before anything is sent."
        with self.assertRaises(ValueError):
            self.client.create_claim(claim(), 'RC-2026-000001')
        self.assertEqual(self.agency.requests, [])

    def test_gives_up_after_max_tries(self):
        "Eight failures leave a transient error for the next run."
        self.agency.inject('error500', count=10)
        error = self.assertAgencyError(
            lambda: self.client.create_claim(claim(), key()), 'transient', 500,
            'internal_error')
        self.assertEqual(error.tries, 8)
        self.assertTrue(error.transient)
        self.assertEqual(self.sleeps, [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0])
        self.assertEqual(self.agency.cases, {})

    def test_backoff_is_capped(self):
        "Full jitter on base 2 s doubling, capped at 600 s."
        client = self.make_client(rng=lambda: 1.0)
        self.assertEqual([client.backoff(n) for n in range(1, 11)],
            [2, 4, 8, 16, 32, 64, 128, 256, 512, 600])

    def test_duplicate_claim_same_payload(self):
        "Re-sending the same claim with a new key is a success with the agency's case."
        self.client.create_claim(claim(), key())
        self.agency.accept('RC-2026-000001', 'A-777')
        reordered = json.loads(json.dumps(claim()), object_pairs_hook=lambda p: dict(p[::-1]))
        result = self.client.create_claim(reordered, key())
        self.assertTrue(result.duplicate)
        self.assertEqual((result.status, result.agency_case_id), (409, 'A-777'))
        self.assertEqual(result.body['payload_sha256'], protocol.payload_sha256(claim()))

    def test_duplicate_claim_other_payload(self):
        "The same external_id with another payload is a conflict."
        self.client.create_claim(claim(), key())
        changed = claim(reason='Something else')
        self.assertAgencyError(
            lambda: self.client.create_claim(changed, key()), 'conflict', 409,
            'duplicate_claim')

    def test_key_reuse_for_other_request(self):
        "One key for two different requests is idempotency_key_reuse."
        idempotency_key = key()
        self.client.dry_run(claim(), idempotency_key)
        self.assertAgencyError(
            lambda: self.client.create_claim(claim(), idempotency_key), 'conflict', 409,
            'idempotency_key_reuse')

    def test_validation_failed(self):
        "A rule error is 422 with paths; the claim is not stored and can be fixed and re-sent."
        bad = claim(total_open='1.00')
        self.assertAgencyError(
            lambda: self.client.create_claim(bad, key()), 'permanent', 422,
            'validation_failed', {('total_open', 'total_mismatch')})
        self.assertEqual(self.agency.cases, {})
        self.assertEqual(self.client.create_claim(claim(), key()).status, 201)

    def test_type_error_is_malformed(self):
        "Money as a JSON number is 400 malformed, listing the rule errors too."
        bad = claim(total_open=2626.04)
        bad['debtor']['insolvent'] = True
        self.assertAgencyError(
            lambda: self.client.create_claim(bad, key()), 'permanent', 400, 'malformed',
            {('total_open', 'wrong_type'), ('debtor.insolvent', 'debtor_insolvent')})

    def test_replayed_error(self):
        "A 422 answer is stored: the same key and body replay it."
        bad = claim(total_open='1.00')
        idempotency_key = key()
        for _ in range(2):
            with self.assertRaises(AgencyError):
                self.client.create_claim(bad, idempotency_key)
        replays = [r['replayed'] for r in self.agency.requests]
        self.assertEqual(replays, [False, True])

    def test_dry_run(self):
        "A dry run answers 200 with every error, type errors included, and stores nothing."
        result = self.client.dry_run(claim(), key())
        self.assertEqual(result.body, {'valid': True, 'errors': []})
        bad = claim(total_open=1)
        bad['lines'][0]['due_date'] = '2026-02-01'
        result = self.client.dry_run(bad, key())
        self.assertEqual(result.status, 200)
        self.assertFalse(result.body['valid'])
        self.assertEqual({(e['path'], e['code']) for e in result.body['errors']}, {
                ('total_open', 'wrong_type'), ('lines[0].due_date', 'date_order')})
        self.assertEqual(self.agency.cases, {})

    def test_malformed_answer(self):
        "A 201 whose body is not JSON is a permanent error; the retry replays the real answer."
        self.agency.inject('malformed', path='/v1/claims')
        idempotency_key = key()
        self.assertAgencyError(
            lambda: self.client.create_claim(claim(), idempotency_key), 'permanent', 201,
            'malformed_response')
        self.assertEqual(len(self.agency.cases), 1)
        result = self.client.create_claim(claim(), idempotency_key)
        self.assertEqual((result.status, result.replayed), (201, True))

    def test_wrong_key(self):
        "A wrong API key is an auth error at once, and no part of the key is shown."
        client = self.make_client(api_key='sk_live_wrong_secret_4242')
        with self.assertLogs('receivable_collection_agency.agency.client', 'INFO') as logs:
            error = self.assertAgencyError(
                lambda: client.create_claim(claim(), key()), 'auth', 401, 'unauthenticated')
        self.assertEqual(error.tries, 1)
        shown = ' '.join([repr(client), str(error), repr(error), *logs.output])
        self.assertNotIn('sk_live_wrong_secret_4242', shown)
        self.assertNotIn(self.agency.api_key, repr(self.client))

    def test_network_error_is_transient(self):
        "Nobody listening: transient after max_tries."
        client = self.make_client(max_tries=2)
        self.agency.stop()
        error = self.assertAgencyError(
            lambda: client.get_claim('RC-1'), 'transient', None, 'network_error')
        self.assertEqual(error.tries, 2)


class ReportTest(AgencyTestCase):
    "Direct payments, credit notes, recalls and document uploads on a case."

    def setUp(self):
        super().setUp()
        self.create(claim())
        self.eid = 'RC-2026-000001'

    def payment(self, amount, payment_id='P-1', **extra):
        "A direct payment report."
        return {'id': payment_id, 'date': '2026-05-01', 'amount': amount,
            'method': 'bank_transfer', 'reference': 'FIK 71', **extra}

    def test_payment_allocated(self):
        "A direct payment pays costs, interest, then principal and emits balance.changed."
        result = self.client.report_payment(self.eid, self.payment('500.00'), key())
        self.assertEqual(result.status, 201)
        self.assertEqual(result.body['allocation'], {
                'costs': '100.00', 'interest': '26.04', 'principal': '373.96'})
        self.assertEqual(result.body['balance']['total'], '2126.04')
        last = self.agency.events[-1]
        self.assertEqual((last['type'], last['data']['reason'], last['data']['reference_id']),
            ('balance.changed', 'direct_payment', 'P-1'))

    def test_payment_over_balance(self):
        "More than the open total is amount_exceeds_open; nothing changes."
        self.assertAgencyError(
            lambda: self.client.report_payment(self.eid, self.payment('2626.05'), key()),
            'permanent', 422, 'amount_exceeds_open', {('amount', 'amount_exceeds_open')})
        self.assertEqual(self.client.get_claim(self.eid).body['balance']['total'], '2626.04')
        self.assertEqual(
            self.client.report_payment(self.eid, self.payment('2626.04'), key()).body[
                'balance']['total'], '0.00')

    def test_payment_body_errors(self):
        "Unknown line and an id reported before are 422 validation_failed."
        self.client.report_payment(self.eid, self.payment('10.00'), key())
        self.assertAgencyError(
            lambda: self.client.report_payment(
                self.eid, self.payment('10.00', line_number='INV-X'), key()),
            'permanent', 422, 'validation_failed',
            {('id', 'duplicate_id'), ('line_number', 'unknown_line')})

    def test_credit_note_limit(self):
        "A credit note reduces principal up to the line's open amount less earlier notes."
        note = {'id': 'CN-1', 'number': 'CN-2026-1', 'date': '2026-05-01',
            'amount': '2000.00', 'line_number': 'INV-2026-0310', 'reason': 'discount'}
        result = self.client.report_credit_note(self.eid, note, key())
        self.assertEqual(result.body['allocation'], {
                'costs': '0.00', 'interest': '0.00', 'principal': '2000.00'})
        self.assertEqual(result.body['balance']['principal'], '500.00')
        self.assertAgencyError(
            lambda: self.client.report_credit_note(
                self.eid, {**note, 'id': 'CN-2', 'amount': '500.01'}, key()),
            'permanent', 422, 'amount_exceeds_open')

    def test_checks_run_body_state_amount(self):
        "On a closed case a bad body is still 422, a good one 409, whatever the amount."
        self.agency.set_status(self.eid, 'uncollectible')
        self.agency.close(self.eid)
        self.assertAgencyError(
            lambda: self.client.report_payment(self.eid, {'id': 'P-9'}, key()),
            'permanent', 422, 'validation_failed')
        self.assertAgencyError(
            lambda: self.client.report_payment(self.eid, self.payment('99999.00'), key()),
            'conflict', 409, 'invalid_state')

    def test_recall_twice(self):
        "The first recall is 202 and recalls the case; a second is 409 invalid_state."
        result = self.client.recall(self.eid, 'paid_directly', key(), note='paid in cash')
        self.assertEqual(result.status, 202)
        self.assertEqual(result.body, {'external_id': self.eid, 'status': 'recalled',
            'recall_reason': 'paid_directly'})
        self.assertEqual(self.agency.events[-1]['type'], 'case.recalled')
        self.assertEqual(self.agency.events[-1]['data'],
            {'reason': 'paid_directly', 'note': 'paid in cash'})
        self.assertAgencyError(
            lambda: self.client.recall(self.eid, 'paid_directly', key()), 'conflict', 409,
            'invalid_state')

    def test_document_upload(self):
        "The listed PDF uploads; a retry with the same key is replayed, not added twice."
        self.agency.inject('timeout', delay=1.0, path=f'/v1/claims/{self.eid}/documents')
        client = self.make_client(timeout=0.3)
        meta = {'id': 'doc-1', 'kind': 'invoice', 'filename': 'INV-2026-0310.pdf',
            'sha256': hashlib.sha256(PDF).hexdigest(), 'size': len(PDF)}
        result = client.upload_document(self.eid, meta, PDF, key())
        self.assertEqual((result.status, result.replayed), (201, True))
        self.assertEqual(result.body, {'id': 'doc-1', 'sha256': meta['sha256']})
        added = [e for e in self.agency.events if e['type'] == 'document.added']
        self.assertEqual(len(added), 1)
        self.assertEqual(self.agency.case(self.eid).files['doc-1'], PDF)

    def test_document_mismatches(self):
        "Wrong sha256 or size, another file for a listed id, a non-PDF, an unknown claim."
        other = b'%PDF-1.7\nother'
        meta = {'id': 'doc-1', 'kind': 'invoice', 'filename': 'x.pdf',
            'sha256': hashlib.sha256(PDF).hexdigest()}
        self.assertAgencyError(
            lambda: self.client.upload_document(self.eid, meta, other, key()),
            'permanent', 422, 'validation_failed',
            {('meta.sha256', 'sha256_mismatch'), ('file', 'sha256_mismatch')})
        self.assertAgencyError(
            lambda: self.client.upload_document(
                self.eid, {'id': 'doc-2', 'kind': 'other', 'filename': 'y.pdf', 'size': 3},
                other, key()),
            'permanent', 422, 'validation_failed', {('meta.size', 'size_mismatch')})
        new = {'id': 'doc-2', 'kind': 'contract', 'filename': 'contract.pdf'}
        self.assertEqual(
            self.client.upload_document(self.eid, new, other, key()).body['id'], 'doc-2')
        self.assertAgencyError(
            lambda: self.client.upload_document(self.eid, new, b'GIF89a', key()),
            'permanent', 415, 'not_pdf')
        self.assertAgencyError(
            lambda: self.client.upload_document('RC-404', new, PDF, key()),
            'permanent', 404, 'not_found')
        big = b'%PDF-1.4\n' + b'0' * (10 * 1024 * 1024)
        self.assertAgencyError(
            lambda: self.client.upload_document(self.eid, {**new, 'id': 'doc-3'}, big, key()),
            'permanent', 413, 'document_too_big')
        self.assertEqual(sorted(self.agency.case(self.eid).files), ['doc-2'])


class EventsTest(AgencyTestCase):
    "The events feed: opaque cursors, pages, errors."

    def test_pages(self):
        "Pages of two from the start to the end; an empty page keeps the cursor."
        empty = self.client.events()
        self.assertEqual((empty.events, empty.next_cursor, empty.has_more),
            ([], 'c_000000', False))
        for n in range(3):
            self.create(claim(n))
        self.agency.set_status('RC-2026-000000', 'in_progress', 'letter sent')
        self.agency.installment_plan('RC-2026-000001', 4, '656.51', date(2026, 6, 1))
        pages = list(self.client.iter_event_pages(limit=2))
        self.assertEqual([[e.sequence for e in p.events] for p in pages], [[1, 2], [3, 4], [5]])
        self.assertEqual([p.has_more for p in pages], [True, True, False])
        self.assertEqual([e.type for p in pages for e in p.events], [
                'case.accepted'] * 3 + ['case.status_changed', 'case.installment_plan'])
        last = self.client.events(cursor=pages[-1].next_cursor)
        self.assertEqual((last.events, last.next_cursor, last.has_more),
            ([], pages[-1].next_cursor, False))
        self.assertEqual(
            self.client.get_claim('RC-2026-000001').body['installment_plan'],
            {'count': 4, 'amount': '656.51', 'first_due': '2026-06-01',
                'frequency': 'monthly'})

    def test_cursor_and_limit_errors(self):
        "A cursor not issued or ahead of the feed, a limit below 1 or not an integer: 400."
        self.create(claim())
        for cursor in ('evt_1', 'c_000002', 'c_12'):
            with self.subTest(cursor=cursor):
                self.assertAgencyError(
                    lambda cursor=cursor: self.client.events(cursor=cursor),
                    'permanent', 400, 'malformed',
                    {('query.cursor', 'invalid_cursor')})
        for limit in (0, -1, 'ten', '1.5'):
            with self.subTest(limit=limit):
                self.assertAgencyError(
                    lambda limit=limit: self.client.events(limit=limit),
                    'permanent', 400, 'malformed',
                    {('query.limit', 'invalid_value')})
        self.assertEqual(len(self.client.events(limit=100000).events), 1)

    def test_full_lifecycle(self):
        "Accepted, worked, paid by the debtor, settled and closed: events and case view agree."
        self.create(claim())
        eid = 'RC-2026-000001'
        self.agency.set_status(eid, 'in_progress')
        self.agency.receive_payment(eid, '2626.04', payment_id='AP-1')
        self.agency.set_status(eid, 'paid')
        self.agency.issue_settlement(eid, agency_fee='200.00', agency_fee_vat='50.00')
        self.agency.close(eid)
        events = [e for p in self.client.iter_event_pages() for e in p.events]
        self.assertEqual([e.type for e in events], [
                'case.accepted', 'case.status_changed', 'payment.received', 'balance.changed',
                'case.status_changed', 'settlement.issued', 'case.closed'])
        self.assertEqual([e.state for e in events], [
                'accepted', 'in_progress', None, None, 'paid', None, 'closed'])
        settlement = events[5].data
        self.assertEqual((settlement['remitted_amount'], settlement['lines']), ('2376.04', [{
                    'external_id': eid, 'principal': '2500.00', 'interest': '26.04',
                    'costs': '100.00'}]))
        self.assertEqual(events[-1].data, {'outcome': 'paid'})
        view = self.client.get_claim(eid).body
        self.assertEqual((view['status'], view['collected_total'], view['remitted_total'],
                view['balance']['total']), ('closed', '2626.04', '2376.04', '0.00'))
        with self.assertRaisesRegex(ValueError, 'closed -> in_progress'):
            self.agency.set_status(eid, 'in_progress')


class DeferredRecallTest(AgencyTestCase):
    "An agency that confirms recalls later."

    server_options = {'recall_mode': 'deferred'}

    def test_recall_confirmed_later(self):
        "The 202 keeps the status; case.recalled comes with the agency's confirmation."
        self.create(claim())
        eid = 'RC-2026-000001'
        result = self.client.recall(eid, 'disputed', key())
        self.assertEqual(result.body['status'], 'accepted')
        self.assertAgencyError(
            lambda: self.client.recall(eid, 'disputed', key()), 'conflict', 409,
            'invalid_state')
        self.agency.confirm_recall(eid)
        page = self.client.events(cursor='c_000001')
        self.assertEqual([(e.type, e.data) for e in page.events],
            [('case.recalled', {'reason': 'disputed'})])


class HttpContractTest(AgencyTestCase):
    "Headers, media types and rate limits seen on the wire."

    server_options = {'monotonic': lambda: 0.0}

    def test_rate_limit_headers(self):
        "Burst 20 at 10/s: the 21st request is 429 with Retry-After; headers on every answer."
        answers = [self.raw('GET', '/claims') for _ in range(21)]
        self.assertEqual([a[0] for a in answers], [200] * 20 + [429])
        first, last = answers[0][1], answers[-1][1]
        self.assertEqual((first['RateLimit-Limit'], first['RateLimit-Remaining'],
                first['RateLimit-Reset']), ('10', '19', '1'))
        self.assertEqual((last['RateLimit-Remaining'], last['RateLimit-Reset'],
                last['Retry-After']), ('0', '2', '1'))
        self.assertEqual(answers[-1][2]['code'], 'rate_limited')

    def test_unauthenticated(self):
        "No key: 401 with WWW-Authenticate: Bearer and no rate-limit headers."
        status, headers, body = self.raw('GET', '/claims', headers={'Authorization': ''})
        self.assertEqual((status, body['code'], headers['WWW-Authenticate']),
            (401, 'unauthenticated', 'Bearer'))
        self.assertIsNone(headers['RateLimit-Limit'])
        self.assertEqual(headers['Content-Type'], 'application/problem+json')
        self.assertRegex(body['request_id'], r'^req_[0-9]{6}$')

    def test_post_needs_key_and_json(self):
        "A POST without a uuid4 Idempotency-Key is 400; a non-JSON body 415."
        body = protocol.dumps(claim())
        status, _, answer = self.raw('POST', '/claims', body,
            {'Content-Type': 'application/json', 'Idempotency-Key': 'abc'})
        self.assertEqual((status, answer['errors'][0]['path']),
            (400, 'headers.Idempotency-Key'))
        status, _, answer = self.raw('POST', '/claims', body,
            {'Content-Type': 'text/plain', 'Idempotency-Key': key()})
        self.assertEqual((status, answer['code']), (415, 'unsupported_media_type'))
        status, _, answer = self.raw('POST', '/claims', b'{"a": 1, "a": 2}',
            {'Content-Type': 'application/json', 'Idempotency-Key': key()})
        self.assertEqual((status, answer['code'], answer['errors'][0]['path']),
            (400, 'malformed', 'body'))

    def test_same_request_whatever_the_key_order(self):
        "Bodies are compared as JSON values: reordered keys with the same key replay."
        idempotency_key = key()
        headers = {'Content-Type': 'application/json', 'Idempotency-Key': idempotency_key}
        first = self.raw('POST', '/claims', protocol.dumps(claim()), headers)
        second = self.raw('POST', '/claims', json.dumps(claim(), indent=2, sort_keys=True)
            .encode(), headers)
        self.assertEqual((first[0], second[0]), (201, 201))
        self.assertEqual(second[1]['Idempotent-Replayed'], 'true')
        self.assertEqual(first[2], second[2])

    def test_unknown_endpoint(self):
        "Unknown paths and claims are 404 not_found."
        for path in ('/nothing', '/claims/RC-404'):
            status, _, answer = self.raw('GET', path)
            self.assertEqual((status, answer['code']), (404, 'not_found'))


class AuthVariantsTest(AgencyTestCase):
    "Basic auth and OAuth2 client credentials, as real agencies use them."

    server_options = {'basic_users': {'nordlys': 'pw-basic'},
        'oauth_clients': {'erp-client': 'oauth-secret'}, 'token_lifetime': 120}

    def test_basic(self):
        "Basic auth with user and key works; a wrong password is an auth error."
        client = self.make_client(auth='basic', username='nordlys', api_key='pw-basic')
        self.assertEqual(client.create_claim(claim(), key()).status, 201)
        client = self.make_client(auth='basic', username='nordlys', api_key='nope')
        self.assertAgencyError(lambda: client.get_claim('RC-2026-000001'), 'auth', 401,
            'unauthenticated')

    def test_oauth2_token_cached(self):
        "One token serves calls until expires_in - 60 s; then a new one is fetched."
        now = [1000.0]
        client = self.make_client(
            auth='oauth2', username='erp-client', api_key='oauth-secret',
            token_url=self.agency.token_url, clock=lambda: now[0])
        client.create_claim(claim(), key())
        client.get_claim('RC-2026-000001')
        self.assertEqual(len(self.agency.tokens), 1)
        now[0] += 61
        client.get_claim('RC-2026-000001')
        self.assertEqual(len(self.agency.tokens), 2)
        client = self.make_client(
            auth='oauth2', username='erp-client', api_key='wrong',
            token_url=self.agency.token_url)
        self.assertAgencyError(
            lambda: client.get_claim('RC-2026-000001'), 'auth', 401, 'token_refused')


class ThrottleTest(unittest.TestCase):
    "The client's own limit of requests per second."

    def test_spacing(self):
        "At 5 requests/s the client waits 0.2 s between requests sent at once."
        with AgencyServer() as agency:
            now, sleeps = [0.0], []

            def sleep(seconds):
                sleeps.append(round(seconds, 6))
                now[0] += seconds
            client = PushClient(agency.url, agency.api_key, sleep=sleep, clock=lambda: now[0])
            for _ in range(3):
                client.list_claims()
            client.close()
        self.assertEqual(sleeps, [0.2, 0.2])


class _Receiver(BaseHTTPRequestHandler):
    "Our side of the webhook: verify, then answer the next scripted status."

    def log_message(self, format, *args):
        pass

    def do_POST(self):
        box = self.server.box
        body = self.rfile.read(int(self.headers['Content-Length']))
        try:
            protocol.verify(box['secrets'], body, self.headers.get('X-Signature'), time.time())
        except protocol.SignatureError:
            status = 401
        else:
            status = box['statuses'].pop(0) if box['statuses'] else 200
            if status == 200:
                box['events'].append(protocol.parse_event(body))
        box['answers'].append(status)
        self.send_response(status)
        self.send_header('Content-Length', '0')
        self.end_headers()


class WebhookTest(unittest.TestCase):
    "Signed webhook deliveries with retries and duplicates."

    def setUp(self):
        self.box = {'secrets': ['old-secret', 'new-secret'], 'statuses': [], 'events': [],
            'answers': []}
        receiver = ThreadingHTTPServer(('127.0.0.1', 0), _Receiver)
        receiver.box = self.box
        threading.Thread(
            target=lambda: receiver.serve_forever(poll_interval=0.05), daemon=True).start()
        self.addCleanup(receiver.server_close)
        self.addCleanup(receiver.shutdown)
        self.url = f'http://127.0.0.1:{receiver.server_address[1]}/webhook'

    def agency(self, secret):
        "A reference agency posting webhooks signed with secret."
        agency = AgencyServer(webhook_url=self.url, webhook_secret=secret).start()
        self.addCleanup(agency.stop)
        client = PushClient(agency.url, agency.api_key, rate_limit=None)
        self.addCleanup(client.close)
        client.create_claim(claim(), key())
        return agency

    def test_signed_delivery_retried_and_duplicated(self):
        "A 500 is retried; a duplicate delivery repeats the same id (the consumer dedupes)."
        agency = self.agency('new-secret')
        self.box['statuses'] = [500]
        agency.accept('RC-2026-000001')
        agency.inject('duplicate_webhook')
        agency.set_status('RC-2026-000001', 'in_progress')
        self.assertTrue(agency.flush_webhooks())
        self.assertEqual(self.box['answers'], [500, 200, 200, 200])
        self.assertEqual([e.id for e in self.box['events']],
            ['evt_000001', 'evt_000002', 'evt_000002'])
        self.assertEqual(self.box['events'][0].agency_case_id, agency.case(
                'RC-2026-000001').agency_case_id)

    def test_unknown_secret_refused(self):
        "A webhook signed with a secret we do not hold is answered 401, three tries."
        agency = self.agency('stolen-secret')
        agency.accept('RC-2026-000001')
        self.assertTrue(agency.flush_webhooks())
        self.assertEqual(self.box['answers'], [401, 401, 401])
        self.assertEqual(self.box['events'], [])


if __name__ == '__main__':
    logging.basicConfig()
    unittest.main()
