"""The agency claim API contract as plain Python: money, claims, hashes, signatures, events.

Follows ``shared/specs/agency-claim-api.md``. No Tryton import, no I/O, no logging: the client,
the file format, the reference server and the Tryton models all validate through this module.
Validation answers a list of ``{path, code, message}`` dicts; type errors (code ``wrong_type``)
make a request ``400 malformed``, every other code ``422 validation_failed``.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from stdnum.dk import cvr as dk_cvr
from stdnum.no import orgnr as no_orgnr
from stdnum.se import orgnr as se_orgnr

# ---------------------------------------------------------------------------
# Reference tables

# ISO 4217 minor units of the active currencies (funds and metals without a minor unit left out).
_ZERO_DIGITS = 'BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF'
_THREE_DIGITS = 'BHD IQD JOD KWD LYD OMR TND'
_FOUR_DIGITS = 'CLF UYW'
_TWO_DIGITS = (
    'AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN '
    'BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP '
    'GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT '
    'LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN '
    'NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE '
    'SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES '
    'WST XCD XCG YER ZAR ZMW ZWG')
MINOR_UNITS = {
    **{c: 0 for c in _ZERO_DIGITS.split()},
    **{c: 2 for c in _TWO_DIGITS.split()},
    **{c: 3 for c in _THREE_DIGITS.split()},
    **{c: 4 for c in _FOUR_DIGITS.split()},
    }

COUNTRIES = frozenset((
    'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ '
    'BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM '
    'DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS '
    'GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN '
    'KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ '
    'MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM '
    'PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV '
    'SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI '
    'VN VU WF WS YE YT ZA ZM ZW').split())

LANGUAGES = frozenset((
    'aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy '
    'da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht '
    'hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky '
    'la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny '
    'oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss '
    'st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo '
    'za zh zu').split())

DEBTOR_TYPES = ('person', 'company')
DOCUMENT_KINDS = ('invoice', 'reminder', 'contract', 'correspondence', 'other')
DAY_COUNTS = ('act/365', 'act/360', '30E/360')
RECALL_REASONS = ('paid_directly', 'settled', 'disputed', 'error', 'other')
INLINE_CONTENT_KEYS = ('content', 'data', 'base64')
# Extra fields each side-claim type requires besides {type, amount, date}.
SIDE_CLAIM_FIELDS = {
    'reminder_fee': ('level', 'line_number'),
    'interest': (
        'rate', 'reference_rate_name', 'margin', 'from', 'to', 'day_count', 'basis',
        'line_number'),
    'compensation': ('line_number',),
    'other_cost': ('description',),
    }

# Error codes.  ``wrong_type`` is the one type error (400 malformed); the others are 422.
TYPE_ERROR = 'wrong_type'
REQUIRED = 'required'
TOO_LONG = 'too_long'
INVALID_FORMAT = 'invalid_format'
INVALID_VALUE = 'invalid_value'
NOT_UNIQUE = 'not_unique'
DATE_ORDER = 'date_order'
WRONG_DIGITS = 'wrong_digits'
TOO_MANY_DIGITS = 'too_many_digits'
NOT_POSITIVE = 'not_positive'
TOTAL_MISMATCH = 'total_mismatch'
DISPUTED_MISMATCH = 'disputed_mismatch'
INLINE_CONTENT = 'inline_content'
ADDRESS_OR_EMAIL_REQUIRED = 'address_or_email_required'
INVALID_REGISTRATION_NO = 'invalid_registration_no'
PERSONS_ONLY = 'persons_only'
IN_FUTURE = 'in_future'
DEBTOR_MINOR = 'debtor_minor'
DEBTOR_INSOLVENT = 'debtor_insolvent'
UNKNOWN_LINE = 'unknown_line'
UNKNOWN_DOCUMENT = 'unknown_document'
EXCEEDS_ORIGINAL = 'exceeds_original'
DUPLICATE_ID = 'duplicate_id'
SHA256_MISMATCH = 'sha256_mismatch'
SIZE_MISMATCH = 'size_mismatch'
AMOUNT_EXCEEDS_OPEN = 'amount_exceeds_open'

# ---------------------------------------------------------------------------
# Case lifecycle (section d)

STATES = (
    'draft', 'submitted', 'accepted', 'in_progress', 'installment_plan', 'paid',
    'partially_paid', 'uncollectible', 'recalled', 'closed', 'rejected')
OUTCOMES = ('paid', 'partially_paid', 'uncollectible', 'recalled')
TERMINAL_STATES = frozenset(OUTCOMES + ('closed', 'rejected'))
# States in which direct payments, credit notes, recalls and uploads are accepted.
OPEN_STATES = ('submitted', 'accepted', 'in_progress', 'installment_plan')
AGENCY_TRANSITIONS = {
    'submitted': frozenset({'accepted', 'rejected', 'recalled'}),
    'accepted': frozenset({
        'in_progress', 'installment_plan', 'paid', 'partially_paid', 'uncollectible',
        'recalled'}),
    'in_progress': frozenset({
        'installment_plan', 'paid', 'partially_paid', 'uncollectible', 'recalled'}),
    'installment_plan': frozenset({
        'in_progress', 'paid', 'partially_paid', 'uncollectible', 'recalled'}),
    'paid': frozenset({'closed'}),
    'partially_paid': frozenset({'closed'}),
    'uncollectible': frozenset({'closed'}),
    'recalled': frozenset({'closed'}),
    'rejected': frozenset(),
    'closed': frozenset(),
    }
# The ERP's own steps: a push returning 2xx submits, a 422 rejects; draft never reaches the agency.
ERP_TRANSITIONS = {'draft': frozenset({'submitted', 'rejected'})}
TRANSITIONS = {**ERP_TRANSITIONS, **AGENCY_TRANSITIONS}

EVENT_TYPES = (
    'case.accepted', 'case.rejected', 'case.status_changed', 'case.installment_plan',
    'payment.received', 'balance.changed', 'settlement.issued', 'debtor.disputed',
    'debtor.updated', 'document.added', 'case.recalled', 'case.closed')
# Keys each known event type carries in ``data``; unknown types are accepted as they are.
EVENT_DATA_FIELDS = {
    'case.accepted': ('agency_case_id',),
    'case.rejected': ('reason_code', 'errors'),
    'case.status_changed': ('status', 'status_reason'),
    'case.installment_plan': ('count', 'amount', 'first_due', 'frequency'),
    'payment.received': ('payment_id', 'date', 'amount', 'allocation'),
    'balance.changed': ('reason', 'reference_id', 'amount', 'balance'),
    'settlement.issued': (
        'settlement_id', 'date', 'remitted_amount', 'agency_fee', 'agency_fee_vat', 'lines'),
    'debtor.disputed': ('reason',),
    'document.added': ('document_id', 'kind', 'sha256'),
    'case.recalled': ('reason',),
    'case.closed': ('outcome',),
    }
# Outgoing update events of the file transport (section g).
UPDATE_EVENT_TYPES = ('direct_payment.reported', 'credit_note.reported', 'recall.requested')


def can_transition(source, target):
    "Whether a case may go from state source to state target (section d)."
    return target in TRANSITIONS.get(source, ())


def state_after_event(event_type, data):
    "The case state an event of that type and data moves the case to, or None."
    if event_type == 'case.status_changed':
        return data.get('status')
    return {
        'case.accepted': 'accepted',
        'case.rejected': 'rejected',
        'case.installment_plan': 'installment_plan',
        'case.recalled': 'recalled',
        'case.closed': 'closed',
        }.get(event_type)


# ---------------------------------------------------------------------------
# Money

_MONEY = re.compile(r'(0|[1-9][0-9]{0,14})(?:\.([0-9]+))?')
_DECIMAL = re.compile(r'-?[0-9]+(?:\.[0-9]+)?')


class MoneyError(ValueError):
    "A money string that breaks the contract, with its error code."

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def minor_digits(currency):
    "The ISO 4217 minor-unit digits of a currency code; KeyError when unknown."
    return MINOR_UNITS[currency]


def parse_money(text, currency):
    "The Decimal of a money string in currency; MoneyError with the spec's code otherwise."
    if not isinstance(text, str):
        raise MoneyError(TYPE_ERROR, "money must be a decimal string, not a JSON number")
    match = _MONEY.fullmatch(text)
    if not match:
        raise MoneyError(
            INVALID_FORMAT, f"{text!r} is not a money string (digits, '.', no sign)")
    if currency not in MINOR_UNITS:
        raise MoneyError(INVALID_VALUE, f"unknown currency {currency!r}")
    digits = MINOR_UNITS[currency]
    given = len(match.group(2) or '')
    if match.group(2) is not None and given > digits:
        raise MoneyError(
            TOO_MANY_DIGITS, f"{text!r} has more than {digits} decimals for {currency}")
    if given != digits:
        raise MoneyError(
            WRONG_DIGITS, f"{text!r} must have exactly {digits} decimals for {currency}")
    return Decimal(text)


def format_money(amount, currency):
    "The money string of a Decimal amount (>= 0, exact in the currency's minor unit)."
    digits = minor_digits(currency)
    amount = Decimal(amount)
    exponent = Decimal(1).scaleb(-digits)
    try:
        quantized = amount.quantize(exponent)
    except InvalidOperation:
        raise ValueError(f"{amount} is out of range") from None
    if quantized != amount:
        raise ValueError(f"{amount} is not exact in {currency} ({digits} decimals)")
    if quantized < 0:
        raise ValueError(f"{amount} is negative")
    if quantized == 0:
        quantized = abs(quantized)
    text = f'{quantized:f}'
    if not _MONEY.fullmatch(text):
        raise ValueError(f"{amount} is out of range")
    return text


@dataclass(frozen=True)
class Balance:
    "What the debtor still owes on a case, split as the agency allocates it."

    principal: Decimal = Decimal(0)
    costs: Decimal = Decimal(0)
    interest: Decimal = Decimal(0)

    @property
    def total(self):
        "The whole amount due."
        return self.principal + self.costs + self.interest

    def to_json(self, currency):
        "The balance object of the case view, as money strings."
        return {
            'principal': format_money(self.principal, currency),
            'costs': format_money(self.costs, currency),
            'interest': format_money(self.interest, currency),
            'total': format_money(self.total, currency),
            }

    @classmethod
    def from_json(cls, value, currency):
        "The Balance of a case-view balance object."
        return cls(
            principal=parse_money(value['principal'], currency),
            costs=parse_money(value['costs'], currency),
            interest=parse_money(value['interest'], currency))


@dataclass(frozen=True)
class Allocation:
    "How one payment was spread over costs, interest and principal."

    costs: Decimal = Decimal(0)
    interest: Decimal = Decimal(0)
    principal: Decimal = Decimal(0)

    def to_json(self, currency):
        "The allocation object of the contract, as money strings."
        return {
            'costs': format_money(self.costs, currency),
            'interest': format_money(self.interest, currency),
            'principal': format_money(self.principal, currency),
            }


def allocate(amount, balance):
    "Spread a payment costs, then interest, then principal: (Allocation, new Balance)."
    amount = Decimal(amount)
    if amount <= 0:
        raise ValueError("a payment must be positive")
    if amount > balance.total:
        raise ValueError(f"{amount} exceeds the open balance {balance.total}")
    costs = min(amount, balance.costs)
    interest = min(amount - costs, balance.interest)
    principal = amount - costs - interest
    allocation = Allocation(costs=costs, interest=interest, principal=principal)
    return allocation, Balance(
        principal=balance.principal - principal,
        costs=balance.costs - costs,
        interest=balance.interest - interest)


def claim_balance(claim):
    "The opening Balance of a valid claim: lines are principal, interest and costs its side claims."
    currency = claim['currency']
    principal = sum(
        (parse_money(line['open_amount'], currency) for line in claim['lines']), Decimal(0))
    interest = costs = Decimal(0)
    for side in claim.get('side_claims') or ():
        amount = parse_money(side['amount'], currency)
        if side['type'] == 'interest':
            interest += amount
        else:
            costs += amount
    return Balance(principal=principal, costs=costs, interest=interest)


# ---------------------------------------------------------------------------
# JSON

class JSONError(ValueError):
    "A body that is not strict contract JSON (UTF-8 without BOM, no duplicate keys, no NaN)."


def _no_duplicates(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise JSONError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constant(name):
    raise JSONError(f"{name} is not allowed")


def loads(data):
    "Parse a JSON body strictly; JSONError says what is wrong."
    if isinstance(data, str):
        data = data.encode('utf-8')
    if data.startswith(b'\xef\xbb\xbf'):
        raise JSONError("UTF-8 byte order mark is not allowed")
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as exception:
        raise JSONError(f"not UTF-8: {exception}") from None
    try:
        return json.loads(
            text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exception:
        raise JSONError(f"invalid JSON: {exception}") from None


def dumps(value):
    "The UTF-8 JSON bytes of a value as we send it (compact, non-ASCII unescaped)."
    return json.dumps(
        value, separators=(',', ':'), ensure_ascii=False, allow_nan=False).encode('utf-8')


def canonical_json(value):
    "The canonical JSON bytes the contract hashes: sorted keys, no whitespace, UTF-8."
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def payload_sha256(value):
    "The lower-case hex SHA-256 of a payload's canonical JSON (duplicate_claim comparison)."
    return hashlib.sha256(canonical_json(value)).hexdigest()


# ---------------------------------------------------------------------------
# Validation helpers

_DATE = re.compile(r'[0-9]{4}-[0-9]{2}-[0-9]{2}')
_TIMESTAMP = re.compile(
    r'[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?'
    r'(?:Z|[+-][0-9]{2}:[0-9]{2})')
_EMAIL = re.compile(r'[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)*\.[A-Za-z]{2,}')
_PHONE = re.compile(r'\+[1-9][0-9]{1,14}')
_VAT = re.compile(r'[A-Z]{2}[0-9A-Z+*.]{2,12}')
_SHA256 = re.compile(r'[0-9a-f]{64}')
_HRB = re.compile(r'HR[AB][0-9]{1,6}[A-Z]?')
_UUID4 = re.compile(
    r'[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}', re.IGNORECASE)


def error(path, code, message):
    "One field error of the contract's errors[] list."
    return {'path': path, 'code': code, 'message': message}


def is_malformed(errors):
    "Whether a list of errors holds a type error, so the answer is 400 malformed."
    return any(e['code'] == TYPE_ERROR for e in errors)


def is_uuid4(value):
    "Whether value is a uuid4 string, as the Idempotency-Key header must be."
    return isinstance(value, str) and bool(_UUID4.fullmatch(value))


def parse_date(text):
    "The date of a YYYY-MM-DD string that is a real calendar date; ValueError otherwise."
    if not isinstance(text, str) or not _DATE.fullmatch(text):
        raise ValueError(f"{text!r} is not a YYYY-MM-DD date")
    return date.fromisoformat(text)


def parse_timestamp(text):
    "The aware datetime of an RFC 3339 timestamp with offset; ValueError otherwise."
    if not isinstance(text, str) or not _TIMESTAMP.fullmatch(text):
        raise ValueError(f"{text!r} is not an RFC 3339 timestamp with offset")
    return datetime.fromisoformat(text.replace('Z', '+00:00'))


def check_registration_no(number, country):
    "Whether a debtor registration number is valid for its address country (unchecked: True)."
    compact = re.sub(r'[\s-]', '', number).upper()
    if country == 'DK':
        return dk_cvr.is_valid(compact[2:] if compact.startswith('DK') else compact)
    if country == 'NO':
        compact = compact[2:] if compact.startswith('NO') else compact
        compact = compact[:-3] if compact.endswith('MVA') else compact
        return no_orgnr.is_valid(compact)
    if country == 'SE':
        return se_orgnr.is_valid(compact[2:] if compact.startswith('SE') else compact)
    if country == 'DE':
        return bool(_HRB.fullmatch(compact))
    return True


def _age(birth_date, today):
    return today.year - birth_date.year - (
        (today.month, today.day) < (birth_date.month, birth_date.day))


class _Checker:
    "Collects field errors while reading a JSON payload."

    def __init__(self, currency=None):
        self.errors = []
        self.currency = currency

    def add(self, path, code, message):
        self.errors.append(error(path, code, message))

    def value(self, obj, key, path, types, type_name, required):
        value = obj.get(key) if isinstance(obj, dict) else None
        if value is None:
            if required:
                self.add(path, REQUIRED, "is required")
            return None
        if not isinstance(value, types) or (
                isinstance(value, bool) and bool not in types):
            self.add(path, TYPE_ERROR, f"must be {type_name}")
            return None
        return value

    def string(self, obj, key, path, required=True, max_length=None):
        value = self.value(obj, key, path, (str,), "a string", required)
        if value is None:
            return None
        if not value.strip():
            if required:
                self.add(path, REQUIRED, "must not be empty")
            return None
        if max_length is not None and len(value) > max_length:
            self.add(path, TOO_LONG, f"must be at most {max_length} characters")
            return None
        return value

    def choice(self, obj, key, path, choices, required=True, what=None):
        value = self.string(obj, key, path, required=required)
        if value is not None and value not in choices:
            self.add(path, INVALID_VALUE, what or f"must be one of {', '.join(choices)}")
            return None
        return value

    def pattern(self, obj, key, path, regex, what, required=True):
        value = self.string(obj, key, path, required=required)
        if value is not None and not regex.fullmatch(value):
            self.add(path, INVALID_FORMAT, f"must be {what}")
            return None
        return value

    def boolean(self, obj, key, path, required=True):
        return self.value(obj, key, path, (bool,), "true or false", required)

    def integer(self, obj, key, path, required=True, minimum=None):
        value = self.value(obj, key, path, (int,), "an integer", required)
        if value is not None and minimum is not None and value < minimum:
            self.add(path, INVALID_VALUE, f"must be at least {minimum}")
            return None
        return value

    def object(self, obj, key, path, required=True):
        return self.value(obj, key, path, (dict,), "an object", required)

    def array(self, obj, key, path, required=True):
        return self.value(obj, key, path, (list,), "an array", required)

    def date(self, obj, key, path, required=True):
        value = self.value(obj, key, path, (str,), "a YYYY-MM-DD string", required)
        if value is None:
            return None
        try:
            return parse_date(value)
        except ValueError:
            self.add(path, INVALID_FORMAT, "must be a real calendar date YYYY-MM-DD")
            return None

    def decimal(self, obj, key, path, required=True, minimum=None):
        value = self.value(obj, key, path, (str,), "a decimal string", required)
        if value is None:
            return None
        if not _DECIMAL.fullmatch(value):
            self.add(path, INVALID_FORMAT, "must be a decimal string such as '9.75'")
            return None
        number = Decimal(value)
        if minimum is not None and number < minimum:
            self.add(path, INVALID_VALUE, f"must be at least {minimum}")
            return None
        return number

    def money(self, obj, key, path, required=True, positive=True):
        value = obj.get(key) if isinstance(obj, dict) else None
        if value is None:
            if required:
                self.add(path, REQUIRED, "is required")
            return None
        if not isinstance(value, str):
            self.add(path, TYPE_ERROR, "money must be a decimal string, not a JSON number")
            return None
        if self.currency is None:
            # Without a valid currency only the shape can be checked.
            if not _MONEY.fullmatch(value):
                self.add(path, INVALID_FORMAT, f"{value!r} is not a money string")
            return None
        try:
            amount = parse_money(value, self.currency)
        except MoneyError as exception:
            self.add(path, exception.code, exception.message)
            return None
        if positive and amount <= 0:
            self.add(path, NOT_POSITIVE, "must be greater than zero")
            return None
        return amount


# ---------------------------------------------------------------------------
# Claim validation (section a)

def validate_claim(claim, today=None, min_debtor_age=None):
    "Every section (a) error of a claim payload as a list of {path, code, message}."
    today = today or date.today()
    if not isinstance(claim, dict):
        return [error('body', TYPE_ERROR, "the claim must be a JSON object")]
    check = _Checker()
    check.string(claim, 'external_id', 'external_id', max_length=64)
    check.string(claim, 'agency_case_id', 'agency_case_id', required=False)
    currency = claim.get('currency')
    if isinstance(currency, str) and currency in MINOR_UNITS:
        check.currency = currency
    else:
        check.choice(
            claim, 'currency', 'currency', MINOR_UNITS, what="must be an ISO 4217 currency code")
    check.string(claim, 'reason', 'reason', max_length=255)
    check.string(claim, 'notes', 'notes', required=False, max_length=2000)
    check.date(claim, 'contract_date', 'contract_date', required=False)
    _validate_creditor(check, claim)
    _validate_debtor(check, claim, today, min_debtor_age)
    document_ids = _validate_documents(check, claim)
    line_totals, any_disputed = _validate_lines(check, claim, document_ids)
    side_total = _validate_side_claims(check, claim, set(line_totals['numbers']))
    total = check.money(claim, 'total_open', 'total_open')
    disputed = check.boolean(claim, 'disputed', 'disputed')
    if disputed is not None and any_disputed is not None and disputed != any_disputed:
        check.add(
            'disputed', DISPUTED_MISMATCH,
            "must be true exactly when a line is disputed")
    if total is not None and line_totals['sum'] is not None and side_total is not None:
        expected = line_totals['sum'] + side_total
        if total != expected:
            check.add(
                'total_open', TOTAL_MISMATCH,
                f"is {total} but the lines and side claims add up to {expected}")
    return check.errors


_COUNTRY = "must be an ISO 3166-1 alpha-2 country code such as 'DK'"


def _validate_creditor(check, claim):
    creditor = check.object(claim, 'creditor', 'creditor')
    if creditor is None:
        return
    for key in ('id', 'name', 'registration_no'):
        check.string(creditor, key, f'creditor.{key}')
    check.pattern(
        creditor, 'vat_id', 'creditor.vat_id', _VAT,
        "an EU VAT number: 2-letter prefix and 2-12 of 0-9 A-Z + * .")
    check.choice(creditor, 'country', 'creditor.country', COUNTRIES, what=_COUNTRY)


def _validate_debtor(check, claim, today, min_debtor_age):
    debtor = check.object(claim, 'debtor', 'debtor')
    if debtor is None:
        return
    kind = check.choice(debtor, 'type', 'debtor.type', DEBTOR_TYPES)
    if kind == 'person':
        check.string(debtor, 'first_name', 'debtor.first_name')
        check.string(debtor, 'last_name', 'debtor.last_name')
    elif kind == 'company':
        check.string(debtor, 'name', 'debtor.name')
        check.string(debtor, 'person_name', 'debtor.person_name', required=False)
    address = check.object(debtor, 'address', 'debtor.address', required=False)
    country = None
    if address is not None:
        for key in ('street', 'postal_code', 'city'):
            check.string(address, key, f'debtor.address.{key}')
        for key in ('house_no', 'extra'):
            check.string(address, key, f'debtor.address.{key}', required=False)
        country = check.choice(
            address, 'country', 'debtor.address.country', COUNTRIES, what=_COUNTRY)
    check.pattern(
        debtor, 'email', 'debtor.email', _EMAIL, "an e-mail address local@domain.tld",
        required=False)
    given_email = debtor.get('email')
    if debtor.get('address') is None and not (
            isinstance(given_email, str) and given_email.strip()):
        check.add('debtor', ADDRESS_OR_EMAIL_REQUIRED, "needs an address or an e-mail")
    for key in ('phone', 'mobile'):
        check.pattern(
            debtor, key, f'debtor.{key}', _PHONE, "an E.164 number such as +4520123456",
            required=False)
    registration_no = check.string(
        debtor, 'registration_no', 'debtor.registration_no', required=False)
    if registration_no is not None and not check_registration_no(registration_no, country):
        check.add(
            'debtor.registration_no', INVALID_REGISTRATION_NO,
            f"is not a valid registration number for {country}")
    check.pattern(
        debtor, 'vat_id', 'debtor.vat_id', _VAT,
        "an EU VAT number: 2-letter prefix and 2-12 of 0-9 A-Z + * .", required=False)
    birth_date = check.date(debtor, 'birth_date', 'debtor.birth_date', required=False)
    if birth_date is not None:
        if kind == 'company':
            check.add('debtor.birth_date', PERSONS_ONLY, "only a person has a birth date")
        elif birth_date > today:
            check.add('debtor.birth_date', IN_FUTURE, "must not be in the future")
        elif min_debtor_age and _age(birth_date, today) < min_debtor_age:
            check.add(
                'debtor.birth_date', DEBTOR_MINOR,
                f"Debtor must be {min_debtor_age} or older")
    check.choice(
        debtor, 'language', 'debtor.language', LANGUAGES,
        what="must be an ISO 639-1 language code such as 'da'")
    check.string(debtor, 'customer_no', 'debtor.customer_no')
    if check.boolean(debtor, 'insolvent', 'debtor.insolvent', required=False):
        check.add(
            'debtor.insolvent', DEBTOR_INSOLVENT,
            "an insolvent debtor cannot be handed over")


def _validate_documents(check, claim):
    documents = check.array(claim, 'documents', 'documents', required=False) or []
    ids = set()
    for i, document in enumerate(documents):
        path = f'documents[{i}]'
        if not isinstance(document, dict):
            check.add(path, TYPE_ERROR, "must be an object")
            continue
        for key in INLINE_CONTENT_KEYS:
            if document.get(key) is not None:
                check.add(
                    f'{path}.{key}', INLINE_CONTENT,
                    "file content is never inline: upload the PDF afterwards")
        doc_id = check.string(document, 'id', f'{path}.id')
        if doc_id is not None:
            if doc_id in ids:
                check.add(f'{path}.id', NOT_UNIQUE, f"document id {doc_id!r} is used twice")
            ids.add(doc_id)
        check.choice(document, 'kind', f'{path}.kind', DOCUMENT_KINDS)
        check.string(document, 'filename', f'{path}.filename')
        check.pattern(
            document, 'sha256', f'{path}.sha256', _SHA256, "64 lower-case hex digits")
        check.integer(document, 'size', f'{path}.size', minimum=1)
        check.choice(document, 'content_type', f'{path}.content_type', ('application/pdf',))
    return ids


def _validate_lines(check, claim, document_ids):
    lines = check.array(claim, 'lines', 'lines')
    totals = {'sum': Decimal(0), 'numbers': []}
    if lines is None:
        totals['sum'] = None
        return totals, None
    if not lines:
        check.add('lines', REQUIRED, "needs at least one line")
    any_disputed = False
    for i, line in enumerate(lines):
        path = f'lines[{i}]'
        if not isinstance(line, dict):
            check.add(path, TYPE_ERROR, "must be an object")
            totals['sum'] = None
            any_disputed = None
            continue
        number = check.string(line, 'number', f'{path}.number')
        if number is not None:
            if number in totals['numbers']:
                check.add(f'{path}.number', NOT_UNIQUE, f"line number {number!r} is used twice")
            totals['numbers'].append(number)
        invoice_date = check.date(line, 'invoice_date', f'{path}.invoice_date')
        due_date = check.date(line, 'due_date', f'{path}.due_date')
        if invoice_date and due_date and due_date < invoice_date:
            check.add(f'{path}.due_date', DATE_ORDER, "must not be before the invoice date")
        original = check.money(line, 'original_amount', f'{path}.original_amount')
        open_amount = check.money(line, 'open_amount', f'{path}.open_amount')
        if open_amount is None:
            totals['sum'] = None
        elif totals['sum'] is not None:
            totals['sum'] += open_amount
        if original is not None and open_amount is not None and open_amount > original:
            check.add(
                f'{path}.open_amount', EXCEEDS_ORIGINAL,
                "must not exceed the original amount")
        reminder = check.date(line, 'first_reminder_date', f'{path}.first_reminder_date',
            required=False)
        if reminder and due_date and reminder <= due_date:
            check.add(
                f'{path}.first_reminder_date', DATE_ORDER, "must be after the due date")
        check.date(line, 'default_date', f'{path}.default_date', required=False)
        disputed = check.boolean(line, 'disputed', f'{path}.disputed')
        if disputed is None:
            any_disputed = None
        elif any_disputed is not None:
            any_disputed = any_disputed or disputed
        check.string(line, 'dispute_reason', f'{path}.dispute_reason', required=bool(disputed))
        document_id = check.string(line, 'document_id', f'{path}.document_id', required=False)
        if document_id is not None and document_id not in document_ids:
            check.add(
                f'{path}.document_id', UNKNOWN_DOCUMENT,
                f"{document_id!r} is not in documents[]")
    return totals, any_disputed


def _validate_side_claims(check, claim, line_numbers):
    sides = check.array(claim, 'side_claims', 'side_claims', required=False)
    total = Decimal(0)
    for i, side in enumerate(sides or []):
        path = f'side_claims[{i}]'
        if not isinstance(side, dict):
            check.add(path, TYPE_ERROR, "must be an object")
            total = None
            continue
        kind = check.choice(side, 'type', f'{path}.type', tuple(SIDE_CLAIM_FIELDS))
        amount = check.money(side, 'amount', f'{path}.amount')
        if amount is None:
            total = None
        elif total is not None:
            total += amount
        check.date(side, 'date', f'{path}.date')
        if kind is None:
            continue
        needed = SIDE_CLAIM_FIELDS[kind]
        if 'line_number' in needed:
            number = check.string(side, 'line_number', f'{path}.line_number')
            if number is not None and number not in line_numbers:
                check.add(
                    f'{path}.line_number', UNKNOWN_LINE, f"{number!r} is not a line of the claim")
        if 'level' in needed:
            check.integer(side, 'level', f'{path}.level', minimum=1)
        if 'description' in needed:
            check.string(side, 'description', f'{path}.description')
        if kind == 'interest':
            check.decimal(side, 'rate', f'{path}.rate', minimum=0)
            check.string(side, 'reference_rate_name', f'{path}.reference_rate_name')
            check.decimal(side, 'margin', f'{path}.margin')
            start = check.date(side, 'from', f'{path}.from')
            end = check.date(side, 'to', f'{path}.to')
            if start and end and end < start:
                check.add(f'{path}.to', DATE_ORDER, "must not be before from")
            check.choice(side, 'day_count', f'{path}.day_count', DAY_COUNTS)
            check.money(side, 'basis', f'{path}.basis')
    if sides is None and claim.get('side_claims') is not None:
        return None
    return total


# ---------------------------------------------------------------------------
# Reports on a case (direct payments, credit notes, recalls, documents)

def validate_payment(payment, currency, line_numbers, known_ids=()):
    "Every body error of a direct payment {id, date, amount, line_number?, method, reference}."
    if not isinstance(payment, dict):
        return [error('body', TYPE_ERROR, "the payment must be a JSON object")]
    check = _Checker(currency if currency in MINOR_UNITS else None)
    _report_id(check, payment, known_ids)
    check.date(payment, 'date', 'date')
    check.money(payment, 'amount', 'amount')
    number = check.string(payment, 'line_number', 'line_number', required=False)
    if number is not None and number not in line_numbers:
        check.add('line_number', UNKNOWN_LINE, f"{number!r} is not a line of the claim")
    check.string(payment, 'method', 'method')
    check.string(payment, 'reference', 'reference')
    return check.errors


def validate_credit_note(credit_note, currency, line_numbers, known_ids=()):
    "Every body error of a credit-note report {id, number, date, amount, line_number, reason}."
    if not isinstance(credit_note, dict):
        return [error('body', TYPE_ERROR, "the credit note must be a JSON object")]
    check = _Checker(currency if currency in MINOR_UNITS else None)
    _report_id(check, credit_note, known_ids)
    check.string(credit_note, 'number', 'number')
    check.date(credit_note, 'date', 'date')
    check.money(credit_note, 'amount', 'amount')
    number = check.string(credit_note, 'line_number', 'line_number')
    if number is not None and number not in line_numbers:
        check.add('line_number', UNKNOWN_LINE, f"{number!r} is not a line of the claim")
    check.string(credit_note, 'reason', 'reason')
    return check.errors


def _report_id(check, report, known_ids):
    report_id = check.string(report, 'id', 'id')
    if report_id is not None and report_id in known_ids:
        check.add('id', DUPLICATE_ID, f"{report_id!r} was already reported on this case")


def validate_recall(recall):
    "Every body error of a recall request {reason, note?}."
    if not isinstance(recall, dict):
        return [error('body', TYPE_ERROR, "the recall must be a JSON object")]
    check = _Checker()
    check.choice(recall, 'reason', 'reason', RECALL_REASONS)
    check.string(recall, 'note', 'note', required=False)
    return check.errors


def validate_document_meta(meta, content=None, listed=None):
    "Every error of an upload's meta {id, kind, filename, sha256?, size?} against the file bytes."
    if not isinstance(meta, dict):
        return [error('meta', TYPE_ERROR, "meta must be a JSON object")]
    check = _Checker()
    check.string(meta, 'id', 'meta.id')
    check.choice(meta, 'kind', 'meta.kind', DOCUMENT_KINDS)
    check.string(meta, 'filename', 'meta.filename')
    sha256 = check.pattern(
        meta, 'sha256', 'meta.sha256', _SHA256, "64 lower-case hex digits", required=False)
    size = check.integer(meta, 'size', 'meta.size', required=False, minimum=1)
    if content is not None:
        actual = hashlib.sha256(content).hexdigest()
        if sha256 is not None and sha256 != actual:
            check.add('meta.sha256', SHA256_MISMATCH, "does not match the file")
        if size is not None and size != len(content):
            check.add('meta.size', SIZE_MISMATCH, f"the file has {len(content)} bytes")
        if listed is not None and listed.get('sha256') != actual:
            check.add(
                'file', SHA256_MISMATCH,
                "does not match the sha256 listed in the claim's documents[]")
    return check.errors


# ---------------------------------------------------------------------------
# Webhook signatures

class SignatureError(ValueError):
    "A webhook whose X-Signature is missing, malformed, stale or does not match."


def signature(secret, body, timestamp):
    "The lower-case hex HMAC-SHA256 of '<t>.<raw body>' keyed by the secret's UTF-8 bytes."
    if isinstance(body, str):
        body = body.encode('utf-8')
    message = str(int(timestamp)).encode('ascii') + b'.' + body
    return hmac.new(secret.encode('utf-8'), message, hashlib.sha256).hexdigest()


def sign(secret, body, timestamp):
    "The X-Signature header value 't=<unix>,v1=<hex>' for a webhook body."
    return f't={int(timestamp)},v1={signature(secret, body, timestamp)}'


def verify(secrets, body, header, now, tolerance=300):
    "Check an X-Signature against one or more secrets; the signed unix time, else SignatureError."
    if isinstance(secrets, str):
        secrets = [secrets]
    secrets = [s for s in secrets if s]
    if not secrets:
        raise SignatureError("no webhook secret is configured")
    if not header:
        raise SignatureError("the X-Signature header is missing")
    timestamp, candidates = None, []
    for part in header.split(','):
        key, _, value = part.strip().partition('=')
        if key == 't' and value.isdigit():
            timestamp = int(value)
        elif key == 'v1':
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError("X-Signature must be 't=<unix>,v1=<hex>'")
    if abs(int(now) - timestamp) > tolerance:
        raise SignatureError(f"the signature time is more than {tolerance} s from now")
    for secret in secrets:
        expected = signature(secret, body, timestamp)
        if any(hmac.compare_digest(expected, c) for c in candidates):
            return timestamp
    raise SignatureError("the signature does not match")


# ---------------------------------------------------------------------------
# Events

class EventError(ValueError):
    "An event envelope that breaks the contract, naming the field."

    def __init__(self, path, message):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Event:
    "One case event of the feed, a webhook or an events file (dedupe by id is the caller's)."

    id: str
    sequence: int
    type: str
    occurred_at: datetime
    external_id: str
    agency_case_id: str | None
    data: dict = field(default_factory=dict)
    raw: dict | None = field(default=None, compare=False, repr=False)

    @property
    def known(self):
        "Whether the event type is one of the contract's (unknown types are stored and ignored)."
        return self.type in EVENT_TYPES

    @property
    def state(self):
        "The case state this event moves the case to, or None."
        return state_after_event(self.type, self.data)

    def to_json(self):
        "The envelope as a JSON object."
        return {
            'id': self.id, 'sequence': self.sequence, 'type': self.type,
            'occurred_at': self.occurred_at.isoformat(), 'external_id': self.external_id,
            'agency_case_id': self.agency_case_id, 'data': self.data,
            }


def parse_event(envelope):
    "The Event of an envelope (a dict, or raw JSON bytes); EventError naming the field."
    if isinstance(envelope, (bytes, str)):
        try:
            envelope = loads(envelope)
        except JSONError as exception:
            raise EventError('body', str(exception)) from None
    if not isinstance(envelope, dict):
        raise EventError('body', "an event must be a JSON object")

    def required(key, types, what):
        "The envelope's value at key, present and of the given JSON type."
        value = envelope.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise EventError(key, "is required")
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise EventError(key, f"must be {what}")
        return value

    event_id = required('id', (str,), "a string")
    sequence = required('sequence', (int,), "an integer")
    if sequence < 1:
        raise EventError('sequence', "must be at least 1")
    event_type = required('type', (str,), "a string")
    try:
        occurred_at = parse_timestamp(required('occurred_at', (str,), "a string"))
    except ValueError as exception:
        raise EventError('occurred_at', str(exception)) from None
    external_id = required('external_id', (str,), "a string")
    agency_case_id = envelope.get('agency_case_id')
    if agency_case_id is not None and not isinstance(agency_case_id, str):
        raise EventError('agency_case_id', "must be a string")
    data = envelope.get('data')
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise EventError('data', "must be an object")
    for key in EVENT_DATA_FIELDS.get(event_type, ()):
        if key not in data:
            raise EventError(f'data.{key}', f"is required for {event_type}")
    if event_type == 'case.status_changed' and data['status'] not in STATES:
        raise EventError('data.status', f"unknown status {data['status']!r}")
    return Event(
        id=event_id, sequence=sequence, type=event_type, occurred_at=occurred_at,
        external_id=external_id, agency_case_id=agency_case_id, data=data, raw=envelope)


def make_event(event_id, sequence, event_type, occurred_at, external_id, data,
        agency_case_id=None):
    "An event envelope dict (occurred_at an aware datetime)."
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at needs a time zone offset")
    return {
        'id': event_id, 'sequence': sequence, 'type': event_type,
        'occurred_at': occurred_at.isoformat(timespec='seconds'),
        'external_id': external_id, 'agency_case_id': agency_case_id, 'data': data,
        }
