"""Push client of the agency claim API (section b): we call the agency's REST endpoints.

Every POST carries the caller's ``Idempotency-Key`` and re-uses it on each retry. 408, 429,
5xx, ``409 request_in_progress``, time-outs and network errors are retried with exponential
backoff and full jitter (``Retry-After`` wins); everything else ends as a ``Result`` or an
``AgencyError`` whose ``kind`` tells the model layer to retry later (``transient``) or to raise
an exception (``permanent``, ``auth``, ``conflict``). The API key is never logged nor shown.
"""
from __future__ import annotations

import base64
import json
import logging
import random
import time
import uuid
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import quote

import requests

from . import protocol

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
TRANSIENT, PERMANENT, AUTH, CONFLICT = 'transient', 'permanent', 'auth', 'conflict'


@dataclass
class Result:
    "A successful answer: HTTP status, parsed JSON body, whether it was a replay, tries used."

    status: int
    body: object
    replayed: bool = False
    tries: int = 1
    duplicate: bool = False
    headers: dict = field(default_factory=dict, repr=False)

    @property
    def agency_case_id(self):
        "The agency's case reference when the answer carries one."
        if isinstance(self.body, dict):
            return self.body.get('agency_case_id')
        return None


@dataclass
class EventPage:
    "One page of the events feed: parsed events, the cursor to store after commit, more?"

    events: list
    next_cursor: str
    has_more: bool
    tries: int = 1


class AgencyError(Exception):
    "A failed call; kind is transient (retry later), permanent, auth or conflict (exception)."

    def __init__(self, kind, message, status=None, code=None, errors=None, body=None,
            tries=1, retry_after=None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.code = code
        self.errors = errors or []
        self.body = body
        self.tries = tries
        self.retry_after = retry_after

    @property
    def transient(self):
        "Whether the action should stay pending and be retried on a later run."
        return self.kind == TRANSIENT

    def __str__(self):
        status = f"HTTP {self.status} " if self.status else ""
        text = f"{self.kind}: {status}{self.code or ''}: {self.message}"
        for item in self.errors[:5]:
            if isinstance(item, dict):
                text += f"; {item.get('path')}: {item.get('code')}"
        return text

    def __repr__(self):
        return (f"AgencyError(kind={self.kind!r}, status={self.status!r}, "
            f"code={self.code!r}, tries={self.tries!r})")


@dataclass
class _Answer:
    status: int
    headers: dict
    body: object
    malformed: bool
    tries: int

    @property
    def code(self):
        return self.body.get('code') if isinstance(self.body, dict) else None


def new_idempotency_key():
    "A fresh uuid4 Idempotency-Key, to be stored on the action before the call."
    return str(uuid.uuid4())


def _retry_after(value, now=None):
    "Seconds to wait from a Retry-After header (delta seconds or HTTP date), or None."
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = time.time() if now is None else now
    return max(0, moment.timestamp() - now)


class PushClient:
    "Calls one agency's claim API with retries, idempotency keys and typed results."

    def __init__(self, base_url, api_key, timeout=10, max_tries=8, base_delay=2, cap=600,
            sleep=time.sleep, rng=random.random, auth='bearer', username=None,
            token_url=None, rate_limit=5.0, clock=time.monotonic, session=None):
        if auth not in ('bearer', 'basic', 'oauth2'):
            raise ValueError(f"unknown auth {auth!r}")
        if auth in ('basic', 'oauth2') and not username:
            raise ValueError(f"{auth} auth needs a username (client id)")
        if auth == 'oauth2' and not token_url:
            raise ValueError("oauth2 auth needs a token_url")
        self.base_url = base_url.rstrip('/')
        self._api_key = api_key
        self.timeout = timeout
        self.max_tries = max_tries
        self.base_delay = base_delay
        self.cap = cap
        self.sleep = sleep
        self.rng = rng
        self.auth = auth
        self.username = username
        self.token_url = token_url
        self.rate_limit = rate_limit
        self.clock = clock
        self.session = session or requests.Session()
        self._next_slot = None
        self._token = None
        self._token_expires = None

    def __repr__(self):
        return f"PushClient({self.base_url!r}, auth={self.auth!r})"

    def close(self):
        "Close the HTTP connections."
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- public API ----------------------------------------------------------

    def create_claim(self, claim, idempotency_key):
        "POST a claim; a 409 duplicate_claim with our payload_sha256 counts as success."
        answer = self._send('POST', '/claims', json_body=claim, key=idempotency_key)
        if answer.status == 409 and answer.code == 'duplicate_claim':
            detail = answer.body.get('detail') if isinstance(answer.body, dict) else None
            if not isinstance(detail, dict):
                raise self._error(answer, "duplicate_claim without a case view in detail")
            if detail.get('payload_sha256') == protocol.payload_sha256(claim):
                return Result(
                    status=409, body=detail, replayed=False, tries=answer.tries,
                    duplicate=True, headers=answer.headers)
            raise AgencyError(
                CONFLICT, "the agency holds another claim with this external_id",
                status=409, code='duplicate_claim', body=answer.body, tries=answer.tries)
        return self._result(answer)

    def dry_run(self, claim, idempotency_key):
        "Validate a claim at the agency without storing it: body {valid, errors}."
        answer = self._send(
            'POST', '/claims', json_body=claim, key=idempotency_key,
            params={'dry_run': 'true'})
        return self._result(answer)

    def get_claim(self, external_id):
        "The case view of one claim: status, balances, agency reference."
        return self._result(self._send('GET', f'/claims/{self._quote(external_id)}'))

    def list_claims(self, offset=0, limit=100):
        "One offset page of all cases: {claims, offset, limit, total, has_more}."
        return self._result(
            self._send('GET', '/claims', params={'offset': offset, 'limit': limit}))

    def iter_claims(self, limit=100):
        "Every case view, page after page."
        offset = 0
        while True:
            page = self.list_claims(offset=offset, limit=limit).body
            yield from page['claims']
            if not page.get('has_more') or not page['claims']:
                return
            offset += len(page['claims'])

    def events(self, cursor=None, limit=None):
        "One page of the events feed after cursor, events parsed as protocol.Event."
        params = {}
        if cursor is not None:
            params['cursor'] = cursor
        if limit is not None:
            params['limit'] = limit
        answer = self._send('GET', '/events', params=params)
        result = self._result(answer)
        body = result.body
        if not isinstance(body, dict) or not isinstance(body.get('events'), list) \
                or not isinstance(body.get('next_cursor'), str) \
                or not isinstance(body.get('has_more'), bool):
            raise AgencyError(
                PERMANENT, "the events page lacks events, next_cursor or has_more",
                status=answer.status, code='malformed_response', body=body,
                tries=answer.tries)
        events = []
        for i, envelope in enumerate(body['events']):
            try:
                events.append(protocol.parse_event(envelope))
            except protocol.EventError as exception:
                raise AgencyError(
                    PERMANENT, f"events[{i}].{exception.path}: {exception.message}",
                    status=answer.status, code='malformed_response', body=body,
                    tries=answer.tries) from None
        return EventPage(
            events=events, next_cursor=body['next_cursor'], has_more=body['has_more'],
            tries=answer.tries)

    def iter_event_pages(self, cursor=None, limit=None):
        "Pages of the events feed from cursor until has_more is false (store each cursor)."
        while True:
            page = self.events(cursor=cursor, limit=limit)
            yield page
            if not page.has_more:
                return
            cursor = page.next_cursor

    def report_payment(self, external_id, payment, idempotency_key):
        "Report a direct payment {id, date, amount, line_number?, method, reference}."
        return self._result(self._send(
            'POST', f'/claims/{self._quote(external_id)}/payments', json_body=payment,
            key=idempotency_key))

    def report_credit_note(self, external_id, credit_note, idempotency_key):
        "Report a credit note {id, number, date, amount, line_number, reason}."
        return self._result(self._send(
            'POST', f'/claims/{self._quote(external_id)}/credit-notes', json_body=credit_note,
            key=idempotency_key))

    def recall(self, external_id, reason, idempotency_key, note=None):
        "Ask the agency to withdraw a claim (202; the state changes on case.recalled)."
        body = {'reason': reason}
        if note:
            body['note'] = note
        return self._result(self._send(
            'POST', f'/claims/{self._quote(external_id)}/recall', json_body=body,
            key=idempotency_key))

    def upload_document(self, external_id, meta, content, idempotency_key):
        "Upload a PDF as multipart meta + file; answers {id, sha256}."
        boundary = 'rc-agency-' + idempotency_key.replace('-', '')
        filename = str(meta.get('filename') or 'document.pdf').replace('"', '')
        body = b''.join([
            f'--{boundary}\r\n'.encode('ascii'),
            b'Content-Disposition: form-data; name="meta"\r\n',
            b'Content-Type: application/json\r\n\r\n',
            protocol.dumps(meta), b'\r\n',
            f'--{boundary}\r\n'.encode('ascii'),
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            .encode(),
            b'Content-Type: application/pdf\r\n\r\n',
            content, b'\r\n',
            f'--{boundary}--\r\n'.encode('ascii'),
            ])
        return self._result(self._send(
            'POST', f'/claims/{self._quote(external_id)}/documents', raw_body=body,
            content_type=f'multipart/form-data; boundary={boundary}', key=idempotency_key))

    # -- transport -----------------------------------------------------------

    @staticmethod
    def _quote(value):
        return quote(str(value), safe='')

    def backoff(self, tries):
        "Seconds to wait after the given number of failed tries: full jitter, capped."
        return self.rng() * min(self.cap, self.base_delay * 2 ** (tries - 1))

    def _authorization(self):
        if self.auth == 'bearer':
            return f'Bearer {self._api_key}'
        if self.auth == 'basic':
            token = base64.b64encode(f'{self.username}:{self._api_key}'.encode()).decode()
            return f'Basic {token}'
        return f'Bearer {self._oauth_token()}'

    def _oauth_token(self):
        "An OAuth2 client-credentials token, cached until expires_in - 60 s."
        now = self.clock()
        if self._token and self._token_expires and now < self._token_expires:
            return self._token
        try:
            response = self.session.post(
                self.token_url, data={'grant_type': 'client_credentials'},
                auth=(self.username, self._api_key), timeout=self.timeout)
        except requests.RequestException as exception:
            raise AgencyError(
                TRANSIENT, f"token request failed: {type(exception).__name__}",
                code='network_error') from None
        if response.status_code != 200:
            kind = TRANSIENT if response.status_code in RETRY_STATUSES else AUTH
            raise AgencyError(
                kind, "the token endpoint refused the client credentials",
                status=response.status_code, code='token_refused')
        try:
            data = response.json()
            token, expires_in = data['access_token'], int(data.get('expires_in', 0))
        except (ValueError, KeyError, TypeError):
            raise AgencyError(
                PERMANENT, "the token answer is not a JSON access_token",
                status=response.status_code, code='malformed_response') from None
        self._token = token
        self._token_expires = now + expires_in - 60
        return token

    def _wait_for_slot(self):
        if not self.rate_limit:
            return
        now = self.clock()
        if self._next_slot is not None and now < self._next_slot:
            self.sleep(self._next_slot - now)
            now = self._next_slot
        self._next_slot = now + 1 / self.rate_limit

    def _send(self, method, path, json_body=None, raw_body=None, content_type=None,
            key=None, params=None):
        "Send one request, retrying transient failures; the final _Answer."
        headers = {'Accept': 'application/json, application/problem+json'}
        data = None
        if json_body is not None:
            data = protocol.dumps(json_body)
            headers['Content-Type'] = 'application/json'
        elif raw_body is not None:
            data = raw_body
            headers['Content-Type'] = content_type
        if method == 'POST':
            if not protocol.is_uuid4(key):
                raise ValueError("every POST needs a uuid4 Idempotency-Key")
            headers['Idempotency-Key'] = key
        url = self.base_url + path
        last = None
        refreshed = False
        tries = 0
        while True:
            tries += 1
            self._wait_for_slot()
            headers['Authorization'] = self._authorization()
            retry_after = None
            try:
                response = self.session.request(
                    method, url, params=params, data=data, headers=headers,
                    timeout=self.timeout)
            except requests.Timeout:
                last = AgencyError(
                    TRANSIENT, f"no answer within {self.timeout} s", code='timeout',
                    tries=tries)
                logger.info("%s %s: time-out (try %d)", method, path, tries)
            except requests.RequestException as exception:
                last = AgencyError(
                    TRANSIENT, f"network error: {type(exception).__name__}",
                    code='network_error', tries=tries)
                logger.info("%s %s: %s (try %d)", method, path, type(exception).__name__,
                    tries)
            else:
                answer = self._answer(response, tries)
                logger.info("%s %s: %d (try %d)", method, path, answer.status, tries)
                if (answer.status == 401 and self.auth == 'oauth2' and not refreshed):
                    # The cached token may have been revoked early: fetch one more.
                    self._token = None
                    refreshed = True
                    tries -= 1
                    continue
                retryable = answer.status in RETRY_STATUSES or (
                    answer.status == 409 and answer.code == 'request_in_progress')
                if not retryable:
                    return answer
                retry_after = _retry_after(response.headers.get('Retry-After'))
                last = AgencyError(
                    TRANSIENT, self._message(answer), status=answer.status,
                    code=answer.code or f'http_{answer.status}', body=answer.body,
                    tries=tries, retry_after=retry_after)
            if tries >= self.max_tries:
                raise last
            delay = retry_after if retry_after is not None else self.backoff(tries)
            if delay > self.cap:
                # Waiting that long inside one run makes no sense: leave it pending.
                raise last
            self.sleep(delay)

    @staticmethod
    def _answer(response, tries):
        body, malformed = None, False
        if response.content:
            try:
                body = json.loads(response.content.decode('utf-8'))
            except (ValueError, UnicodeDecodeError):
                malformed = True
        return _Answer(
            status=response.status_code, headers=dict(response.headers), body=body,
            malformed=malformed, tries=tries)

    @staticmethod
    def _message(answer):
        if isinstance(answer.body, dict):
            detail = answer.body.get('detail')
            return str(answer.body.get('title') or '') + (
                f": {detail}" if isinstance(detail, str) else '')
        return f"HTTP {answer.status}"

    def _result(self, answer):
        if 200 <= answer.status < 300:
            if answer.malformed:
                raise AgencyError(
                    PERMANENT, "the agency answered with a body that is not JSON",
                    status=answer.status, code='malformed_response', tries=answer.tries)
            return Result(
                status=answer.status, body=answer.body,
                replayed=answer.headers.get('Idempotent-Replayed', '').lower() == 'true',
                tries=answer.tries, headers=answer.headers)
        raise self._error(answer)

    def _error(self, answer, message=None):
        status = answer.status
        if status in (401, 403):
            kind = AUTH
        elif status == 409:
            kind = CONFLICT
        else:
            kind = PERMANENT
        body = answer.body if isinstance(answer.body, dict) else {}
        errors = body.get('errors') if isinstance(body.get('errors'), list) else []
        code = body.get('code') or f'http_{status}'
        return AgencyError(
            kind, message or self._message(answer), status=status, code=code,
            errors=errors, body=answer.body, tries=answer.tries)
