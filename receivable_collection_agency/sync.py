# This file is part of receivable_collection_agency.  The COPYRIGHT file at
# the top level of this repository contains the full copyright notices and
# license terms.
"What goes to the agency (outgoing actions) and what comes back (events)."
import json
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from . import routes  # noqa: F401 (registers the webhook route)
from .agency import protocol
from .agency.client import AgencyError, PushClient, new_idempotency_key
from .case import RECALL_REASONS, TERMINAL, WITH_AGENCY, CaseRecordMixin
from .profile import ProfileRecordMixin

ACTION_KINDS = [
    ('create', "Create Claim"),
    ('document', "Upload Document"),
    ('payment', "Report Direct Payment"),
    ('credit_note', "Report Credit Note"),
    ('recall', "Recall"),
    ]


def dumps(value):
    "JSON for the log, readable and stable."
    return json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False, default=str)


class Action(CaseRecordMixin, ModelSQL, ModelView):
    """One call to the agency, logged with its idempotency key before it is made.

    A retry reuses the row and its key, so the agency never acts twice.
    """
    __name__ = 'receivable.collection.agency.action'

    case = fields.Many2One(
        'receivable.collection.agency.case', "Case", required=True,
        ondelete='CASCADE', readonly=True)
    kind = fields.Selection(ACTION_KINDS, "Kind", required=True, readonly=True)
    reference = fields.Char(
        "Reference", readonly=True,
        help="What the action is about: the document, payment or credit note id.")
    idempotency_key = fields.Char("Idempotency Key", required=True, readonly=True)
    request = fields.Text("Request", readonly=True)
    state = fields.Selection([
            ('pending', "Pending"),
            ('done', "Done"),
            ('failed', "Failed"),
            ], "State", required=True, readonly=True, sort=False)
    attempts = fields.Integer("Attempts", readonly=True)
    response_status = fields.Integer("Response Status", readonly=True)
    response = fields.Text("Response", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_constraints = [
            ('idempotency_key_unique', Unique(table, table.idempotency_key),
                'receivable_collection_agency.msg_action_key_unique'),
            ('case_kind_reference_unique',
                Unique(table, table.case, table.kind, table.reference),
                'receivable_collection_agency.msg_action_unique'),
            ]
        cls._sql_indexes.add(Index(
                table, (table.state, Index.Equality(cardinality='low')),
                where=table.state == 'pending'))
        cls._order = [('id', 'ASC')]

    @classmethod
    def default_state(cls):
        "Not sent yet."
        return 'pending'

    @classmethod
    def default_attempts(cls):
        "Not tried yet."
        return 0

    @classmethod
    def preprocess_values(cls, mode, values):
        "Give each new action its own uuid4 key, kept for every retry."
        values = super().preprocess_values(mode, values)
        if mode == 'create' and not values.get('idempotency_key'):
            values['idempotency_key'] = new_idempotency_key()
        return values

    @property
    def body(self):
        "The request body as sent."
        return json.loads(self.request) if self.request else None

    @classmethod
    def submit(cls, cases):
        """Hand the draft cases to their agency.

        Push: log a create action per case (its idempotency key stored before
        the call) and send it.  Pull and file: the case is exposed at once.
        """
        pool = Pool()
        Case = pool.get('receivable.collection.agency.case')
        Case.lock(cases)
        actions, exposed = [], []
        for case in cases:
            if case.state != 'draft':
                continue
            if case.profile.pattern != 'push':
                exposed.append(case)
                continue
            pending = [a for a in case.actions if a.kind == 'create' and a.state == 'pending']
            if pending:
                actions.extend(pending)
                continue
            claim = case.claim()
            # No reference: after a refused create the case may be fixed and
            # sent again with a new key (the agency stored nothing).
            actions.append(cls(
                    case=case, kind='create',
                    request=protocol.dumps(claim).decode('utf-8')))
        Case.set_state(exposed, 'submitted')
        cls.save([a for a in actions if a.id is None])
        cls.process(actions)

    @classmethod
    def process(cls, actions):
        "Send the pending actions, oldest first; failures stay pending or fail."
        pool = Pool()
        Case = pool.get('receivable.collection.agency.case')
        # Only push profiles call out; pull and file agencies read the log.
        queue = sorted([a for a in actions if a.state == 'pending'
                and a.case.profile.pattern == 'push'], key=lambda a: a.id)
        # One request in flight per case: concurrent runs wait here.
        Case.lock(list({a.case for a in queue}))
        clients = {}
        try:
            while queue:
                action = queue.pop(0)
                profile = action.case.profile
                if profile not in clients:
                    clients[profile] = client_for(profile)
                queue.extend(action._send(clients[profile]))
        finally:
            for client in clients.values():
                client.close()

    def _send(self, client):
        "Make the call of the action and record its answer; the follow-up actions."
        case = self.case
        try:
            result = getattr(self, '_call_' + self.kind)(client)
        except AgencyError as error:
            self.attempts = (self.attempts or 0) + error.tries
            self.response_status = error.status
            self.response = str(error)
            if not error.transient:
                self.state = 'failed'
                self._failed(error)
            self.save()
            return []
        self.attempts = (self.attempts or 0) + result.tries
        self.response_status = result.status
        self.response = dumps(result.body)
        self.state = 'done'
        self.save()
        return getattr(self, '_done_' + self.kind)(case.__class__(case.id), result)

    def _call_create(self, client):
        return client.create_claim(self.body, self.idempotency_key)

    def _call_document(self, client):
        pool = Pool()
        Document = pool.get('receivable.collection.agency.case.document')
        document, = Document.search([
                ('case', '=', self.case.id), ('doc_id', '=', self.reference)])
        return client.upload_document(
            self.case.external_id, self.body, bytes(document.data), self.idempotency_key)

    def _call_payment(self, client):
        return client.report_payment(self.case.external_id, self.body, self.idempotency_key)

    def _call_credit_note(self, client):
        return client.report_credit_note(
            self.case.external_id, self.body, self.idempotency_key)

    def _call_recall(self, client):
        body = self.body
        return client.recall(
            self.case.external_id, body['reason'], self.idempotency_key, note=body.get('note'))

    def _done_create(self, case, result):
        "The claim is at the agency: upload its documents next."
        pool = Pool()
        Case = pool.get('receivable.collection.agency.case')
        Case.set_state([case], 'submitted', errors=None,
            agency_case_id=result.agency_case_id or case.agency_case_id)
        uploads = [
            self.__class__(
                case=case, kind='document', reference=d.doc_id,
                request=dumps({'id': d.doc_id, 'kind': d.kind, 'filename': d.filename,
                        'sha256': d.sha256, 'size': d.size}))
            for d in case.documents if not d.uploaded]
        self.__class__.save(uploads)
        return uploads

    def _done_document(self, case, result):
        pool = Pool()
        Document = pool.get('receivable.collection.agency.case.document')
        Document.write(Document.search([
                    ('case', '=', case.id), ('doc_id', '=', self.reference)]),
            {'uploaded': True})
        return []

    def _done_payment(self, case, result):
        self._balance(case, result.body)
        return []

    _done_credit_note = _done_payment

    def _done_recall(self, case, result):
        "Asked: the case is recalled on the agency's case.recalled event."
        case.__class__.write([case], {'recall_reason': self.body['reason']})
        return []

    @staticmethod
    def _balance(case, body):
        "Keep the agency's balance of the case."
        balance = (body or {}).get('balance') or {}
        case.__class__.write([case], {
                'balance_' + k: Decimal(balance[k])
                for k in ['principal', 'costs', 'interest', 'total'] if k in balance})

    def _failed(self, error):
        "A claim the agency refuses is rejected with its errors; else the case says why."
        pool = Pool()
        Case = pool.get('receivable.collection.agency.case')
        case = self.case
        errors = '\n'.join(
            f"{e.get('path', '')}: {e.get('code', '')} {e.get('message', '')}".strip()
            for e in error.errors if isinstance(e, dict)) or str(error)
        if self.kind == 'create' and error.status == 422:
            Case.set_state([case], 'rejected', errors=errors, status_reason=error.code)
        else:
            Case.write([case], {'errors': f'{self.kind}: {errors}'})

    @classmethod
    def queue_reports(cls, cases):
        """Log a report for each direct payment and credit note on the cases' invoices.

        Only what was booked after the handover counts: the claim carried the
        open amount of that moment.  Return the new actions.
        """
        pool = Pool()
        Invoice = pool.get('account.invoice')
        known = {(a.case.id, a.kind, a.reference) for c in cases for a in c.actions}
        actions = []
        for case in cases:
            if case.state not in WITH_AGENCY:
                continue
            digits_code = case.currency.code
            for line in case.lines:
                invoice = line.invoice
                lines_to_pay = set(invoice.lines_to_pay)
                paid = set(invoice.payment_lines)
                for ml in invoice.lines_to_pay:
                    if ml.reconciliation:
                        paid.update(ml.reconciliation.lines)
                for ml in sorted(paid - lines_to_pay, key=lambda l: l.id):
                    if ml.create_date < case.create_date:
                        continue
                    origin = ml.move.origin
                    if getattr(origin, '__name__', None) == case.__name__:
                        continue  # the agency's own settlement
                    amount = ml.credit - ml.debit
                    if ml.second_currency == case.currency:
                        amount = -ml.amount_second_currency
                    if amount <= 0:
                        continue
                    if (isinstance(origin, Invoice) and origin.type == 'out'
                            and origin != invoice and origin.total_amount < 0):
                        kind, reference = 'credit_note', f'CN-{origin.id}'
                        body = {'id': reference, 'number': origin.number,
                            'date': origin.invoice_date.isoformat(),
                            'amount': protocol.format_money(amount, digits_code),
                            'line_number': line.number,
                            'reason': origin.description or origin.number}
                    else:
                        kind, reference = 'payment', f'PAY-{ml.id}'
                        body = {'id': reference, 'date': ml.date.isoformat(),
                            'amount': protocol.format_money(amount, digits_code),
                            'line_number': line.number, 'method': 'bank_transfer',
                            'reference': ml.move.rec_name}
                    if (case.id, kind, reference) in known:
                        continue
                    known.add((case.id, kind, reference))
                    actions.append(cls(case=case, kind=kind, reference=reference,
                            request=dumps(body), state=cls._initial_state(case)))
        cls.save(actions)
        return actions

    @staticmethod
    def _initial_state(case):
        "Pending for a push agency; done (exposed to the agency) otherwise."
        return 'pending' if case.profile.pattern == 'push' else 'done'

    @classmethod
    def queue_credit_notes(cls, credit_notes):
        """Log a report for each posted credit note crediting a handed-over invoice.

        Return the new actions.
        """
        pool = Pool()
        Case = pool.get('receivable.collection.agency.case')
        origins = {}
        for note in credit_notes:
            if note.type != 'out' or note.state != 'posted' or note.total_amount >= 0:
                continue
            for line in note.lines:
                origin = getattr(line, 'origin', None)
                if getattr(origin, '__name__', None) == 'account.invoice.line':
                    origins.setdefault(note, origin.invoice)
        cases = Case.blocking_cases([i.id for i in origins.values()])
        known = {(a.case.id, a.kind, a.reference) for c in cases.values() for a in c.actions}
        actions = []
        for note, invoice in origins.items():
            case = cases.get(invoice.id)
            if not case or case.state not in WITH_AGENCY:
                continue
            reference = f'CN-{note.id}'
            if (case.id, 'credit_note', reference) in known:
                continue
            line = next(l for l in case.lines if l.invoice == invoice)
            actions.append(cls(case=case, kind='credit_note', reference=reference,
                    request=dumps({'id': reference, 'number': note.number,
                            'date': note.invoice_date.isoformat(),
                            'amount': protocol.format_money(
                                -note.total_amount, case.currency.code),
                            'line_number': line.number,
                            'reason': note.description or note.number}),
                    state=cls._initial_state(case)))
        cls.save(actions)
        return actions

    @classmethod
    def cron_process(cls):
        "Retry the pending actions of the company (same idempotency keys)."
        company_id = Transaction().context.get('company')
        cls.process(cls.search([
                    ('state', '=', 'pending'), ('case.company', '=', company_id),
                    ('case.profile.pattern', '=', 'push'),
                    ]))


def client_for(profile):
    "The push client of a profile, with its key; never logged."
    return PushClient(
        profile.endpoint, profile.push_api_key, timeout=profile.request_timeout or 10,
        max_tries=profile.max_tries or 1, rate_limit=profile.rate_limit or None)


class Later(str):
    "The note of an event that cannot apply yet: it waits for an earlier one."


class Event(ProfileRecordMixin, ModelSQL, ModelView):
    "An event of the agency's feed (or webhook), stored once and applied once."
    __name__ = 'receivable.collection.agency.event'

    profile = fields.Many2One(
        'receivable.collection.agency.profile', "Profile", required=True,
        ondelete='CASCADE', readonly=True)
    case = fields.Many2One(
        'receivable.collection.agency.case', "Case", readonly=True,
        ondelete='CASCADE')
    event_id = fields.Char("Event ID", required=True, readonly=True)
    sequence = fields.Integer("Sequence", readonly=True)
    type = fields.Char("Type", required=True, readonly=True)
    occurred_at = fields.Char("Occurred At", readonly=True)
    external_id = fields.Char("Case Number", readonly=True)
    data = fields.Text("Data", readonly=True)
    source = fields.Selection([
            ('poll', "Events Feed"),
            ('webhook', "Webhook"),
            ('pull', "Pull API"),
            ('file', "File"),
            ], "Source", required=True, readonly=True)
    state = fields.Selection([
            ('received', "Received"),
            ('applied', "Applied"),
            ('ignored', "Ignored"),
            ('error', "Error"),
            ], "State", required=True, readonly=True, sort=False)
    note = fields.Text("Note", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_constraints = [
            ('profile_event_unique', Unique(table, table.profile, table.event_id),
                'receivable_collection_agency.msg_event_unique'),
            ]
        cls._order = [('sequence', 'ASC NULLS LAST'), ('id', 'ASC')]

    @classmethod
    def default_state(cls):
        "Not applied yet."
        return 'received'

    @property
    def payload(self):
        "The event's data as a dict."
        return json.loads(self.data or '{}')

    @classmethod
    def store(cls, profile, envelopes, source):
        """Store the envelopes not stored yet (dedupe by id); return the new events."""
        pool = Pool()
        Case = pool.get('receivable.collection.agency.case')
        envelopes = [e for e in envelopes if e.get('id')]
        ids = [e['id'] for e in envelopes]
        known = {e.event_id for e in cls.search([
                    ('profile', '=', profile.id), ('event_id', 'in', ids)])} if ids else set()
        external_ids = {e.get('external_id') for e in envelopes if e.get('external_id')}
        cases = {c.external_id: c for c in Case.search([
                    ('profile', '=', profile.id),
                    ('external_id', 'in', list(external_ids)),
                    ])} if external_ids else {}
        events, seen = [], set()
        for envelope in envelopes:
            if envelope['id'] in known or envelope['id'] in seen:
                continue
            seen.add(envelope['id'])
            events.append(cls(
                    profile=profile, event_id=envelope['id'],
                    sequence=envelope.get('sequence'), type=envelope.get('type') or '?',
                    occurred_at=envelope.get('occurred_at'),
                    external_id=envelope.get('external_id'),
                    case=cases.get(envelope.get('external_id')),
                    data=json.dumps(envelope.get('data') or {}, sort_keys=True),
                    source=source))
        cls.save(events)
        return events

    @classmethod
    def apply(cls, events):
        "Apply the received events to their cases, oldest first."
        events = sorted(
            [e for e in events if e.state == 'received'],
            key=lambda e: (e.sequence is None, e.sequence or 0, e.id))
        for event in events:
            if not event.case:
                event.state, event.note = 'ignored', gettext(
                    'receivable_collection_agency.msg_event_unknown_case',
                    external_id=event.external_id or '')
                continue
            handler = getattr(cls, '_apply_' + event.type.replace('.', '_'), None)
            if handler is None:
                event.state = 'ignored'
                continue
            note = handler(event, event.case.__class__(event.case.id), event.payload)
            if isinstance(note, Later):
                event.state = 'received'  # an earlier event is still missing
            else:
                event.state = 'applied' if not note else 'error'
            event.note = note
        cls.save(events)

    @classmethod
    def apply_pending(cls, profile):
        "Apply every event of the profile still waiting, in feed order."
        cls.apply(cls.search([('profile', '=', profile.id), ('state', '=', 'received')]))

    @staticmethod
    def _moved(case, state, **values):
        "Move the case, or say why not."
        if case.__class__.set_state([case], state, **values):
            return None
        note = gettext('receivable_collection_agency.msg_event_bad_transition',
            case=case.rec_name, state=case.state, target=state)
        # A webhook may ring before the event that leads to this one.
        return note if case.state in TERMINAL else Later(note)

    @classmethod
    def _apply_case_accepted(cls, event, case, data):
        "The agency took the case."
        return cls._moved(case, 'accepted', agency_case_id=data.get('agency_case_id')
            or case.agency_case_id)

    @classmethod
    def _apply_case_rejected(cls, event, case, data):
        "The agency refused the case: the block is lifted, the errors kept."
        errors = '\n'.join(
            f"{e.get('path', '')}: {e.get('code', '')} {e.get('message', '')}".strip()
            for e in data.get('errors') or [])
        return cls._moved(case, 'rejected', status_reason=data.get('reason_code'),
            errors=errors or data.get('reason_code'))

    @classmethod
    def _apply_case_status_changed(cls, event, case, data):
        "The agency moved the case on."
        if data.get('status') == case.state:
            return None
        return cls._moved(case, data.get('status'),
            status_reason=data.get('status_reason'))

    @classmethod
    def _apply_case_installment_plan(cls, event, case, data):
        "The debtor agreed to pay in instalments."
        plan = gettext('receivable_collection_agency.msg_case_plan',
            count=data.get('count'), amount=data.get('amount'),
            first_due=data.get('first_due'), frequency=data.get('frequency'))
        if case.state == 'installment_plan':
            case.__class__.write([case], {'installment_plan': plan})
            return None
        return cls._moved(case, 'installment_plan', installment_plan=plan)

    @classmethod
    def _apply_payment_received(cls, event, case, data):
        "The agency collected money: recorded, posted with the settlement."
        collected = (case.collected_total or Decimal(0)) + Decimal(data.get('amount', '0'))
        case.__class__.write([case], {'collected_total': collected})

    @classmethod
    def _apply_balance_changed(cls, event, case, data):
        "The agency's balance of the case after a payment or credit note."
        balance = data.get('balance') or {}
        case.__class__.write([case], {
                'balance_' + k: Decimal(balance[k])
                for k in ['principal', 'costs', 'interest', 'total'] if k in balance})

    @classmethod
    def _apply_settlement_issued(cls, event, case, data):
        "The agency remits what it collected: book it as a clearing."
        pool = Pool()
        Settlement = pool.get('receivable.collection.agency.settlement')
        return Settlement.post_from_event(event, case, data)

    @classmethod
    def _apply_case_recalled(cls, event, case, data):
        "The agency confirmed our recall."
        return cls._moved(case, 'recalled', recall_reason=data.get('reason')
            or case.recall_reason, status_reason=data.get('note'))

    @classmethod
    def _apply_case_closed(cls, event, case, data):
        "The case is finished at the agency."
        outcome = data.get('outcome')
        if outcome and outcome != case.state and outcome in (
                'paid', 'partially_paid', 'uncollectible', 'recalled'):
            note = cls._moved(case, outcome)
            if note:
                return note
            case = case.__class__(case.id)
        return cls._moved(case, 'closed')

    @classmethod
    def _apply_document_added(cls, event, case, data):
        "Stored only."

    @classmethod
    def _apply_debtor_disputed(cls, event, case, data):
        "Stored only: the case handler reads it."

    @classmethod
    def _apply_debtor_updated(cls, event, case, data):
        "Stored only: the case handler reads it."



class RecallStart(ModelView):
    "Why the case is taken back from the agency."
    __name__ = 'receivable.collection.agency.recall.start'

    reason = fields.Selection(
        [r for r in RECALL_REASONS if r[0]], "Reason", required=True)
    note = fields.Text("Note")


class Recall(Wizard):
    "Recall a case: the agency confirms with case.recalled."
    __name__ = 'receivable.collection.agency.recall'

    start = StateView('receivable.collection.agency.recall.start',
        'receivable_collection_agency.recall_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Recall", 'recall', 'tryton-undo', default=True),
            ])
    recall = StateTransition()

    def transition_recall(self):
        "Log the recall of each case and send it."
        pool = Pool()
        Action = pool.get('receivable.collection.agency.action')
        Case = pool.get('receivable.collection.agency.case')
        cases = [c for c in self.records if c.state in WITH_AGENCY]
        body = {'reason': self.start.reason}
        if self.start.note:
            body['note'] = self.start.note
        actions = [Action(case=c, kind='recall', reference='recall', request=dumps(body))
            for c in cases if not any(a.kind == 'recall' for a in c.actions)]
        Action.save(actions)
        exposed = [a.case for a in actions if a.case.profile.pattern != 'push']
        Case.set_state(exposed, 'recalled', recall_reason=self.start.reason)
        Action.write([a for a in actions if a.case.profile.pattern != 'push'],
            {'state': 'done'})
        Action.process([a for a in actions if a.case.profile.pattern == 'push'])
        return 'end'
