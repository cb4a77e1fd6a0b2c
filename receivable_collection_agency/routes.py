# This file is part of receivable_collection_agency.  The COPYRIGHT file at
# the top level of this repository contains the full copyright notices and
# license terms.
"The agency's webhook: a signed event, checked, stored once and applied."
import logging
import time
from contextlib import contextmanager

from trytond.protocols.wrappers import abort, allow_null_origin, with_pool, with_transaction
from trytond.transaction import Transaction, check_access
from trytond.wsgi import app
from werkzeug.wrappers import Response

from .agency import protocol
from .pull import APPLICATION_SCOPES, PULLED_STATES

logger = logging.getLogger(__name__)


@app.route('/<database_name>/collection/agency/v1/webhook/<int:profile_id>',
    methods=['POST'])
@allow_null_origin
@with_pool
@with_transaction(readonly=False)
def webhook(request, pool, profile_id):
    "Store and apply one event the agency signed with the profile's secret."
    Profile = pool.get('receivable.collection.agency.profile')
    Event = pool.get('receivable.collection.agency.event')
    profile = Profile.for_webhook(profile_id)
    if profile is None or profile.state == 'draft':
        abort(404)
    body = request.get_data()
    try:
        protocol.verify(
            profile.webhook_secrets, body, request.headers.get('X-Signature'), time.time())
    except protocol.SignatureError as error:
        logger.info("agency webhook for profile %s refused: %s", profile_id, error)
        abort(401)
    try:
        event = protocol.parse_event(body)
    except protocol.EventError as error:
        logger.info("agency webhook for profile %s malformed: %s", profile_id, error)
        abort(400)
    with Transaction().set_context(company=profile.company.id):
        Event.store(profile, [event.to_json()], 'webhook')
        Event.apply_pending(profile)
    return Response(status=204)


def _json(body, status=200, headers=None):
    "A JSON answer."
    return Response(protocol.dumps(body), status=status, headers=headers,
        content_type='application/json')


def _problem(status, code, title):
    "An RFC 9457 problem answer."
    headers = {'WWW-Authenticate': 'Bearer'} if status == 401 else None
    return Response(protocol.dumps({
                'type': f'https://errors.example/{code}', 'title': title,
                'status': status, 'code': code}),
        status=status, headers=headers, content_type='application/problem+json')


def _pull_profile(request, pool, scope):
    """The profile of the Bearer key and the user to read as, or the 401/403 answer.

    Our own pull key reads and writes by its scopes, as today. A validated
    Tryton user application key (Collection Agency) only reads, as its user,
    for the one active or paused pull profile naming that user: a requested,
    cancelled or unknown key is 401, a user without (exactly one) profile 403.
    """
    Profile = pool.get('receivable.collection.agency.profile')
    header = request.headers.get('Authorization', '')
    key = header[len('Bearer '):] if header.startswith('Bearer ') else None
    profile = Profile.for_pull_key(key)
    if profile is not None:
        if scope not in profile.pull_scopes:
            return None, None, _problem(403, 'forbidden', f"The key lacks the scope {scope}")
        profile.touch_pull_key()
        return profile, None, None
    found = Profile.for_pull_application(key)
    if found is None:
        return None, None, _problem(401, 'unauthenticated', "Missing or wrong key")
    user, profiles = found
    if len(profiles) != 1:
        logger.info("agency pull: user %s has %d pull profiles", user.id, len(profiles))
        return None, None, _problem(
            403, 'forbidden', "The key's user pulls for no agency profile")
    if scope not in APPLICATION_SCOPES:
        return None, None, _problem(403, 'forbidden', f"The key lacks the scope {scope}")
    return profiles[0], user.id, None


@contextmanager
def _as_puller(pool, profile, user_id):
    """Read in the profile's company; as the key's Tryton user, with its access rights.

    Yields the profile read again inside, so its records follow that user.
    """
    Profile = pool.get('receivable.collection.agency.profile')
    transaction = Transaction()
    if user_id is None:
        with transaction.set_context(company=profile.company.id):
            yield Profile(profile.id)
        return
    with transaction.set_user(user_id), \
            transaction.set_context(company=profile.company.id), check_access():
        yield Profile(profile.id)


def _pulled_claim(case):
    "A claim as the agency pulls it: section (a) plus the status."
    return {**case.claim(), 'status': case.state}


@app.route('/<database_name>/collection/agency/v1/claims', methods=['GET'])
@allow_null_origin
@with_pool
@with_transaction(readonly=False)
def pull_claims(request, pool):
    "The claims handed over to the agency of the key, after the cursor."
    profile, user_id, refused = _pull_profile(request, pool, 'claims:read')
    if refused:
        return refused
    cursor = request.args.get('cursor') or 'c_0'
    try:
        after = int(cursor[len('c_'):]) if cursor.startswith('c_') else int('x')
        limit = min(int(request.args.get('limit', 100)), 500)
    except ValueError:
        return _problem(400, 'malformed', "Bad cursor or limit")
    if limit < 1:
        return _problem(400, 'malformed', "Bad limit")
    with _as_puller(pool, profile, user_id) as profile:
        cases = profile.pulled_cases(after, limit + 1)
        page = cases[:limit]
        claims = [_pulled_claim(c) for c in page]
    logger.info("agency pull: profile %s read %d claims", profile.id, len(claims))
    next_cursor = f'c_{page[-1].id}' if page else cursor
    return _json({'claims': claims, 'next_cursor': next_cursor,
            'has_more': len(cases) > limit})


@app.route('/<database_name>/collection/agency/v1/claims/<external_id>', methods=['GET'])
@allow_null_origin
@with_pool
@with_transaction(readonly=False)
def pull_claim(request, pool, external_id):
    "One claim handed over to the agency of the key."
    profile, user_id, refused = _pull_profile(request, pool, 'claims:read')
    if refused:
        return refused
    with _as_puller(pool, profile, user_id) as profile:
        case = _pulled_case(pool, profile, external_id)
        if case is None:
            return _problem(404, 'not_found', f"No claim {external_id!r}")
        return _json(_pulled_claim(case))


@app.route('/<database_name>/collection/agency/v1/claims/<external_id>'
    '/documents/<document_id>', methods=['GET'])
@allow_null_origin
@with_pool
@with_transaction(readonly=False)
def pull_document(request, pool, external_id, document_id):
    "The PDF of a document of a claim, with its hash as ETag."
    profile, user_id, refused = _pull_profile(request, pool, 'claims:read')
    if refused:
        return refused
    with _as_puller(pool, profile, user_id) as profile:
        case = _pulled_case(pool, profile, external_id)
        document = next((d for d in case.documents if d.doc_id == document_id),
            None) if case else None
        if document is None:
            return _problem(404, 'not_found', "No such document")
        data, sha256 = bytes(document.data), document.sha256
    return Response(data, status=200, content_type='application/pdf',
        headers={'ETag': f'"{sha256}"'})


@app.route('/<database_name>/collection/agency/v1/events', methods=['POST'])
@allow_null_origin
@with_pool
@with_transaction(readonly=False)
def pull_events(request, pool):
    "The agency reports an event (scope events:write); idempotent by event id."
    Event = pool.get('receivable.collection.agency.event')
    profile, _, refused = _pull_profile(request, pool, 'events:write')
    if refused:
        return refused
    try:
        event = protocol.parse_event(request.get_data())
    except protocol.EventError as error:
        return _problem(400, 'malformed', str(error))
    with Transaction().set_context(company=profile.company.id):
        Event.store(profile, [event.to_json()], 'pull')
        Event.apply_pending(profile)
    return Response(status=204)


def _pulled_case(pool, profile, external_id):
    "The case of the profile the agency may read, or None."
    Case = pool.get('receivable.collection.agency.case')
    cases = Case.search([
            ('profile', '=', profile.id),
            ('external_id', '=', external_id),
            ('state', 'in', list(PULLED_STATES)),
            ], limit=1)
    return cases[0] if cases else None


def _pull_reports(request, pool, kind, key):
    "A page of the reports of one kind the agency may read, after the cursor."
    Action = pool.get('receivable.collection.agency.action')
    profile, user_id, refused = _pull_profile(request, pool, 'claims:read')
    if refused:
        return refused
    cursor = request.args.get('cursor') or 'c_0'
    try:
        after = int(cursor[len('c_'):]) if cursor.startswith('c_') else int('x')
        limit = min(int(request.args.get('limit', 100)), 500)
    except ValueError:
        return _problem(400, 'malformed', "Bad cursor or limit")
    if limit < 1:
        return _problem(400, 'malformed', "Bad limit")
    with _as_puller(pool, profile, user_id) as profile:
        actions = Action.search([
                ('case.profile', '=', profile.id),
                ('kind', '=', kind),
                ('state', '=', 'done'),
                ('id', '>', after),
                ], order=[('id', 'ASC')], limit=limit + 1)
        page = actions[:limit]
        items = []
        for action in page:
            item = {**action.body, 'external_id': action.case.external_id}
            if kind == 'recall':
                item['date'] = action.create_date.date().isoformat()
            items.append(item)
    logger.info("agency pull: profile %s read %d %s", profile.id, len(items), key)
    return _json({key: items, 'next_cursor': f'c_{page[-1].id}' if page else cursor,
            'has_more': len(actions) > limit})


@app.route('/<database_name>/collection/agency/v1/payments', methods=['GET'])
@allow_null_origin
@with_pool
@with_transaction(readonly=False)
def pull_payments(request, pool):
    "Direct payments on the invoices handed over to the agency of the key."
    return _pull_reports(request, pool, 'payment', 'payments')


@app.route('/<database_name>/collection/agency/v1/credit-notes', methods=['GET'])
@allow_null_origin
@with_pool
@with_transaction(readonly=False)
def pull_credit_notes(request, pool):
    "Credit notes on the invoices handed over to the agency of the key."
    return _pull_reports(request, pool, 'credit_note', 'credit_notes')


@app.route('/<database_name>/collection/agency/v1/recalls', methods=['GET'])
@allow_null_origin
@with_pool
@with_transaction(readonly=False)
def pull_recalls(request, pool):
    "The claims we took back from the agency of the key."
    return _pull_reports(request, pool, 'recall', 'recalls')
