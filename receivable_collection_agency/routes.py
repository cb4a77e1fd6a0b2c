# This file is part of receivable_collection_agency.  The COPYRIGHT file at
# the top level of this repository contains the full copyright notices and
# license terms.
"The agency's webhook: a signed event, checked, stored once and applied."
import logging
import time

from trytond.protocols.wrappers import abort, allow_null_origin, with_pool, with_transaction
from trytond.transaction import Transaction
from trytond.wsgi import app
from werkzeug.wrappers import Response

from .agency import protocol

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
