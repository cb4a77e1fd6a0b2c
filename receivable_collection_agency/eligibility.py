# This file is part of receivable_collection_agency.  The COPYRIGHT file at
# the top level of this repository contains the full copyright notices and
# license terms.
"""Which invoices an agency takes: the eligibility rules of section (e).

Plain Python, no trytond: the model layer gathers the facts of each invoice
(``InvoiceFacts``) and the settings of the profile (``Rules``); ``evaluate``
answers, for every invoice of a (bulk) handover in one pass, the refusals
with the code of the rule that refused it.  An invoice without refusals may
be handed over.
"""
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ['RULES', 'InvoiceFacts', 'Refusal', 'Rules', 'evaluate', 'age']

# The rule codes, in the order they are checked.
RULES = (
    'open_case', 'power_of_attorney', 'currencies', 'creditor_countries',
    'debtor_countries', 'debtor_types', 'not_insolvent', 'min_debtor_age',
    'disputed', 'min_days_overdue', 'max_claim_age_days', 'notice_sent',
    'reminders_closed', 'required_fields', 'invoice_pdf_required', 'min_amount',
    'max_amount',
    )


@dataclass(frozen=True)
class Rules:
    "The eligibility settings of one agency profile."
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    min_days_overdue: int = 0
    notice_days: int | None = None
    reminders_closed: bool = False
    power_of_attorney: bool = False
    debtor_types: tuple = ('person', 'company')
    min_debtor_age: int | None = None
    creditor_countries: tuple = ()
    debtor_countries: tuple = ()
    disputed: str = 'reject'
    require_first_reminder_date: bool = False
    require_default_date: bool = False
    require_email: bool = False
    require_address: bool = False
    invoice_pdf_required: bool = False
    max_claim_age_days: int | None = None
    currencies: tuple = ()


@dataclass(frozen=True)
class InvoiceFacts:
    "What the rules need to know of one invoice and its debtor."
    number: str
    debtor: str
    currency: str
    open_amount: Decimal
    due_date: dt.date
    debtor_type: str = 'company'
    debtor_country: str | None = None
    creditor_country: str | None = None
    birth_date: dt.date | None = None
    insolvent: bool = False
    disputed: bool = False
    dispute_reason: str | None = None
    has_email: bool = False
    has_address: bool = False
    notice_date: dt.date | None = None
    open_reminders: tuple = ()
    first_reminder_date: dt.date | None = None
    default_date: dt.date | None = None
    has_pdf: bool = True
    open_case: str | None = None
    poa_signed: bool = True


@dataclass(frozen=True)
class Refusal:
    "One rule refusing one invoice, with the reason in words."
    number: str
    rule: str
    message: str

    def __str__(self):
        return f'{self.number}: [{self.rule}] {self.message}'


@dataclass
class _Claim:
    "The invoices of one debtor in one currency: one claim."
    facts: list = field(default_factory=list)

    @property
    def total(self):
        return sum((f.open_amount for f in self.facts), Decimal(0))


def age(birth_date, today):
    "Whole years between birth_date and today."
    years = today.year - birth_date.year
    if (today.month, today.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def _invoice_refusals(rules, facts, today):
    "The refusals of one invoice by the rules that look at it alone."
    refuse = []

    def no(rule, message):
        refuse.append(Refusal(facts.number, rule, message))

    if facts.open_case:
        no('open_case', f'already handed over in case {facts.open_case}')
    if rules.power_of_attorney and not facts.poa_signed:
        no('power_of_attorney', 'the power of attorney for the agency is not signed')
    if rules.currencies and facts.currency not in rules.currencies:
        no('currencies', f'the agency takes {", ".join(rules.currencies)}, '
            f'not {facts.currency}')
    if rules.creditor_countries and facts.creditor_country not in rules.creditor_countries:
        no('creditor_countries', f'the agency takes creditors from '
            f'{", ".join(rules.creditor_countries)}, not {facts.creditor_country or "unknown"}')
    if rules.debtor_countries and facts.debtor_country not in rules.debtor_countries:
        no('debtor_countries', f'the agency takes debtors from '
            f'{", ".join(rules.debtor_countries)}, not {facts.debtor_country or "unknown"}')
    if facts.debtor_type not in rules.debtor_types:
        no('debtor_types', f'the agency does not take {facts.debtor_type} debtors')
    if facts.insolvent:
        no('not_insolvent', 'the debtor is insolvent')
    if rules.min_debtor_age and facts.debtor_type == 'person':
        if facts.birth_date is None:
            no('min_debtor_age', f'the debtor must be {rules.min_debtor_age} or older '
                'and has no birth date')
        elif age(facts.birth_date, today) < rules.min_debtor_age:
            no('min_debtor_age', f'the debtor is under {rules.min_debtor_age}')
    if facts.disputed and rules.disputed == 'reject':
        no('disputed', f'the invoice is disputed or blocked: {facts.dispute_reason or "-"}')
    overdue = (today - facts.due_date).days
    if overdue < rules.min_days_overdue:
        no('min_days_overdue', f'{overdue} days overdue, the agency needs '
            f'{rules.min_days_overdue}')
    if rules.max_claim_age_days is not None and overdue > rules.max_claim_age_days:
        no('max_claim_age_days', f'{overdue} days overdue, older than the '
            f'{rules.max_claim_age_days} days the agency takes')
    if rules.notice_days is not None:
        if facts.notice_date is None:
            no('notice_sent', 'no handover notice was sent')
        elif (today - facts.notice_date).days < rules.notice_days:
            no('notice_sent', f'the handover notice of {facts.notice_date.isoformat()} '
                f'has run {(today - facts.notice_date).days} of {rules.notice_days} days')
    if rules.reminders_closed and facts.open_reminders:
        no('reminders_closed', 'open reminders must be closed first: '
            + ', '.join(facts.open_reminders))
    missing = []
    if not (facts.has_email or facts.has_address):
        missing.append('debtor.email|debtor.address')
    if rules.require_email and not facts.has_email:
        missing.append('debtor.email')
    if rules.require_address and not facts.has_address:
        missing.append('debtor.address')
    if rules.require_first_reminder_date and facts.first_reminder_date is None:
        missing.append('lines.first_reminder_date')
    if rules.require_default_date and facts.default_date is None:
        missing.append('lines.default_date')
    if missing:
        no('required_fields', 'missing ' + ', '.join(missing))
    if rules.invoice_pdf_required and not facts.has_pdf:
        no('invoice_pdf_required', 'the invoice has no PDF')
    return refuse


def _claim_refusals(rules, claim, currency):
    "The refusals of the invoices of one claim by the amount rules."
    refuse = []
    total = claim.total
    if rules.min_amount is not None and total < rules.min_amount:
        refuse.extend(
            Refusal(f.number, 'min_amount', f'the claim of {total} {currency} is below '
                f'the minimum of {rules.min_amount} {currency}') for f in claim.facts)
    if rules.max_amount is not None and total > rules.max_amount:
        refuse.extend(
            Refusal(f.number, 'max_amount', f'the claim of {total} {currency} is above '
                f'the maximum of {rules.max_amount} {currency}') for f in claim.facts)
    return refuse


def evaluate(rules, invoices, today):
    """Check every invoice; return {number: [Refusal, ...]} for all of them.

    The amount rules apply to each claim (the invoices of one debtor in one
    currency that pass the other rules), so an invoice refused for another
    reason does not count towards its claim.
    """
    result = {facts.number: _invoice_refusals(rules, facts, today) for facts in invoices}
    claims = defaultdict(_Claim)
    for facts in invoices:
        if not result[facts.number]:
            claims[(facts.debtor, facts.currency)].facts.append(facts)
    for (_, currency), claim in claims.items():
        for refusal in _claim_refusals(rules, claim, currency):
            result[refusal.number].append(refusal)
    return result
