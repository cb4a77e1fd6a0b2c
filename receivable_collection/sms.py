# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"SMS reminders through a configurable HTTP provider, sent when the run commits."
import requests

TIMEOUT = 10


def sms_payload(to, text, reference):
    "The JSON body the provider receives: number, text and our reference."
    return {'to': to, 'text': text, 'reference': reference}


class SMSError(Exception):
    "The provider did not accept a message."


class SMSDataManager:
    """Post the queued SMS to the provider when the transaction votes.

    A provider error makes the vote fail, so the run rolls back and nothing is
    recorded as sent; each message carries an idempotency key, so a retry is
    not sent twice by a provider that honours it.
    """

    def __init__(self, url, token=None, session=None):
        self.url = url
        self.token = token
        self.queue = []
        self.session = session or requests.Session()

    def put(self, payload):
        "Queue a message."
        self.queue.append(payload)

    def __eq__(self, other):
        if not isinstance(other, SMSDataManager):
            return NotImplemented
        return self.url == other.url and self.token == other.token

    def __hash__(self):
        return hash((self.url, self.token))

    def abort(self, trans):
        "Drop the queue."
        self.queue.clear()

    def tpc_begin(self, trans):
        "Nothing to prepare."

    def commit(self, trans):
        "Nothing to do before the vote."

    def tpc_vote(self, trans):
        "Send every queued message; any failure aborts the transaction."
        headers = {}
        if self.token:
            headers['Authorization'] = f'Bearer {self.token}'
        for payload in self.queue:
            try:
                response = self.session.post(
                    self.url, json=payload, timeout=TIMEOUT,
                    headers={**headers, 'Idempotency-Key': payload['reference']})
            except requests.RequestException as error:
                raise SMSError(f"SMS provider unreachable: {error}") from error
            if response.status_code >= 300:
                raise SMSError(
                    f"SMS provider refused {payload['reference']}: "
                    f"HTTP {response.status_code}")
        self.queue.clear()

    def tpc_finish(self, trans):
        "Already sent."

    def tpc_abort(self, trans):
        "Drop the queue."
        self.queue.clear()
