"""A reference collection agency: section (b) of ``shared/specs/agency-claim-api.md`` over HTTP.

Standard library only (``http.server``), on 127.0.0.1 with a free port, used as a context
manager by the tests::

    with AgencyServer() as agency:
        client = PushClient(agency.url, agency.api_key)
        ...
        agency.accept('RC-1')            # the agency's side: emits case.accepted

Validation goes through ``receivable_collection_agency.agency.protocol`` (one source of truth).
Besides the API the server offers test controls (accept, reject, set_status, installment_plan,
receive_payment, issue_settlement, close, confirm_recall, dispute, update_debtor), signed webhook
deliveries to ``webhook_url``, and fault injection with ``inject()``: ``timeout`` (process, then
answer after the client gave up, so a retry is replayed), ``slow`` (sleep while the key is in
progress), ``error500``, ``rate_limit`` (429 with Retry-After), ``malformed`` (process, answer
with broken JSON) and ``duplicate_webhook``.
"""
import base64
import email.parser
import email.policy
import hashlib
import itertools
import math
import queue
import re
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from receivable_collection_agency.agency import filefmt, protocol

MAX_BODY = 20 * 1024 * 1024
MAX_DOCUMENT = 10 * 1024 * 1024
MAX_LIMIT = 500
DEFAULT_LIMIT = 100
_CURSOR = re.compile(r'c_([0-9]{6,})')
_INTEGER = re.compile(r'-?[0-9]+')


class _Reply(Exception):
    "An answer decided while handling a request (raised to leave the handler early)."

    def __init__(self, status, body, headers=None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def problem(status, code, title, errors=None, detail=None, headers=None):
    "An RFC 9457 problem answer with the contract's machine code."
    body = {
        'type': f'https://errors.example/{code}', 'title': title, 'status': status,
        'code': code,
        }
    if errors is not None:
        body['errors'] = errors
    if detail is not None:
        body['detail'] = detail
    return _Reply(status, body, headers)


class Case:
    "One claim the agency holds, with its state, balance and reports."

    def __init__(self, claim, now):
        self.claim = claim
        self.external_id = claim['external_id']
        self.currency = claim['currency']
        self.payload_sha256 = protocol.payload_sha256(claim)
        self.status = 'submitted'
        self.status_reason = None
        self.agency_case_id = None
        self.updated_at = now
        self.balance = protocol.claim_balance(claim)
        self.collected = Decimal(0)
        self.remitted = Decimal(0)
        self.unremitted = protocol.Allocation()
        self.installment_plan = None
        self.payments = {}
        self.credit_notes = {}
        self.recall = None
        self.documents = {d['id']: dict(d) for d in claim.get('documents') or ()}
        self.files = {}
        self.lines = {line['number']: line for line in claim['lines']}

    def view(self):
        "The case view of GET /claims/{external_id}."
        money = self.money
        view = {
            'external_id': self.external_id, 'agency_case_id': self.agency_case_id,
            'status': self.status, 'status_reason': self.status_reason,
            'updated_at': self.updated_at.isoformat(timespec='seconds'),
            'balance': self.balance.to_json(self.currency),
            'collected_total': money(self.collected), 'remitted_total': money(self.remitted),
            }
        if self.installment_plan is not None:
            view['installment_plan'] = self.installment_plan
        return view

    def money(self, amount):
        "A money string in the case currency."
        return protocol.format_money(amount, self.currency)


class _Fault:
    def __init__(self, kind, count, method, path, **options):
        self.kind, self.count, self.method, self.path = kind, count, method, path
        self.options = options

    def matches(self, method, path):
        return ((self.method is None or self.method == method)
            and (self.path is None or re.fullmatch(self.path, path)))


class AgencyServer:
    "The reference agency: REST API, test controls, webhooks and fault injection."

    def __init__(self, api_key='agency-test-key', rate=10, burst=20, min_debtor_age=None,
            recall_mode='immediate', webhook_url=None, webhook_secret=None,
            webhook_tries=3, webhook_delay=0.05, basic_users=None, oauth_clients=None,
            token_lifetime=3600, clock=None, today=None, monotonic=time.monotonic, port=0):
        self.api_key = api_key
        self.port = port
        self.rate = rate
        self.burst = burst
        self.min_debtor_age = min_debtor_age
        self.recall_mode = recall_mode
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.webhook_tries = webhook_tries
        self.webhook_delay = webhook_delay
        self.basic_users = dict(basic_users or {})
        self.oauth_clients = dict(oauth_clients or {})
        self.token_lifetime = token_lifetime
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.today = today
        self.monotonic = monotonic
        self.lock = threading.RLock()
        self.cases = {}
        self.events = []
        self.idempotency = {}
        self.requests = []
        self.deliveries = []
        self.tokens = {}
        self._faults = []
        self._buckets = {}
        self._ids = itertools.count(1)
        self._request_ids = itertools.count(1)
        self._stopping = threading.Event()
        self._webhooks = queue.Queue()
        self._httpd = None
        self._threads = []

    # -- lifecycle -------------------------------------------------------------

    def start(self):
        "Listen on 127.0.0.1 with a free port."
        self._httpd = ThreadingHTTPServer(('127.0.0.1', self.port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.agency = self
        self.port = self._httpd.server_address[1]
        self.root = f'http://127.0.0.1:{self.port}'
        self.url = self.root + '/v1'
        self.token_url = self.root + '/oauth/token'
        for target in (lambda: self._httpd.serve_forever(poll_interval=0.05),
                self._deliver_webhooks):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self):
        "Stop serving and wake every sleeping fault."
        self._stopping.set()
        self._webhooks.put(None)
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def now(self):
        "The agency's current time (aware)."
        return self.clock()

    # -- fault injection ---------------------------------------------------------

    def inject(self, kind, count=1, method=None, path=None, **options):
        "Make the next count matching requests fail: timeout, slow, error500, rate_limit, ..."
        kinds = ('timeout', 'slow', 'error500', 'rate_limit', 'malformed', 'duplicate_webhook')
        if kind not in kinds:
            raise ValueError(f"unknown fault {kind!r}")
        with self.lock:
            self._faults.append(_Fault(kind, count, method, path, **options))

    def _take_fault(self, method, path, kinds):
        with self.lock:
            for fault in self._faults:
                if fault.kind in kinds and fault.count > 0 and fault.matches(method, path):
                    fault.count -= 1
                    return fault
        return None

    def sleep(self, seconds):
        "Sleep unless the server stops first."
        self._stopping.wait(seconds)

    # -- events and webhooks ---------------------------------------------------

    def emit(self, case, event_type, data):
        "Append an event to the feed (and queue its webhook); the envelope."
        with self.lock:
            sequence = len(self.events) + 1
            case.updated_at = self.now()
            envelope = protocol.make_event(
                f'evt_{sequence:06d}', sequence, event_type, case.updated_at,
                case.external_id, data, agency_case_id=case.agency_case_id)
            self.events.append(envelope)
        if self.webhook_url:
            copies = 2 if self._take_fault('POST', 'webhook', ('duplicate_webhook',)) else 1
            for _ in range(copies):
                self._webhooks.put(envelope)
        return envelope

    def _deliver_webhooks(self):
        while True:
            envelope = self._webhooks.get()
            if envelope is None:
                return
            body = protocol.dumps(envelope)
            for attempt in range(self.webhook_tries):
                timestamp = int(time.time())
                request = urllib.request.Request(self.webhook_url, data=body, method='POST',
                    headers={
                        'Content-Type': 'application/json',
                        'X-Signature': protocol.sign(self.webhook_secret, body, timestamp),
                        })
                try:
                    with urllib.request.urlopen(request, timeout=5) as response:
                        status = response.status
                except urllib.error.HTTPError as exception:
                    status = exception.code
                except OSError:
                    status = None
                with self.lock:
                    self.deliveries.append((envelope['id'], status))
                if status is not None and 200 <= status < 300:
                    break
                if self._stopping.wait(self.webhook_delay * 2 ** attempt):
                    return
            self._webhooks.task_done()

    def flush_webhooks(self, timeout=10):
        "Wait until every queued webhook has been delivered (or given up)."
        end = time.monotonic() + timeout
        while self._webhooks.unfinished_tasks and time.monotonic() < end:
            time.sleep(0.01)
        return not self._webhooks.unfinished_tasks

    # -- test controls (the agency's side) ----------------------------------------

    def case(self, external_id):
        "The Case of an external_id (KeyError when unknown)."
        return self.cases[external_id]

    def _move(self, case, status, reason=None):
        if not protocol.can_transition(case.status, status):
            raise ValueError(f"{case.external_id}: {case.status} -> {status} is not allowed")
        case.status = status
        case.status_reason = reason

    def accept(self, external_id, agency_case_id=None):
        "Accept a submitted claim: case.accepted with the agency's case id."
        with self.lock:
            case = self.case(external_id)
            self._move(case, 'accepted')
            case.agency_case_id = agency_case_id or f'A-{next(self._ids):05d}'
            return self.emit(case, 'case.accepted', {'agency_case_id': case.agency_case_id})

    def reject(self, external_id, reason_code='not_collectible', errors=()):
        "Reject a submitted claim: case.rejected."
        with self.lock:
            case = self.case(external_id)
            self._move(case, 'rejected', reason_code)
            return self.emit(
                case, 'case.rejected', {'reason_code': reason_code, 'errors': list(errors)})

    def set_status(self, external_id, status, reason=None):
        "Move a case along section (d): case.status_changed (recalled/closed: their events)."
        if status == 'recalled':
            return self.confirm_recall(external_id, reason=reason)
        if status == 'closed':
            return self.close(external_id)
        with self.lock:
            case = self.case(external_id)
            self._move(case, status, reason)
            if status != 'installment_plan':
                case.installment_plan = None
            return self.emit(
                case, 'case.status_changed', {'status': status, 'status_reason': reason})

    def installment_plan(self, external_id, count, amount, first_due, frequency='monthly'):
        "Agree an instalment plan with the debtor: case.installment_plan."
        with self.lock:
            case = self.case(external_id)
            self._move(case, 'installment_plan')
            case.installment_plan = {
                'count': count, 'amount': case.money(Decimal(amount)),
                'first_due': first_due.isoformat(), 'frequency': frequency,
                }
            return self.emit(case, 'case.installment_plan', dict(case.installment_plan))

    def receive_payment(self, external_id, amount, payment_date=None, payment_id=None):
        "The agency collects money: payment.received then balance.changed."
        with self.lock:
            case = self.case(external_id)
            if case.status not in protocol.OPEN_STATES:
                raise ValueError(f"{external_id} is {case.status}")
            amount = Decimal(amount)
            allocation, case.balance = protocol.allocate(amount, case.balance)
            case.collected += amount
            case.unremitted = protocol.Allocation(
                costs=case.unremitted.costs + allocation.costs,
                interest=case.unremitted.interest + allocation.interest,
                principal=case.unremitted.principal + allocation.principal)
            payment_id = payment_id or f'P-{next(self._ids)}'
            payment_date = (payment_date or self.now().date()).isoformat()
            received = self.emit(case, 'payment.received', {
                    'payment_id': payment_id, 'date': payment_date,
                    'amount': case.money(amount),
                    'allocation': allocation.to_json(case.currency),
                    })
            self.emit(case, 'balance.changed', {
                    'reason': 'agency_payment', 'reference_id': payment_id,
                    'amount': case.money(amount),
                    'balance': case.balance.to_json(case.currency),
                    })
            return received

    def issue_settlement(self, external_id, agency_fee='0', agency_fee_vat='0',
            settlement_date=None, settlement_id=None):
        "Remit what was collected on a case, less fees: settlement.issued."
        with self.lock:
            case = self.case(external_id)
            due = case.unremitted
            collected = due.costs + due.interest + due.principal
            fee, vat = Decimal(agency_fee), Decimal(agency_fee_vat)
            remitted = collected - fee - vat
            if remitted < 0:
                raise ValueError("the fees exceed what was collected")
            case.remitted += remitted
            case.unremitted = protocol.Allocation()
            money = case.money
            return self.emit(case, 'settlement.issued', {
                    'settlement_id': settlement_id or f'S-{next(self._ids)}',
                    'date': (settlement_date or self.now().date()).isoformat(),
                    'remitted_amount': money(remitted), 'agency_fee': money(fee),
                    'agency_fee_vat': money(vat),
                    'lines': [{
                            'external_id': case.external_id,
                            'principal': money(due.principal),
                            'interest': money(due.interest), 'costs': money(due.costs),
                            }],
                    })

    def close(self, external_id):
        "Close a case after its outcome: case.closed {outcome}."
        with self.lock:
            case = self.case(external_id)
            outcome = case.status
            self._move(case, 'closed')
            return self.emit(case, 'case.closed', {'outcome': outcome})

    def confirm_recall(self, external_id, reason=None, note=None):
        "Confirm a recall (deferred mode, or the agency's own): case.recalled."
        with self.lock:
            case = self.case(external_id)
            self._move(case, 'recalled', reason)
            data = {'reason': reason or (case.recall or {}).get('reason') or 'other'}
            note = note or (case.recall or {}).get('note')
            if note:
                data['note'] = note
            return self.emit(case, 'case.recalled', data)

    def dispute(self, external_id, reason):
        "The debtor disputes the claim: debtor.disputed."
        with self.lock:
            return self.emit(self.case(external_id), 'debtor.disputed', {'reason': reason})

    def update_debtor(self, external_id, **changes):
        "The agency found a new address or e-mail: debtor.updated."
        with self.lock:
            return self.emit(self.case(external_id), 'debtor.updated', changes)

    def events_file(self, fmt='json', after=0, created_at=None):
        "The events after a sequence as the agency's return file (section g): (name, bytes)."
        with self.lock:
            events = [e for e in self.events if e['sequence'] > after]
        return filefmt.build_events_file(events, created_at or self.now(), fmt=fmt)

    # -- HTTP side -------------------------------------------------------------

    def authenticate(self, header):
        "The identity a request authenticates as, or None."
        if not header:
            return None
        scheme, _, value = header.partition(' ')
        scheme, value = scheme.lower(), value.strip()
        if scheme == 'bearer':
            if self.api_key and value == self.api_key:
                return 'key'
            with self.lock:
                expires = self.tokens.get(value)
            if expires is not None and self.monotonic() < expires:
                return 'oauth'
        elif scheme == 'basic' and self.basic_users:
            try:
                user, _, password = base64.b64decode(value).decode().partition(':')
            except ValueError:
                return None
            if self.basic_users.get(user) == password:
                return f'basic:{user}'
        return None

    def rate_headers(self, identity):
        "Take one request from the identity's bucket: (allowed, RateLimit-* headers)."
        with self.lock:
            now = self.monotonic()
            tokens, last = self._buckets.get(identity, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            allowed = tokens >= 1
            if allowed:
                tokens -= 1
            self._buckets[identity] = (tokens, now)
        headers = {
            'RateLimit-Limit': str(self.rate),
            'RateLimit-Remaining': str(int(tokens)),
            'RateLimit-Reset': str(math.ceil((self.burst - tokens) / self.rate)),
            }
        if not allowed:
            headers['Retry-After'] = str(max(1, math.ceil((1 - tokens) / self.rate)))
        return allowed, headers

    def issue_token(self, header, form):
        "OAuth2 client credentials: a bearer token valid token_lifetime seconds."
        scheme, _, value = (header or '').partition(' ')
        try:
            client, _, secret = base64.b64decode(value).decode().partition(':')
        except ValueError:
            client = secret = None
        if scheme.lower() != 'basic' or self.oauth_clients.get(client) != secret \
                or form.get('grant_type') != 'client_credentials':
            raise _Reply(401, {'error': 'invalid_client'})
        token = hashlib.sha256(f'{client}{next(self._ids)}{time.time()}'.encode()).hexdigest()
        with self.lock:
            self.tokens[token] = self.monotonic() + self.token_lifetime
        return {'access_token': token, 'token_type': 'Bearer',
            'expires_in': self.token_lifetime}

    def get_claims(self, query):
        "GET /claims?offset=&limit=: every case view, offset paginated."
        offset = _query_int(query, 'offset', 0, minimum=0)
        limit = min(_query_int(query, 'limit', DEFAULT_LIMIT, minimum=1), MAX_LIMIT)
        with self.lock:
            cases = list(self.cases.values())
            page = [c.view() for c in cases[offset:offset + limit]]
        return 200, {
            'claims': page, 'offset': offset, 'limit': limit, 'total': len(cases),
            'has_more': offset + len(page) < len(cases),
            }

    def get_claim(self, external_id):
        "GET /claims/{external_id}: the case view."
        with self.lock:
            return 200, self._case_or_404(external_id).view()

    def get_events(self, query):
        "GET /events?cursor=&limit=: the events after the cursor, oldest first."
        limit = min(_query_int(query, 'limit', DEFAULT_LIMIT, minimum=1), MAX_LIMIT)
        with self.lock:
            last = len(self.events)
            cursor = query.get('cursor')
            position = 0
            if cursor is not None:
                match = _CURSOR.fullmatch(cursor)
                if not match or int(match.group(1)) > last:
                    raise problem(400, 'malformed', "Bad cursor", errors=[protocol.error(
                        'query.cursor', 'invalid_cursor',
                        "not a cursor this feed issued, or ahead of the feed")])
                position = int(match.group(1))
            page = self.events[position:position + limit]
        end = page[-1]['sequence'] if page else position
        return 200, {
            'events': page, 'next_cursor': f'c_{end:06d}', 'has_more': end < last,
            }

    def post_claim(self, query, body):
        "POST /claims (and ?dry_run=true): validate, store, answer 201."
        claim = _json_body(body)
        errors = protocol.validate_claim(
            claim, today=self.today, min_debtor_age=self.min_debtor_age)
        if query.get('dry_run') in ('true', '1'):
            return 200, {'valid': not errors, 'errors': errors}
        _raise_errors(errors, "Claim rejected")
        external_id = claim['external_id']
        with self.lock:
            existing = self.cases.get(external_id)
            if existing is not None:
                detail = {**existing.view(), 'payload_sha256': existing.payload_sha256}
                raise problem(
                    409, 'duplicate_claim', "A claim with this external_id exists",
                    detail=detail)
            case = self.cases[external_id] = Case(claim, self.now())
            answer = {'external_id': external_id, 'status': case.status}
        return 201, answer, {'Location': f'/v1/claims/{quote(external_id, safe="")}'}

    def post_payment(self, external_id, body):
        "POST /claims/{id}/payments: a direct payment, allocated costs, interest, principal."
        with self.lock:
            case = self._case_or_404(external_id)
            payment = _json_body(body)
            _raise_errors(protocol.validate_payment(
                    payment, case.currency, case.lines, known_ids=self._report_ids(case)),
                "Payment rejected")
            self._check_open(case)
            amount = protocol.parse_money(payment['amount'], case.currency)
            if amount > case.balance.total:
                _exceeds(f"the open balance is {case.money(case.balance.total)}")
            allocation, case.balance = protocol.allocate(amount, case.balance)
            case.payments[payment['id']] = payment
            return self._report(case, 'direct_payment', payment['id'], amount, allocation)

    def post_credit_note(self, external_id, body):
        "POST /claims/{id}/credit-notes: reduces principal, at most the line's open rest."
        with self.lock:
            case = self._case_or_404(external_id)
            note = _json_body(body)
            _raise_errors(protocol.validate_credit_note(
                    note, case.currency, case.lines, known_ids=self._report_ids(case)),
                "Credit note rejected")
            self._check_open(case)
            amount = protocol.parse_money(note['amount'], case.currency)
            line = case.lines[note['line_number']]
            earlier = sum((protocol.parse_money(n['amount'], case.currency)
                    for n in case.credit_notes.values()
                    if n['line_number'] == note['line_number']), Decimal(0))
            limit = min(
                case.balance.principal,
                protocol.parse_money(line['open_amount'], case.currency) - earlier)
            if amount > limit:
                _exceeds(f"at most {case.money(max(limit, Decimal(0)))} can be credited")
            allocation = protocol.Allocation(principal=amount)
            case.balance = protocol.Balance(
                principal=case.balance.principal - amount, costs=case.balance.costs,
                interest=case.balance.interest)
            case.credit_notes[note['id']] = note
            return self._report(case, 'credit_note', note['id'], amount, allocation)

    def post_recall(self, external_id, body):
        "POST /claims/{id}/recall: 202; recalled at once or on confirm_recall()."
        with self.lock:
            case = self._case_or_404(external_id)
            recall = _json_body(body)
            _raise_errors(protocol.validate_recall(recall), "Recall rejected")
            if case.recall is not None:
                raise problem(409, 'invalid_state', "The claim was already recalled")
            self._check_open(case)
            case.recall = recall
            if self.recall_mode == 'immediate':
                self.confirm_recall(external_id, reason=recall['reason'])
            return 202, {
                'external_id': external_id, 'status': case.status,
                'recall_reason': recall['reason'],
                }

    def post_document(self, external_id, content_type, body):
        "POST /claims/{id}/documents: multipart meta + PDF file."
        with self.lock:
            case = self._case_or_404(external_id)
        if not content_type.lower().startswith('multipart/form-data'):
            raise problem(415, 'unsupported_media_type', "Send multipart/form-data")
        parts = _multipart(content_type, body)
        for name in ('meta', 'file'):
            if name not in parts:
                raise problem(400, 'malformed', "Incomplete upload", errors=[
                        protocol.error(name, protocol.REQUIRED, f"the {name} part is missing")])
        try:
            meta = protocol.loads(parts['meta'][1])
        except protocol.JSONError as exception:
            raise problem(400, 'malformed', "meta is not JSON", errors=[
                    protocol.error('meta', 'invalid_json', str(exception))]) from None
        file_type, content = parts['file']
        errors = protocol.validate_document_meta(meta)
        if protocol.is_malformed(errors):
            _raise_errors(errors, "Document rejected")
        if file_type.split(';')[0].strip().lower() != 'application/pdf' \
                or not content.startswith(b'%PDF-'):
            raise problem(415, 'not_pdf', "The file is not a PDF")
        if len(content) > MAX_DOCUMENT:
            raise problem(413, 'document_too_big', "Documents are at most 10 MiB")
        with self.lock:
            listed = case.documents.get(meta.get('id'))
            _raise_errors(
                protocol.validate_document_meta(meta, content, listed), "Document rejected")
            self._check_open(case)
            sha256 = hashlib.sha256(content).hexdigest()
            case.documents[meta['id']] = {**meta, 'sha256': sha256, 'size': len(content)}
            case.files[meta['id']] = content
            self.emit(case, 'document.added', {
                    'document_id': meta['id'], 'kind': meta['kind'], 'sha256': sha256})
        return 201, {'id': meta['id'], 'sha256': sha256}

    def _case_or_404(self, external_id):
        case = self.cases.get(external_id)
        if case is None:
            raise problem(404, 'not_found', f"No claim {external_id!r}")
        return case

    @staticmethod
    def _check_open(case):
        if case.status in protocol.TERMINAL_STATES:
            raise problem(409, 'invalid_state', f"The case is {case.status}")

    @staticmethod
    def _report_ids(case):
        return set(case.payments) | set(case.credit_notes)

    def _report(self, case, reason, reference_id, amount, allocation):
        balance = case.balance.to_json(case.currency)
        self.emit(case, 'balance.changed', {
                'reason': reason, 'reference_id': reference_id,
                'amount': case.money(amount), 'balance': balance})
        return 201, {
            'id': reference_id, 'external_id': case.external_id,
            'allocation': allocation.to_json(case.currency), 'balance': balance,
            }


def _query_int(query, name, default, minimum):
    value = query.get(name)
    if value is None:
        return default
    if not _INTEGER.fullmatch(value) or int(value) < minimum:
        raise problem(400, 'malformed', f"Bad {name}", errors=[protocol.error(
                f'query.{name}', protocol.INVALID_VALUE,
                f"must be an integer of at least {minimum}")])
    return int(value)


def _json_body(body):
    try:
        return protocol.loads(body)
    except protocol.JSONError as exception:
        raise problem(400, 'malformed', "Body is not JSON", errors=[
                protocol.error('body', 'invalid_json', str(exception))]) from None


def _raise_errors(errors, title):
    if protocol.is_malformed(errors):
        raise problem(400, 'malformed', title, errors=errors)
    if errors:
        raise problem(422, 'validation_failed', title, errors=errors)


def _exceeds(message):
    raise problem(422, 'amount_exceeds_open', "Amount exceeds the open balance", errors=[
            protocol.error('amount', protocol.AMOUNT_EXCEEDS_OPEN, message)])


def _multipart(content_type, body):
    "The parts of a multipart/form-data body by name: {name: (content type, bytes)}."
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b'Content-Type: ' + content_type.encode('latin-1') + b'\r\n\r\n' + body)
    parts = {}
    if not message.is_multipart():
        return parts
    for part in message.iter_parts():
        name = part.get_param('name', header='content-disposition')
        if name:
            parts[name] = (part.get_content_type(), part.get_payload(decode=True) or b'')
    return parts


def _fingerprint(method, path, query, content_type, body):
    "What makes two requests the same: method, path, query, body as JSON value or parts."
    digest = hashlib.sha256(f'{method} {path} {sorted(query.items())}'.encode())
    if content_type.lower().startswith('multipart/form-data'):
        for name, (kind, content) in sorted(_multipart(content_type, body).items()):
            digest.update(f'\0{name}\0{kind}\0'.encode())
            try:
                digest.update(protocol.canonical_json(protocol.loads(content)))
            except protocol.JSONError:
                digest.update(hashlib.sha256(content).digest())
    else:
        try:
            digest.update(protocol.canonical_json(protocol.loads(body)))
        except protocol.JSONError:
            digest.update(body)
    return digest.hexdigest()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'ReferenceAgency/1'
    # Headers and body leave in one write (no Nagle / delayed-ACK stall on keep-alive).
    wbufsize = 1 << 16

    def log_message(self, format, *args):
        pass

    @property
    def agency(self):
        return self.server.agency

    def do_GET(self):
        self._handle('GET')

    def do_POST(self):
        self._handle('POST')

    def do_PUT(self):
        self._handle('PUT')

    def do_DELETE(self):
        self._handle('DELETE')

    def _handle(self, method):
        agency = self.agency
        split = urlsplit(self.path)
        path = split.path
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        headers = {}
        record = {'method': method, 'path': path, 'query': query,
            'idempotency_key': self.headers.get('Idempotency-Key'), 'replayed': False}
        with agency.lock:
            agency.requests.append(record)
        try:
            length = int(self.headers.get('Content-Length') or 0)
            if length > MAX_BODY:
                self.close_connection = True
                raise problem(413, 'payload_too_large', "Bodies are at most 20 MiB")
            body = self.rfile.read(length) if length else b''
            if path == '/oauth/token' and method == 'POST':
                self._send(200, agency.issue_token(
                        self.headers.get('Authorization'), dict(parse_qsl(body.decode()))))
                return
            identity = agency.authenticate(self.headers.get('Authorization'))
            if identity is None:
                raise problem(401, 'unauthenticated', "Missing or wrong API key",
                    headers={'WWW-Authenticate': 'Bearer'})
            allowed, headers = agency.rate_headers(identity)
            if not allowed:
                raise problem(429, 'rate_limited', "Too many requests", headers=headers)
            fault = agency._take_fault(method, path, ('error500', 'rate_limit'))
            if fault and fault.kind == 'error500':
                raise problem(500, 'internal_error', "Injected failure")
            if fault and fault.kind == 'rate_limit':
                raise problem(429, 'rate_limited', "Too many requests", headers={
                        **headers, 'Retry-After': str(fault.options.get('retry_after', 1))})
            if method == 'POST':
                status, answer, extra = self._post(identity, path, query, body, record)
            else:
                status, answer, extra = self._route(method, path, query, body)
            headers.update(extra)
        except _Reply as reply:
            status, answer = reply.status, reply.body
            headers.update(reply.headers)
        record['status'] = status
        self._send(status, answer, headers)

    def _post(self, identity, path, query, body, record):
        agency = self.agency
        key = self.headers.get('Idempotency-Key')
        if not protocol.is_uuid4(key):
            raise problem(400, 'malformed', "Idempotency-Key must be a uuid4", errors=[
                    protocol.error('headers.Idempotency-Key', protocol.INVALID_FORMAT,
                        "send a uuid4 generated once per action")])
        content_type = self.headers.get('Content-Type') or ''
        fingerprint = _fingerprint('POST', path, query, content_type, body)
        store_key = (identity, key.lower())
        with agency.lock:
            stored = agency.idempotency.get(store_key)
            if stored is None:
                agency.idempotency[store_key] = {
                    'fingerprint': fingerprint, 'state': 'in_progress', 'at': time.time()}
        if stored is not None:
            if stored['fingerprint'] != fingerprint:
                raise problem(409, 'idempotency_key_reuse',
                    "This Idempotency-Key was used for another request")
            if stored['state'] == 'in_progress':
                raise problem(409, 'request_in_progress', "The first request is still running",
                    headers={'Retry-After': '1'})
            record['replayed'] = True
            return stored['status'], stored['body'], {
                **stored['headers'], 'Idempotent-Replayed': 'true'}
        slow = agency._take_fault('POST', path, ('slow',))
        if slow:
            agency.sleep(slow.options.get('delay', 1.5))
        try:
            status, answer, extra = self._route('POST', path, query, body)
        except _Reply as reply:
            status, answer, extra = reply.status, reply.body, reply.headers
        except Exception:
            with agency.lock:
                agency.idempotency.pop(store_key, None)
            raise
        with agency.lock:
            if status >= 500 or status == 429:
                agency.idempotency.pop(store_key, None)
            else:
                agency.idempotency[store_key].update(
                    state='done', status=status, body=answer, headers=dict(extra))
        timeout = agency._take_fault('POST', path, ('timeout',))
        if timeout:
            # The work is done and stored; the client gives up before the answer comes.
            agency.sleep(timeout.options.get('delay', 1.5))
        malformed = agency._take_fault('POST', path, ('malformed',))
        if malformed:
            raise _Reply(status, b'{"external_id": "', extra)
        return status, answer, extra

    def _route(self, method, path, query, body):
        agency = self.agency
        parts = path.split('/')
        if parts[:2] != ['', 'v1']:
            raise problem(404, 'not_found', "Unknown endpoint")
        parts = [unquote(p) for p in parts[2:]]
        if method == 'POST':
            content_type = (self.headers.get('Content-Type') or '').lower()
            is_json = content_type.split(';')[0].strip() == 'application/json'
            if parts != ['claims'] and len(parts) == 3 and parts[0] == 'claims' \
                    and parts[2] == 'documents':
                answer = agency.post_document(parts[1], content_type, body)
                return (*answer, {})
            if not is_json and len(parts) in (1, 3):
                raise problem(415, 'unsupported_media_type', "Send application/json")
        routes = {
            ('GET', 1, 'claims'): lambda: agency.get_claims(query),
            ('GET', 1, 'events'): lambda: agency.get_events(query),
            ('GET', 2, 'claims'): lambda: agency.get_claim(parts[1]),
            ('POST', 1, 'claims'): lambda: agency.post_claim(query, body),
            }
        if len(parts) == 3 and parts[0] == 'claims' and method == 'POST':
            action = {
                'payments': agency.post_payment, 'credit-notes': agency.post_credit_note,
                'recall': agency.post_recall,
                }.get(parts[2])
            if action is not None:
                return (*action(parts[1], body), {})
        route = routes.get((method, len(parts), parts[0] if parts else None))
        if route is None:
            raise problem(404, 'not_found', "Unknown endpoint")
        answer = route()
        return answer if len(answer) == 3 else (*answer, {})

    def _send(self, status, body, headers=None):
        if isinstance(body, bytes):
            data, content_type = body, 'application/json'
        elif isinstance(body, dict) and 'code' in body and status >= 400:
            body = {**body, 'request_id': f'req_{next(self.agency._request_ids):06d}'}
            data, content_type = protocol.dumps(body), 'application/problem+json'
        else:
            data, content_type = protocol.dumps(body), 'application/json'
        try:
            self.send_response(status)
            self.send_header('Content-Type', content_type)
            self.send_header('Content-Length', str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            # The client gave up (time-out fault): nobody to answer.
            self.close_connection = True


def main():
    "Run the reference agency until interrupted (for trying the push profile by hand)."
    import argparse
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument('--port', type=int, default=0)
    parser.add_argument('--api-key', default='agency-test-key')
    parser.add_argument('--webhook-url')
    parser.add_argument('--webhook-secret')
    args = parser.parse_args()
    agency = AgencyServer(api_key=args.api_key, port=args.port,
        webhook_url=args.webhook_url, webhook_secret=args.webhook_secret).start()
    print(f"reference agency on {agency.url} (Bearer key from --api-key)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        agency.stop()


if __name__ == '__main__':
    main()
