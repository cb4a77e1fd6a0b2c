# This file is part of receivable_collection_agency.  The COPYRIGHT file at
# the top level of this repository contains the full copyright notices and
# license terms.
"Agency cases: the claims handed over, their lines, side claims, documents."
import datetime as dt
import functools
import hashlib
import json
from collections import defaultdict
from decimal import Decimal
from itertools import groupby

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, Workflow, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction

from receivable_collection import dunning_rules as rules
from receivable_collection.notify import invoice_pdf

from . import eligibility
from .exceptions import CaseError

# Open: the invoice is with the agency (or about to be); one per invoice.
OPEN = ('draft', 'submitted', 'accepted', 'in_progress', 'installment_plan',
    'paid', 'partially_paid', 'uncollectible')
# With the agency: dunning is blocked, payments and credit notes reported.
WITH_AGENCY = ('submitted', 'accepted', 'in_progress', 'installment_plan')
OUTCOMES = ('paid', 'partially_paid', 'uncollectible', 'recalled')
TERMINAL = OUTCOMES + ('closed', 'rejected')
# A recall for these reasons leaves the invoice blocked: it is settled.
SETTLED_RECALLS = ('paid_directly', 'settled')
_ONE_DAY = dt.timedelta(days=1)
# The agency's transitions (section d); draft only lives in the ERP.
AGENCY_TRANSITIONS = {
    'submitted': {'accepted', 'rejected', 'recalled'},
    'accepted': {'in_progress', 'installment_plan', 'paid', 'partially_paid',
        'uncollectible', 'recalled'},
    'in_progress': {'installment_plan', 'paid', 'partially_paid', 'uncollectible',
        'recalled'},
    'installment_plan': {'in_progress', 'paid', 'partially_paid', 'uncollectible',
        'recalled'},
    'paid': {'closed'},
    'partially_paid': {'closed'},
    'uncollectible': {'closed'},
    'recalled': {'closed'},
    }
_LANGUAGES = {'DK': 'da', 'NO': 'no', 'SE': 'sv', 'DE': 'de', 'AT': 'de', 'CH': 'de',
    'FI': 'fi', 'FR': 'fr', 'NL': 'nl', 'ES': 'es', 'IT': 'it', 'PL': 'pl'}
_REGISTRATION_TYPES = ('dk_cvr', 'no_orgnr', 'se_orgnr', 'de_handelsregisternummer')
STATES = [
    ('draft', "Draft"),
    ('submitted', "Submitted"),
    ('accepted', "Accepted"),
    ('in_progress', "In Progress"),
    ('installment_plan', "Installment Plan"),
    ('paid', "Paid"),
    ('partially_paid', "Partially Paid"),
    ('uncollectible', "Uncollectible"),
    ('recalled', "Recalled"),
    ('closed', "Closed"),
    ('rejected', "Rejected"),
    ]
RECALL_REASONS = [
    (None, ""),
    ('paid_directly', "Paid Directly"),
    ('settled', "Settled"),
    ('disputed', "Disputed"),
    ('error', "Error"),
    ('other', "Other"),
    ]


def money(amount, digits):
    "A money string with exactly the currency's digits (section a)."
    return str(Decimal(amount).quantize(Decimal(1).scaleb(-digits)))


@functools.cache
def fee_replacing_currencies():
    "Currencies whose B2B compensation replaces the reminder fees up to its amount (presets)."
    return frozenset(
        p.currency for p in rules.default_presets().presets.values()
        if p.b2b_compensation.replaces_fees_up_to_amount)


def canonical_sha256(claim):
    "The SHA-256 hex of a claim in canonical JSON, as the agency hashes it."
    return hashlib.sha256(json.dumps(
            claim, sort_keys=True, separators=(',', ':'),
            ensure_ascii=False).encode('utf-8')).hexdigest()


class Case(Workflow, ModelSQL, ModelView):
    "A claim handed over to an agency: one debtor, one currency, its invoices."
    __name__ = 'receivable.collection.agency.case'
    _rec_name = 'external_id'

    _draft = {'readonly': Eval('state') != 'draft'}

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    profile = fields.Many2One(
        'receivable.collection.agency.profile', "Agency Profile", required=True,
        readonly=True,
        domain=[('company', '=', Eval('company', -1))])
    party = fields.Many2One(
        'party.party', "Debtor", required=True, readonly=True,
        context={'company': Eval('company', -1)}, depends={'company'})
    currency = fields.Many2One('currency.currency', "Currency", required=True, readonly=True)
    external_id = fields.Char(
        "Case Number", readonly=True,
        help="Our number of the claim, unique forever; the agency knows it by it.")
    agency_case_id = fields.Char("Agency Reference", readonly=True)
    origin = fields.Selection([
            ('manual', "Invoice"),
            ('dunning', "Dunning"),
            ('auto', "Automatic"),
            ], "Origin", required=True, readonly=True)
    reason = fields.Char("Reason", required=True, states=_draft)
    notes = fields.Text("Notes", states=_draft)
    lines = fields.One2Many(
        'receivable.collection.agency.case.line', 'case', "Lines", readonly=True)
    side_claims = fields.One2Many(
        'receivable.collection.agency.case.side_claim', 'case', "Side Claims",
        readonly=True)
    documents = fields.One2Many(
        'receivable.collection.agency.case.document', 'case', "Documents",
        readonly=True)
    events = fields.One2Many(
        'receivable.collection.agency.event', 'case', "Events", readonly=True)
    actions = fields.One2Many(
        'receivable.collection.agency.action', 'case', "Outgoing Actions", readonly=True)
    total_open = fields.Function(Monetary(
            "Total Handed Over", currency='currency', digits='currency'),
        'get_total_open')
    disputed = fields.Function(fields.Boolean("Disputed"), 'get_disputed')
    status_reason = fields.Char("Status Reason", readonly=True)
    errors = fields.Text("Errors", readonly=True)
    recall_reason = fields.Selection(RECALL_REASONS, "Recall Reason", readonly=True)
    closed_outcome = fields.Selection(
        [(None, "")] + [(s, n) for s, n in STATES if s in OUTCOMES],
        "Outcome", readonly=True)
    balance_principal = Monetary(
        "Open Principal", currency='currency', digits='currency', readonly=True)
    balance_costs = Monetary(
        "Open Costs", currency='currency', digits='currency', readonly=True)
    balance_interest = Monetary(
        "Open Interest", currency='currency', digits='currency', readonly=True)
    balance_total = Monetary(
        "Open at Agency", currency='currency', digits='currency', readonly=True)
    collected_total = Monetary(
        "Collected by Agency", currency='currency', digits='currency', readonly=True)
    installment_plan = fields.Char("Installment Plan", readonly=True)
    remainder = fields.Function(Monetary(
            "Still Open in Books", currency='currency', digits='currency',
            help="What the case's invoices still owe in our books; after a "
            "partial or failed collection, the amount to write off."),
        'get_remainder')
    state = fields.Selection(STATES, "State", required=True, readonly=True, sort=False)
    state_string = state.translated('state')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_constraints = [
            ('external_id_unique', Unique(table, table.external_id),
                'receivable_collection_agency.msg_case_external_id_unique'),
            ]
        cls._sql_indexes.add(Index(
                table, (table.state, Index.Equality(cardinality='low')),
                where=table.state.in_(OPEN)))
        cls._order = [('id', 'DESC')]
        cls._transitions |= {('draft', 'submitted'), ('draft', 'rejected')}
        for source, targets in AGENCY_TRANSITIONS.items():
            cls._transitions |= {(source, target) for target in targets}
        cls._buttons.update({
                'submit': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                'recall': {
                    'invisible': ~Eval('state').in_(list(WITH_AGENCY)),
                    'icon': 'tryton-undo',
                    'depends': ['state'],
                    },
                'close': {
                    'invisible': ~Eval('state').in_(list(OUTCOMES)),
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_origin(cls):
        "Handed over from the invoice."
        return 'manual'

    @classmethod
    def default_state(cls):
        "Cases start in draft."
        return 'draft'

    @classmethod
    def preprocess_values(cls, mode, values):
        "Number new cases from the agency case sequence (RC-YYYY-NNNNNN)."
        pool = Pool()
        Data = pool.get('ir.model.data')
        Sequence = pool.get('ir.sequence')
        values = super().preprocess_values(mode, values)
        if mode == 'create' and not values.get('external_id'):
            sequence = Sequence(Data.get_id('receivable_collection_agency', 'sequence_case'))
            values['external_id'] = sequence.get()
        return values

    @classmethod
    def check_modification(cls, mode, cases, values=None, external=False):
        "Only draft cases are deleted (the case number is then never reused)."
        super().check_modification(mode, cases, values=values, external=external)
        if mode == 'delete':
            for case in cases:
                if case.state != 'draft':
                    raise CaseError(gettext(
                            'receivable_collection_agency.msg_case_delete_draft',
                            case=case.rec_name))

    @classmethod
    def copy(cls, cases, default=None):
        "Cases are not copied: a new handover makes a new case."
        if not cases:
            return []
        raise CaseError(gettext('receivable_collection_agency.msg_case_no_copy'))

    def get_total_open(self, name):
        "What was handed over: open principal plus side claims."
        return (sum((l.open_amount for l in self.lines), Decimal(0))
            + sum((s.amount for s in self.side_claims), Decimal(0)))

    @classmethod
    def get_remainder(cls, cases, name):
        "What the case invoices still owe, less credit notes reported but not yet applied."
        pool = Pool()
        Invoice = pool.get('account.invoice')
        result = {}
        for case in cases:
            notes = Invoice.browse([int(a.reference[len('CN-'):]) for a in case.actions
                    if a.kind == 'credit_note' and a.state == 'done'])
            credit = sum((ml.credit - ml.debit for n in notes for ml in n.lines_to_pay
                    if not ml.reconciliation), Decimal(0))
            result[case.id] = sum(
                (l.invoice.amount_to_pay for l in case.lines), Decimal(0)) - credit
        return result

    def get_disputed(self, name):
        "Whether any line is disputed."
        return any(l.disputed for l in self.lines)

    @property
    def blocks_dunning(self):
        "Whether the case keeps dunning away from its invoices."
        if self.state in WITH_AGENCY or self.state in {'paid', 'partially_paid',
                'uncollectible'}:
            return True
        if self.state == 'recalled' or (
                self.state == 'closed' and self.closed_outcome == 'recalled'):
            return self.recall_reason in SETTLED_RECALLS
        return self.state == 'closed'

    @classmethod
    def _blocking_domain(cls):
        "The cases that keep dunning away from their invoices (see blocks_dunning)."
        return ['OR',
            ('state', 'in', list(WITH_AGENCY) + ['paid', 'partially_paid', 'uncollectible']),
            [('state', '=', 'recalled'), ('recall_reason', 'in', list(SETTLED_RECALLS))],
            [('state', '=', 'closed'), ['OR',
                    ('closed_outcome', '!=', 'recalled'),
                    ('recall_reason', 'in', list(SETTLED_RECALLS))]],
            ]

    @classmethod
    def blocking_cases(cls, invoice_ids):
        "The case blocking each of the invoices: {invoice id: case}."
        pool = Pool()
        Line = pool.get('receivable.collection.agency.case.line')
        domain = [('case', 'where', cls._blocking_domain())]
        if invoice_ids is not None:
            domain.append(('invoice', 'in', list(invoice_ids)))
        return {l.invoice.id: l.case for l in Line.search(domain, order=[('id', 'ASC')])}

    @classmethod
    def blocking_invoices(cls, invoice_ids=None):
        "The ids of the invoices (among invoice_ids) kept away from dunning."
        return list(cls.blocking_cases(invoice_ids))

    @classmethod
    def cron_auto_hand_over(cls):
        """Hand over the invoices overdue by their profile's handover days.

        Only active profiles with automatic handover run; a paused profile
        hands over nothing.  Refused invoices stay for the next run.
        """
        pool = Pool()
        Profile = pool.get('receivable.collection.agency.profile')
        Invoice = pool.get('account.invoice')
        Date = pool.get('ir.date')
        company_id = Transaction().context.get('company')
        today = Date.today()
        cases = []
        for profile in Profile.search([
                    ('company', '=', company_id),
                    ('state', '=', 'active'),
                    ('auto_handover', '=', True),
                    ]):
            due = today - dt.timedelta(days=profile.handover_days)
            invoices = Invoice.search([
                    ('company', '=', profile.company.id),
                    ('type', '=', 'out'),
                    ('state', '=', 'posted'),
                    ('move.lines', 'where', [
                            ('account.type.receivable', '=', True),
                            ('maturity_date', '<=', due),
                            ('reconciliation', '=', None),
                            ]),
                    ('agency_case_lines', 'not where', [
                            ('case.state', 'in', list(OPEN))]),
                    ])
            if not invoices:
                continue
            created, _ = cls.hand_over(profile, invoices, today, origin='auto')
            cls.submit(created)
            cases.extend(created)
        return cases

    # --- building cases ------------------------------------------------

    @classmethod
    def invoice_facts(cls, profile, invoices, date):
        """The eligibility facts of each invoice, read in batch.

        Return {invoice: (InvoiceFacts, extra)} where extra holds the
        reminder dates and the dispute reason the case lines need.
        """
        pool = Pool()
        Dunning = pool.get('account.dunning')
        Block = pool.get('receivable.collection.dunning.block')
        CaseLine = pool.get('receivable.collection.agency.case.line')
        lines = {l: i for i in invoices for l in i.lines_to_pay if not l.reconciliation}
        dunnings = defaultdict(list)
        for dunning in Dunning.search([('line', 'in', [l.id for l in lines])]):
            dunnings[lines[dunning.line]].append(dunning)
        with Transaction().set_context(agency_without_cases=True):
            blocked = Block.blocked_lines(list(lines), date)
        open_cases = {
            cl.invoice: cl.case.rec_name for cl in CaseLine.search([
                    ('invoice', 'in', [i.id for i in invoices]),
                    ('case.state', 'in', list(OPEN)),
                    ])}
        company_country = profile.creditor_country
        poa_signed = profile.poa_status == 'signed'
        result = {}
        for invoice in invoices:
            party = invoice.party
            address = party.address_get()
            reminders = [
                (r.date, r.level) for d in dunnings[invoice] for r in d.collection_reminders]
            notices = [d for d, level in reminders if level.collection_notice]
            defaults = [d for d, level in reminders if level.collection_sets_default]
            invoice_lines = [l for l in invoice.lines_to_pay if not l.reconciliation]
            reasons = [blocked[l] for l in invoice_lines if l in blocked]
            due_dates = [l.maturity_date or invoice.invoice_date for l in invoice_lines]
            due_date = min(due_dates) if due_dates else invoice.invoice_date
            procedure = next((d.procedure for d in dunnings[invoice]), None)
            if not defaults and procedure and \
                    procedure.collection_interest_from == 'due_date':
                defaults = [due_date + _ONE_DAY]
            open_reminders = [
                f'{d.level.rec_name} ({d.state})' for d in dunnings[invoice]
                if d.state in {'draft', 'waiting'} and not d.level.collection_handover]
            facts = eligibility.InvoiceFacts(
                number=invoice.number or str(invoice.id),
                debtor=str(party.id),
                currency=invoice.currency.code,
                open_amount=invoice.amount_to_pay,
                due_date=due_date,
                debtor_type=cls.debtor_type(party),
                debtor_country=address.country.code if address and address.country else None,
                creditor_country=company_country.code if company_country else None,
                birth_date=party.agency_birth_date,
                insolvent=bool(party.agency_insolvent),
                disputed=bool(reasons),
                dispute_reason='; '.join(reasons) or None,
                has_email=bool(party.contact_mechanism_get('email')),
                has_address=bool(cls.claim_address(address)),
                notice_date=max(notices, default=None),
                open_reminders=tuple(open_reminders),
                first_reminder_date=min((d for d, _ in reminders), default=None),
                default_date=min(defaults, default=None),
                has_pdf=invoice.state in {'posted', 'paid'},
                open_case=open_cases.get(invoice),
                poa_signed=poa_signed)
            result[invoice] = facts
        return result

    @classmethod
    def check_eligibility(cls, profile, invoices, date):
        "The refusals of each invoice: {invoice: [Refusal, ...]}."
        facts = cls.invoice_facts(profile, invoices, date)
        by_number = eligibility.evaluate(
            profile.eligibility_rules, list(facts.values()), date)
        return {invoice: by_number[f.number] for invoice, f in facts.items()}, facts

    @staticmethod
    def debtor_type(party):
        "The party's debtor type, else: a company when it has a tax or registration number."
        if party.agency_debtor_type:
            return party.agency_debtor_type
        if party.tax_identifier:
            return 'company'
        if any(i.type in _REGISTRATION_TYPES for i in party.identifiers):
            return 'company'
        return 'person'

    @classmethod
    def hand_over(cls, profile, invoices, date, origin='manual'):
        """Create draft cases for the eligible invoices, one per debtor and currency.

        Return (cases, refusals) with refusals {invoice: [Refusal, ...]} for the
        invoices left out.
        """
        pool = Pool()
        Line = pool.get('receivable.collection.agency.case.line')
        Invoice = pool.get('account.invoice')
        invoices = [i for i in invoices if i.type == 'out']
        # Two handovers of the same invoice at once: the second waits and
        # then finds the first one's open case.
        Invoice.lock(invoices)
        verdicts, facts = cls.check_eligibility(profile, invoices, date)
        eligible = [i for i in invoices if not verdicts[i]]
        refused = {i: r for i, r in verdicts.items() if r}
        eligible.sort(key=lambda i: (i.party.id, i.currency.id, i.number or '', i.id))
        cases = []
        for (party, currency), group in groupby(
                eligible, key=lambda i: (i.party, i.currency)):
            group = list(group)
            case = cls(
                company=profile.company, profile=profile, party=party,
                currency=currency, origin=origin,
                reason=profile.claim_reason or gettext(
                    'receivable_collection_agency.msg_case_reason_default'),
                lines=[Line.from_invoice(i, facts[i]) for i in group])
            cases.append(case)
        cls.save(cases)
        cls.add_side_claims(cases)
        cls.add_compensations(cases)
        cls.add_documents(cases)
        return cases, refused

    @classmethod
    def add_side_claims(cls, cases):
        "Claim the open fees and interest the dunning posted on the case invoices."
        pool = Pool()
        Dunning = pool.get('account.dunning')
        SideClaim = pool.get('receivable.collection.agency.case.side_claim')
        case_lines = {ml: cl for c in cases for cl in c.lines
            for ml in cl.invoice.lines_to_pay}
        claims = []
        for dunning in Dunning.search([('line', 'in', [l.id for l in case_lines])]):
            case_line = case_lines[dunning.line]
            claims.extend(SideClaim.from_dunning(case_line, dunning))
        SideClaim.save(claims)

    @classmethod
    def add_compensations(cls, cases):
        "Claim the profile's B2B compensation once per line of company debtors' cases."
        pool = Pool()
        SideClaim = pool.get('receivable.collection.agency.case.side_claim')
        fees = defaultdict(Decimal)
        for claim in SideClaim.search([
                    ('case', 'in', [c.id for c in cases]),
                    ('type', '=', 'reminder_fee'),
                    ]):
            fees[claim.line] += claim.amount
        claims = []
        for case in cases:
            amount = case.profile.compensation_for(
                cls.debtor_type(case.party), case.currency)
            if not amount:
                continue
            replaces = case.currency.code in fee_replacing_currencies()
            for line in case.lines:
                # SE räntelagen §4a: the compensation replaces the fees up to its amount.
                claimed = max(Decimal(0), amount - fees[line]) if replaces else amount
                if claimed:
                    claims.append(SideClaim.compensation(line, claimed))
        SideClaim.save(claims)

    @classmethod
    def add_documents(cls, cases):
        "Attach each invoice as PDF and the reminder letters sent for it."
        pool = Pool()
        Document = pool.get('receivable.collection.agency.case.document')
        Message = pool.get('receivable.collection.dunning.message')
        Dunning = pool.get('account.dunning')
        CaseLine = pool.get('receivable.collection.agency.case.line')
        documents, lines = [], []
        for case in cases:
            invoices = [l.invoice for l in case.lines]
            # One PDF per invoice so each line names its own document.
            for index, line in enumerate(case.lines, 1):
                with Transaction().set_context(company=case.company.id):
                    party = line.invoice.party
                    _, content = invoice_pdf(
                        line.invoice, party.lang.code if party.lang else None)
                doc = Document.from_bytes(
                    case, f'doc-{index}', 'invoice', f'{line.number}.pdf', bytes(content))
                documents.append(doc)
                line.document = doc
                lines.append(line)
            dunnings = Dunning.search([
                    ('line', 'in', [ml.id for i in invoices for ml in i.lines_to_pay])])
            letters = Message.search([
                    ('dunnings', 'in', [d.id for d in dunnings]),
                    ('channel', '=', 'letter'),
                    ('state', '=', 'sent'),
                    ], order=[('id', 'ASC')]) if dunnings else []
            for index, letter in enumerate(letters, 1):
                if letter.document and bytes(letter.document).startswith(b'%PDF-'):
                    documents.append(Document.from_bytes(
                            case, f'reminder-{index}', 'reminder',
                            letter.document_name or f'reminder-{index}.pdf',
                            bytes(letter.document)))
        Document.save(documents)
        CaseLine.save(lines)

    # --- the claim (section a) -------------------------------------------

    def claim(self):
        "The claim payload of the case, as the agency contract defines it."
        digits = self.currency.digits
        profile = self.profile
        country = profile.creditor_country
        creditor = {
            'id': profile.agency_creditor_id,
            'name': profile.creditor_name,
            'registration_no': profile.creditor_registration_no,
            'vat_id': profile.creditor_vat_id,
            'country': country.code if country else None,
            }
        lines = [line.claim_line(digits) for line in self.lines]
        side_claims = [s.claim_side(digits) for s in self.side_claims]
        total = (sum((l.open_amount for l in self.lines), Decimal(0))
            + sum((s.amount for s in self.side_claims), Decimal(0)))
        claim = {
            'external_id': self.external_id,
            'creditor': creditor,
            'debtor': self.claim_debtor(),
            'currency': self.currency.code,
            'lines': lines,
            'total_open': money(total, digits),
            'reason': self.reason,
            'disputed': any(l.disputed for l in self.lines),
            }
        if side_claims:
            claim['side_claims'] = side_claims
        if self.notes:
            claim['notes'] = self.notes
        if self.documents:
            claim['documents'] = [d.claim_document() for d in self.documents]
        return claim

    def claim_debtor(self):
        "The debtor of the claim from the party, its address and contacts."
        party = self.party
        address = party.address_get()
        debtor = {'type': self.debtor_type(party), 'customer_no': party.code}
        if debtor['type'] == 'company':
            debtor['name'] = party.name
        else:
            first, _, last = party.name.strip().rpartition(' ')
            debtor['first_name'] = first or last
            debtor['last_name'] = last
            if party.agency_birth_date:
                debtor['birth_date'] = party.agency_birth_date.isoformat()
        claim_address = self.claim_address(address)
        if claim_address:
            debtor['address'] = claim_address
        for kind in ['email', 'phone', 'mobile']:
            mechanism = party.contact_mechanism_get(kind)
            if mechanism and mechanism.value:
                value = mechanism.value if kind == 'email' else (
                    mechanism.value.replace(' ', '').replace('-', ''))
                if kind == 'email' or (value.startswith('+') and value[1:].isdigit()):
                    debtor[kind] = value
        registration = next((i.code for i in party.identifiers
                if i.type in _REGISTRATION_TYPES), None)
        vat = party.tax_identifier
        if (not registration and vat and vat.type == 'eu_vat'
                and vat.code[:2] in {'DK', 'NO', 'SE'}):
            # Tryton keeps a Danish CVR as its EU VAT number, DK + the CVR.
            registration = vat.code[2:]
        if registration:
            debtor['registration_no'] = registration
        if party.tax_identifier and party.tax_identifier.type == 'eu_vat':
            debtor['vat_id'] = party.tax_identifier.code
        if party.agency_insolvent:
            debtor['insolvent'] = True
        debtor['language'] = self.claim_language()
        return debtor

    @staticmethod
    def claim_address(address):
        "The address of the claim, or None when street, postal code, city or country lack."
        if not address:
            return None
        street = address.street_name or (
            (address.street_unstructured or '').splitlines() or [''])[0]
        if not (street and address.postal_code and address.city and address.country):
            return None
        result = {'street': street, 'postal_code': address.postal_code,
            'city': address.city, 'country': address.country.code}
        if address.building_number:
            result['house_no'] = address.building_number
        return result

    def claim_language(self):
        "The debtor's language, else the creditor country's."
        if self.party.lang:
            return self.party.lang.code[:2]
        country = self.profile.creditor_country
        return _LANGUAGES.get(country.code if country else None, 'en')

    # --- buttons ---------------------------------------------------------

    @classmethod
    @ModelView.button
    def submit(cls, cases):
        "Send the draft cases to their agency (or expose them to pull)."
        pool = Pool()
        Action = pool.get('receivable.collection.agency.action')
        Action.submit([c for c in cases if c.state == 'draft'])

    @classmethod
    @ModelView.button_action('receivable_collection_agency.wizard_case_recall')
    def recall(cls, cases):
        "Ask the agency to give the cases back."

    @classmethod
    @ModelView.button
    @Workflow.transition('closed')
    def close(cls, cases):
        "Close cases whose outcome is reached and settled."
        for case in cases:
            case.closed_outcome = case.state
        cls.save(cases)

    @classmethod
    def set_state(cls, cases, state, **values):
        "Move cases to state if the contract allows it; return those moved."
        moved = [c for c in cases
            if state in AGENCY_TRANSITIONS.get(c.state, ())
            or (c.state, state) in cls._transitions]
        if moved:
            if state == 'closed':
                for case in moved:
                    cls.write([case], {'closed_outcome': case.state, 'state': 'closed',
                            **values})
            else:
                cls.write(moved, {'state': state, **values})
        return moved


class CaseRecordMixin:
    "Records of a case, in the case's company and currency."
    __slots__ = ()
    company = fields.Function(fields.Many2One(
            'company.company', "Company"),
        'get_case_field', searcher='search_case_field')

    def get_currency(self, name):
        "The currency of the case."
        return self.case.currency.id

    def get_case_field(self, name):
        "A field of the case."
        return getattr(self.case, name).id

    @classmethod
    def search_case_field(cls, name, clause):
        "Search on the case."
        return [('case.' + clause[0],) + tuple(clause[1:])]


class CaseLine(CaseRecordMixin, ModelSQL, ModelView):
    "One handed-over invoice of a case, as it was when handed over."
    __name__ = 'receivable.collection.agency.case.line'

    case = fields.Many2One(
        'receivable.collection.agency.case', "Case", required=True,
        ondelete='CASCADE', readonly=True)
    invoice = fields.Many2One(
        'account.invoice', "Invoice", required=True, readonly=True,
        domain=[('type', '=', 'out')])
    number = fields.Char("Number", required=True, readonly=True)
    invoice_date = fields.Date("Invoice Date", readonly=True)
    due_date = fields.Date("Due Date", readonly=True)
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'get_currency')
    original_amount = Monetary(
        "Original Amount", currency='currency', digits='currency', readonly=True)
    open_amount = Monetary(
        "Open Amount", currency='currency', digits='currency', readonly=True)
    first_reminder_date = fields.Date("First Reminder", readonly=True)
    default_date = fields.Date("Default Date", readonly=True)
    disputed = fields.Boolean("Disputed", readonly=True)
    dispute_reason = fields.Char("Dispute Reason", readonly=True)
    document = fields.Many2One(
        'receivable.collection.agency.case.document', "Document", readonly=True,
        domain=[('case', '=', Eval('case', -1))])
    case_state = fields.Function(fields.Selection(STATES, "Case State"), 'get_case_state')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_indexes.add(Index(table, (table.invoice, Index.Range())))

    @classmethod
    def from_invoice(cls, invoice, facts):
        "The line for an invoice from its eligibility facts."
        return cls(
            invoice=invoice, number=facts.number, invoice_date=invoice.invoice_date,
            due_date=facts.due_date, original_amount=invoice.total_amount,
            open_amount=facts.open_amount,
            first_reminder_date=facts.first_reminder_date,
            default_date=facts.default_date, disputed=facts.disputed,
            dispute_reason=facts.dispute_reason)

    def get_case_state(self, name):
        "The state of the case."
        return self.case.state

    @classmethod
    def validate(cls, lines):
        "One open case per invoice."
        super().validate(lines)
        invoices = {l.invoice.id for l in lines}
        others = cls.search([
                ('invoice', 'in', list(invoices)),
                ('case.state', 'in', list(OPEN)),
                ])
        seen = {}
        for line in others:
            case = seen.setdefault(line.invoice.id, line.case)
            if case != line.case:
                raise CaseError(gettext(
                        'receivable_collection_agency.msg_case_invoice_open',
                        invoice=line.invoice.rec_name, case=case.rec_name))

    def claim_line(self, digits):
        "The line of the claim payload."
        result = {
            'number': self.number,
            'invoice_date': self.invoice_date.isoformat(),
            'due_date': self.due_date.isoformat(),
            'original_amount': money(self.original_amount, digits),
            'open_amount': money(self.open_amount, digits),
            'disputed': bool(self.disputed),
            }
        if self.first_reminder_date and self.first_reminder_date > self.due_date:
            result['first_reminder_date'] = self.first_reminder_date.isoformat()
        if self.default_date:
            result['default_date'] = self.default_date.isoformat()
        if self.disputed:
            result['dispute_reason'] = self.dispute_reason or '-'
        if self.document:
            result['document_id'] = self.document.doc_id
        return result


class CaseSideClaim(CaseRecordMixin, ModelSQL, ModelView):
    "A fee, interest or other cost claimed with a case line."
    __name__ = 'receivable.collection.agency.case.side_claim'

    case = fields.Many2One(
        'receivable.collection.agency.case', "Case", required=True,
        ondelete='CASCADE', readonly=True)
    line = fields.Many2One(
        'receivable.collection.agency.case.line', "Line", readonly=True,
        domain=[('case', '=', Eval('case', -1))])
    type = fields.Selection([
            ('reminder_fee', "Reminder Fee"),
            ('interest', "Interest"),
            ('compensation', "Compensation"),
            ('other_cost', "Other Cost"),
            ], "Type", required=True, readonly=True)
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'get_currency')
    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True, readonly=True)
    date = fields.Date("Date", required=True, readonly=True)
    level = fields.Integer("Level", readonly=True)
    rate = fields.Numeric("Rate (%)", digits=(16, 4), readonly=True)
    reference_rate_name = fields.Char("Reference Rate", readonly=True)
    margin = fields.Numeric("Margin", digits=(16, 4), readonly=True)
    date_from = fields.Date("From", readonly=True)
    date_to = fields.Date("To", readonly=True)
    day_count = fields.Char("Day Count", readonly=True)
    basis = Monetary("Basis", currency='currency', digits='currency', readonly=True)
    description = fields.Char("Description", readonly=True)
    move_line = fields.Many2One(
        'account.move.line', "Receivable Line", readonly=True,
        help="The open receivable line charging it to the debtor.")

    @staticmethod
    def _claim_amount(move_line, currency):
        "The amount a receivable line charges, in the claim's currency."
        pool = Pool()
        Currency = pool.get('currency.currency')
        if move_line.second_currency == currency:
            return abs(move_line.amount_second_currency)
        amount = move_line.debit - move_line.credit
        company_currency = move_line.account.company.currency
        if company_currency == currency:
            return amount
        with Transaction().set_context(date=move_line.date):
            return Currency.compute(company_currency, amount, currency)

    @classmethod
    def from_dunning(cls, case_line, dunning):
        "The open fees and interest of a dunning as unsaved side claims."
        pool = Pool()
        Rate = pool.get('receivable.collection.interest.rate')
        Interest = pool.get('receivable.collection.dunning.interest')
        case = case_line.case
        items = dunning.collection_open_items()
        levels = list(dunning.procedure.levels)
        result = []
        for fee in dunning.fees:
            for move in fee.moves:
                for ml in move.lines:
                    if ml in items['costs']:
                        result.append(cls(
                                case=case, line=case_line, type='reminder_fee',
                                amount=cls._claim_amount(ml, case.currency),
                                date=ml.date, move_line=ml,
                                level=levels.index(fee.level) + 1
                                if fee.level in levels else 1))
        procedure = dunning.procedure
        margin = (procedure.collection_interest_margin_b2b
            if dunning.line.party.tax_identifier
            else procedure.collection_interest_margin_b2c) or Decimal(0)
        for charge in dunning.collection_interests:
            if not charge.move:
                continue
            lines = [ml for ml in charge.move.lines if ml in items['interest']]
            if not lines:
                continue
            _, timeline = Interest._principal_timeline(dunning.line)
            computed = rules.interest(
                timeline, Rate.reference_rate(procedure.collection_interest_reference),
                margin, charge.date_from, charge.date_to,
                procedure.collection_interest_day_count)
            segment = computed.segments[-1]
            result.append(cls(
                    case=case, line=case_line, type='interest',
                    amount=charge.amount, date=charge.date_to, move_line=lines[0],
                    rate=segment.rate, margin=margin,
                    reference_rate_name=procedure.collection_interest_reference,
                    date_from=charge.date_from, date_to=charge.date_to,
                    day_count=procedure.collection_interest_day_count,
                    basis=computed.segments[0].principal))
        return result

    @classmethod
    def compensation(cls, case_line, amount):
        "The unsaved flat B2B compensation of a case line, due once the debtor is late."
        return cls(
            case=case_line.case, line=case_line, type='compensation',
            amount=case_line.case.currency.round(amount),
            date=case_line.default_date or case_line.due_date + _ONE_DAY)

    def claim_side(self, digits):
        "The side claim of the payload, with the fields of its type."
        result = {'type': self.type, 'amount': money(self.amount, digits),
            'date': self.date.isoformat()}
        if self.type in {'reminder_fee', 'interest', 'compensation'}:
            result['line_number'] = self.line.number
        if self.type == 'reminder_fee':
            result['level'] = self.level
        elif self.type == 'interest':
            result.update({
                    'rate': format(self.rate.normalize(), 'f'),
                    'reference_rate_name': self.reference_rate_name,
                    'margin': format(self.margin.normalize(), 'f'),
                    'from': self.date_from.isoformat(),
                    'to': self.date_to.isoformat(),
                    'day_count': self.day_count,
                    'basis': money(self.basis, digits),
                    })
        elif self.type == 'other_cost':
            result['description'] = self.description
        return result


class CaseDocument(CaseRecordMixin, ModelSQL, ModelView):
    "A PDF handed over with a case: the invoice or a reminder letter."
    __name__ = 'receivable.collection.agency.case.document'

    case = fields.Many2One(
        'receivable.collection.agency.case', "Case", required=True,
        ondelete='CASCADE', readonly=True)
    doc_id = fields.Char("ID", required=True, readonly=True)
    kind = fields.Selection([
            ('invoice', "Invoice"),
            ('reminder', "Reminder"),
            ('contract', "Contract"),
            ('correspondence', "Correspondence"),
            ('other', "Other"),
            ], "Kind", required=True, readonly=True)
    filename = fields.Char("File Name", required=True, readonly=True)
    data = fields.Binary("File", filename='filename', readonly=True)
    sha256 = fields.Char("SHA-256", required=True, readonly=True)
    size = fields.Integer("Size", required=True, readonly=True)
    uploaded = fields.Boolean("Uploaded", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_constraints = [
            ('case_doc_unique', Unique(table, table.case, table.doc_id),
                'receivable_collection_agency.msg_case_document_unique'),
            ]

    @classmethod
    def from_bytes(cls, case, doc_id, kind, filename, data):
        "A document with the hash and size of its bytes."
        return cls(
            case=case, doc_id=doc_id, kind=kind, filename=filename, data=data,
            sha256=hashlib.sha256(data).hexdigest(), size=len(data), uploaded=False)

    def claim_document(self):
        "The document's metadata in the claim (content is uploaded apart)."
        return {'id': self.doc_id, 'kind': self.kind, 'filename': self.filename,
            'sha256': self.sha256, 'size': self.size, 'content_type': 'application/pdf'}

