"""Deterministic demo data for the receivable collection add-on (Tryton 8.0).

Call :func:`create_demo_data` inside an already started Tryton transaction::

    with Transaction().start(dbname, 0, context={}) as transaction:
        summary = create_demo_data(datetime.date.today())
        transaction.commit()

Everything is created through the trytond ORM on stock models: currencies,
two companies (Denmark/DKK and Germany/EUR) with charts of accounts, fiscal
years, payment terms, a dunning procedure, customers with bank accounts and
about a thousand posted customer invoices spread over the dunning stages,
with partial payments, full payments, credit notes and one disputed invoice.
The Danish company also gets a Nets Betalingsservice agreement, customers with
active mandates and the validated collection journal ``DEMO-NETS``.
"""
from __future__ import annotations

import datetime as dt
import random
import re
import time
import unicodedata
from collections import Counter, defaultdict
from contextlib import contextmanager
from decimal import Decimal

from faker import Faker
from stdnum import bic, iban, luhn
from stdnum.de import vat as de_vat
from stdnum.dk import cvr
from stdnum.eu import vat as eu_vat
from stdnum.iso7064 import mod_11_10
from stdnum.se import orgnr
from trytond.pool import Pool
from trytond.transaction import Transaction

DK_COMPANY_NAME = 'Nordisk Demo ApS'
DE_COMPANY_NAME = 'Deutsche Demo GmbH'
CUSTOMER_CATEGORY = 'Demo customer'
DISPUTE_COMMENT = 'Disputed: customer claims service not delivered'
# Tryton >= 6.8 stores the Danish CVR as 'dk_vat' (stdnum.dk.vat is stdnum.dk.cvr);
# 'dk_cvr' is migrated to it and is no longer a selectable identifier type.
DK_CVR_TYPE = 'dk_vat'
# bank.account.number's exclusion check: "parser stack overflow" at 100 on SQLite
BANK_CHUNK = 25
CHUNK = 100  # SQLite: larger creates fail with "Expression tree is too large"

# Rates against EUR (base 1), dated well before the oldest invoice
RATES = {'EUR': Decimal(1), 'DKK': Decimal('7.46'), 'SEK': Decimal('11.2')}
COUNTRIES = {
    'DK': ('Denmark', 'DNK', '208'),
    'DE': ('Germany', 'DEU', '276'),
    'SE': ('Sweden', 'SWE', '752'),
    }
CURRENCIES = {
    'DKK': ('Danish Krone', 'kr', '208'),
    'EUR': ('Euro', '€', '978'),
    'SEK': ('Swedish Krona', 'kr', '752'),
    }
# name: (BIC, country, domestic bank codes: DK reg. no., DE BLZ, SE clearing)
BANKS = {
    'Danske Bank': ('DABADKKK', 'DK', ('3001', '3409', '4180', '4310')),
    'Nordea': ('NDEADKKK', 'DK', ('2191', '2200', '2670', '2904')),
    'Deutsche Bank': ('DEUTDEFF', 'DE', ('50070010',)),
    'Sparkasse': ('COLSDE33', 'DE', ('37050198',)),
    'Handelsbanken': ('HANDSESS', 'SE', ('600',)),
    }
COMPANIES = (
    {
        'key': 'dk', 'name': DK_COMPANY_NAME, 'country': 'DK', 'currency': 'DKK',
        'timezone': 'Europe/Copenhagen', 'street': 'Vesterbrogade', 'number': '149',
        'postal_code': '1620', 'city': 'København V', 'phone': '+45 33 12 34 56',
        'email': 'bogholderi@nordisk-demo.example.com',
        'website': 'https://nordisk-demo.example.com', 'bank': 'Danske Bank',
        'prefix': 'NDK', 'tax': ('Moms 25%', Decimal('0.25')), 'lang': None,
        'share': Decimal('0.6'),
        },
    {
        'key': 'de', 'name': DE_COMPANY_NAME, 'country': 'DE', 'currency': 'EUR',
        'timezone': 'Europe/Berlin', 'street': 'Friedrichstraße', 'number': '68',
        'postal_code': '10117', 'city': 'Berlin', 'phone': '+49 30 2345 6789',
        'email': 'buchhaltung@deutsche-demo.example.com',
        'website': 'https://deutsche-demo.example.com', 'bank': 'Deutsche Bank',
        'prefix': 'DDE', 'tax': ('USt 19%', Decimal('0.19')), 'lang': 'de',
        'share': Decimal('0.4'),
        },
    )
# key: (name, unit xml id, list price per company currency, price choices,
#       quantity range)
PRODUCTS = {
    'consulting': (
        'Consulting hour', 'uom_hour', {'DKK': '1150', 'EUR': '150'},
        {'DKK': ('995', '1150', '1250', '1395'), 'EUR': ('135', '150', '165', '185'),
            'SEK': ('1450', '1650')},
        (1, 40)),
    'subscription': (
        'Software subscription', 'uom_unit', {'DKK': '1495', 'EUR': '199'},
        {'DKK': ('495', '1495', '2995'), 'EUR': ('69', '199', '399'),
            'SEK': ('690', '2090')},
        (1, 12)),
    }
# name, min days overdue (None: -payment term), max (None: open-ended), weight
STAGES = (
    ('not_due', None, 0, 30),
    ('overdue_1_7', 1, 7, 15),
    ('overdue_21_24', 21, 24, 12),
    ('overdue_35_48', 35, 48, 15),
    ('overdue_49_62', 49, 62, 12),
    ('overdue_63_plus', 63, None, 16),
    )
SUMMARY_BUCKETS = (
    ('not_due', 0), ('overdue_1_7', 7), ('overdue_8_20', 20), ('overdue_21_24', 24),
    ('overdue_25_34', 34), ('overdue_35_48', 48), ('overdue_49_62', 62),
    ('overdue_63_plus', None),
    )
DUNNING_LEVELS = (7, 21, 35, 49)
MAX_OVERDUE = 400
# The Nets Betalingsservice demo: agreement numbers (8-digit PBS number,
# 5-digit debtor group), customers with a mandate and the collection journal
NETS_JOURNAL = 'DEMO-NETS'
NETS_AGREEMENT = 'Nets Betalingsservice'
NETS_CREDITOR_NUMBER = '04711234'
NETS_DEBTOR_GROUP = '00001'
NETS_CUSTOMERS = 20
NETS_LEAD_DAYS = 7  # the collection date: this many days after today


class _Customer:
    """A created customer: party/address ids, country, currency, company, term."""
    __slots__ = ('party', 'address', 'country', 'currency', 'company', 'term_days')

    def __init__(self, **values):
        for name in self.__slots__:
            setattr(self, name, values[name])


class _Plan:
    """A planned customer invoice (or credit note) and what happens to it."""
    __slots__ = (
        'index', 'company', 'customer', 'stage', 'invoice_date', 'lines', 'action',
        'invoice')

    def __init__(self, **values):
        for name in self.__slots__:
            setattr(self, name, values.get(name))


def create_demo_data(
        today: dt.date, seed: int = 8000, customers: int = 200, invoices: int = 1000,
        log=print) -> dict:
    """Create the demo data once (idempotent) and return a summary of counts."""
    transaction = Transaction()
    with transaction.set_user(0):
        existing = _demo_companies()
        if existing:
            created = False
            if not _nets_journal():
                # a demo database from before the Nets demo
                with transaction.set_context(_skip_warnings=True), _lock_on_demand():
                    create_nets_demo(today, log)
                created = True
            else:
                log('Demo data already present: nothing created')
            summary = _summary(existing, today)
            summary['created'] = created
            return summary
        with transaction.set_context(_skip_warnings=True), _lock_on_demand():
            companies = _generate(today, seed, customers, invoices, log)
        summary = _summary(companies, today)
    summary['created'] = True
    return summary


def _generate(today, seed, customers, invoices, log):
    """Run every generation step in order and return the demo companies."""
    started = time.monotonic()

    def step(message):
        log('%6.1fs %s' % (time.monotonic() - started, message))

    rng = random.Random(seed)
    fakers = {loc: _faker(loc, seed) for loc in ('da_DK', 'de_DE', 'sv_SE')}
    queue_mark = _queue_mark()
    refs = _create_base(today, rng, log)
    step('base setup done (currencies, companies, charts, fiscal years)')
    custs = _create_customers(rng, fakers, customers, refs)
    step('%d customers created' % len(custs))
    plans = _plan_invoices(rng, custs, invoices, today, refs)
    _create_invoices(plans, refs)
    step('%d invoices created' % len(plans))
    _post_invoices(plans, refs)
    step('invoices posted')
    _create_credit_notes(rng, plans, custs, invoices, today, refs)
    step('credit notes posted')
    _pay_invoices(rng, plans, today, refs)
    step('payments registered')
    _dispute_invoice(plans, refs)
    create_nets_demo(today, step)
    _drop_queued_tasks(queue_mark)
    step('demo data created')
    return list(refs['companies'].values())


# --- helpers -------------------------------------------------------------

def _faker(locale, seed):
    """Return a Faker instance for locale seeded independently of the global one."""
    fake = Faker(locale)
    fake.seed_instance(seed)
    return fake


def _chunks(items, size=CHUNK):
    """Yield successive slices of items of at most size elements."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _create(model, values, size=CHUNK):
    """Create records of model from values in chunks and return them."""
    records = []
    for chunk in _chunks(values, size):
        records.extend(model.create(chunk))
    return records


def _slug(text, sep='-'):
    """Return an ASCII lower-case slug of text (æ→ae, ø→oe, ß→ss ...)."""
    text = text.lower()
    for src, dst in (('æ', 'ae'), ('ø', 'oe'), ('å', 'aa'), ('ß', 'ss'),
            ('ä', 'ae'), ('ö', 'oe'), ('ü', 'ue'), ('&', ' og ')):
        text = text.replace(src, dst)
    text = unicodedata.normalize('NFKD', text).encode('ascii', 'ignore').decode()
    return re.sub(r'[^a-z0-9]+', sep, text).strip(sep)


def _money(value):
    """Return value as a Decimal with two digits."""
    return Decimal(value).quantize(Decimal('0.01'))


def _demo_companies():
    """Return the demo companies if the demo data already exists."""
    Company = Pool().get('company.company')
    return Company.search(
        [('party.name', 'in', [DK_COMPANY_NAME, DE_COMPANY_NAME])],
        order=[('id', 'ASC')])


@contextmanager
def _lock_on_demand():
    """Lock tables/records when the ORM asks, as trytond-admin does.

    Outside the RPC layer ``lock_table``/``lock_records`` raise
    ``_TransactionLockError`` (meant to restart the transaction with the lock
    taken eagerly); a caller-owned transaction cannot be restarted, so lock
    directly for the duration of the call.
    """
    transaction = Transaction()
    database, connection = transaction.database, transaction.connection
    saved = {
        name: transaction.__dict__[name]
        for name in ('lock_table', 'lock_records') if name in transaction.__dict__}
    transaction.lock_table = lambda table: database.lock(connection, table)
    transaction.lock_records = (
        lambda table, ids: database.lock_records(connection, table, ids))
    try:
        yield
    finally:
        for name in ('lock_table', 'lock_records'):
            if name in saved:
                setattr(transaction, name, saved[name])
            else:
                delattr(transaction, name)


def _queue_mark():
    """Return the highest ir.queue id, to drop the tasks pushed afterwards."""
    Queue = Pool().get('ir.queue')
    last = Queue.search([], order=[('id', 'DESC')], limit=1)
    return last[0].id if last else 0


def _drop_queued_tasks(mark):
    """Delete queue tasks pushed by posting (report printing, processing).

    Without a worker they would only run inside an RPC request; processing
    was already done synchronously and the invoice reports are rendered on
    demand anyway.
    """
    Queue = Pool().get('ir.queue')
    tasks = [
        t for t in Queue.search([('id', '>', mark)])
        if (t.data or {}).get('model') == 'account.invoice'
        and (t.data or {}).get('method') in {'print_invoice', 'process'}]
    ids = {t.id for t in tasks}
    Queue.delete(tasks)
    transaction = Transaction()
    transaction.tasks[:] = [t for t in transaction.tasks if t not in ids]


# --- valid identifiers ---------------------------------------------------

def _digits(rng, count, first_nonzero=True):
    """Return a string of random digits."""
    first = str(rng.randint(1 if first_nonzero else 0, 9))
    return first + ''.join(str(rng.randint(0, 9)) for _ in range(count - 1))


def make_cvr(rng):
    """Return a random Danish CVR number that passes stdnum.dk.cvr."""
    weights = (2, 7, 6, 5, 4, 3, 2)
    while True:
        base = _digits(rng, 7)
        check = -sum(w * int(d) for w, d in zip(weights, base)) % 11
        if check < 10:
            number = base + str(check)
            assert cvr.is_valid(number), number
            return number


def make_de_vat(rng):
    """Return a random German USt-IdNr (DE + 9 digits) passing stdnum."""
    base = _digits(rng, 8)
    number = 'DE' + base + mod_11_10.calc_check_digit(base)
    assert de_vat.is_valid(number) and eu_vat.is_valid(number), number
    return number


def make_se_vat(rng):
    """Return a random Swedish VAT number (SE + org. no. + 01) passing stdnum."""
    base = '55' + _digits(rng, 7, first_nonzero=False)
    number = base + luhn.calc_check_digit(base)
    assert orgnr.is_valid(number), number
    vat = 'SE' + number + '01'
    assert eu_vat.is_valid(vat), vat
    return vat


def make_iban(rng, country, bank_code):
    """Return a formatted IBAN for country/bank code that passes stdnum.iban."""
    length = {'DK': 10, 'DE': 10, 'SE': 17}[country]
    bban = bank_code + _digits(rng, length, first_nonzero=False)
    number = country + iban.calc_check_digits(country + '00' + bban) + bban
    assert iban.is_valid(number), number
    return iban.format(number)


def _phone(rng, country):
    """Return a realistic phone number for country."""
    if country == 'DK':
        digits = _digits(rng, 8)
        return '+45 ' + ' '.join(digits[i:i + 2] for i in range(0, 8, 2))
    if country == 'SE':
        return '+46 8 %s %s' % (_digits(rng, 3), _digits(rng, 4))
    area = rng.choice(('30', '40', '69', '89', '221', '211', '711', '351'))
    return '+49 %s %s' % (area, _digits(rng, 7))


# --- base setup ----------------------------------------------------------

def _create_base(today, rng, log):
    """Create currencies, companies, charts, fiscal years and configuration."""
    refs = {}
    refs['countries'] = _ensure_countries()
    refs['currencies'] = _ensure_currencies(today)
    refs['banks'] = _create_banks(refs)
    refs['terms'] = _create_payment_terms()
    refs['procedure'] = _create_dunning_procedure()
    refs['category'] = _create_customer_category()
    refs['companies'], employees = {}, {}
    refs['accounts'], refs['taxes'], refs['methods'] = {}, {}, {}
    refs['specs'] = {spec['key']: spec for spec in COMPANIES}
    for spec in COMPANIES:
        company, employee = _create_company(spec, rng, refs)
        refs['companies'][spec['key']] = company
        employees[spec['key']] = employee
    _setup_admin_user(refs['companies'], employees)
    for key, company in refs['companies'].items():
        spec = refs['specs'][key]
        with Transaction().set_context(company=company.id):
            refs['accounts'][key] = _create_chart(company)
            _create_fiscal_years(company, spec['prefix'], today)
            refs['taxes'][key] = _create_tax(company, spec, refs['accounts'][key])
            _configure_accounting(company, refs)
            refs['methods'][key] = _create_payment_setup(company, refs['accounts'][key])
        log('       company %s ready' % spec['name'])
    refs['products'] = _create_products(refs)
    return refs


def _ensure_countries():
    """Return country records by code, creating DK/DE/SE when missing."""
    Country = Pool().get('country.country')
    found = {c.code: c for c in Country.search([('code', 'in', list(COUNTRIES))])}
    missing = [
        {'name': name, 'code': code, 'code3': code3, 'code_numeric': numeric}
        for code, (name, code3, numeric) in COUNTRIES.items() if code not in found]
    for country in Country.create(missing):
        found[country.code] = country
    return found


def _ensure_currencies(today):
    """Return DKK/EUR/SEK by code, creating them and their EUR-based rates."""
    pool = Pool()
    Currency = pool.get('currency.currency')
    Rate = pool.get('currency.currency.rate')
    found = {c.code: c for c in Currency.search([('code', 'in', list(CURRENCIES))])}
    missing = [
        {'name': name, 'code': code, 'symbol': symbol, 'numeric_code': numeric,
            'rounding': Decimal('0.01'), 'digits': 2}
        for code, (name, symbol, numeric) in CURRENCIES.items() if code not in found]
    for currency in Currency.create(missing):
        found[currency.code] = currency
    rate_date = dt.date(today.year - 2, 1, 1)
    rates = []
    for code, rate in RATES.items():
        if not Rate.search([
                    ('currency', '=', found[code].id), ('date', '<=', rate_date)]):
            rates.append({'currency': found[code].id, 'date': rate_date, 'rate': rate})
    Rate.create(rates)
    return found


def _address(street, number, postal_code, city, country):
    """Return the create values of an invoice address."""
    return {
        'street_name': street, 'building_number': number,
        'postal_code': postal_code, 'city': city, 'country': country.id,
        'invoice': True,
        }


def _create_banks(refs):
    """Create the bank parties and bank.bank records."""
    pool = Pool()
    Party = pool.get('party.party')
    Bank = pool.get('bank')
    parties = Party.create([{
                'name': name,
                'addresses': [('create', [{'country': refs['countries'][country].id}])],
                } for name, (_, country, _) in BANKS.items()])
    for code, _, _ in BANKS.values():
        assert bic.is_valid(code), code
    banks = Bank.create([
            {'party': p.id, 'bic': BANKS[p.name][0]} for p in parties])
    return {b.party.name: b for b in banks}


def _create_payment_terms():
    """Create the net payment terms "14 days" and "30 days"."""
    Term = Pool().get('account.invoice.payment_term')
    terms = Term.create([{
                'name': '%d days' % days,
                'description': 'Net %d days' % days,
                'lines': [('create', [{
                                'type': 'remainder',
                                'relativedeltas': [('create', [{'days': days}])],
                                }])],
                } for days in (14, 30)])
    return {14: terms[0], 30: terms[1]}


def _create_dunning_procedure():
    """Create the stock dunning procedure with levels at 7/21/35/49 days."""
    pool = Pool()
    Procedure = pool.get('account.dunning.procedure')
    Level = pool.get('account.dunning.level')
    levels = []
    for days in DUNNING_LEVELS:
        values = {'overdue': dt.timedelta(days=days)}
        if 'print_on_letter' in Level._fields:
            values['print_on_letter'] = True
        levels.append(values)
    procedure, = Procedure.create([{
                'name': 'Standard reminders',
                'levels': [('create', levels)],
                }])
    return procedure


def _create_customer_category():
    """Create the party category that marks the demo customers."""
    Category = Pool().get('party.category')
    category, = Category.create([{'name': CUSTOMER_CATEGORY}])
    return category


def _lang(code):
    """Return the id of the ir.lang with code, or None."""
    if not code:
        return None
    Lang = Pool().get('ir.lang')
    langs = Lang.search([('code', '=', code)], limit=1)
    return langs[0].id if langs else None


def _company_identifier(spec, rng):
    """Return the (type, code) of the company's legal identifier."""
    if spec['country'] == 'DK':
        return DK_CVR_TYPE, make_cvr(rng)
    return 'eu_vat', make_de_vat(rng)


def _create_company(spec, rng, refs):
    """Create the company, its party, bank account and employee."""
    pool = Pool()
    Party = pool.get('party.party')
    Company = pool.get('company.company')
    Employee = pool.get('company.employee')
    BankAccount = pool.get('bank.account')
    country = refs['countries'][spec['country']]
    id_type, id_code = _company_identifier(spec, rng)
    values = {
        'name': spec['name'],
        'addresses': [('create', [_address(
                        spec['street'], spec['number'], spec['postal_code'],
                        spec['city'], country)])],
        'identifiers': [('create', [{'type': id_type, 'code': id_code}])],
        'contact_mechanisms': [('create', [
                    {'type': 'email', 'value': spec['email'], 'invoice': True},
                    {'type': 'phone', 'value': spec['phone']},
                    {'type': 'website', 'value': spec['website']},
                    ])],
        }
    if lang := _lang(spec['lang']):
        values['lang'] = lang
    party, = Party.create([values])
    company, = Company.create([{
                'party': party.id,
                'currency': refs['currencies'][spec['currency']].id,
                'timezone': spec['timezone'],
                }])
    bank = refs['banks'][spec['bank']]
    BankAccount.create([{
                'bank': bank.id,
                'owners': [('add', [party.id])],
                'currency': company.currency.id,
                'numbers': [('create', [{
                                'type': 'iban',
                                'number': make_iban(
                                    rng, spec['country'], BANKS[spec['bank']][2][0]),
                                }])],
                }])
    employee_party, = Party.create([{
                'name': 'Demo Administrator (%s)' % spec['country'],
                'addresses': [('create', [{'country': country.id}])],
                }])
    employee, = Employee.create([{'party': employee_party.id, 'company': company.id}])
    return company, employee


def _setup_admin_user(companies, employees):
    """Give the admin user both companies and employees, Danish one current."""
    User = Pool().get('res.user')
    users = User.search([('login', '=', 'admin')], limit=1)
    if not users:
        return
    User.write(users, {
            'companies': [('add', [c.id for c in companies.values()])],
            'company': companies['dk'].id,
            'employees': [('add', [e.id for e in employees.values()])],
            'employee': employees['dk'].id,
            })


def _account_by_code(company, code):
    """Return the account of company with code."""
    Account = Pool().get('account.account')
    account, = Account.search([
            ('company', '=', company.id),
            ('code', '=', code),
            ('closed', '!=', True),
            ], limit=1)
    return account


def _create_chart(company):
    """Create the chart of accounts from account_template_root_en (wizard)."""
    pool = Pool()
    AccountTemplate = pool.get('account.account.template')
    ModelData = pool.get('ir.model.data')
    CreateChart = pool.get('account.create_chart', type='wizard')
    template = AccountTemplate(
        ModelData.get_id('account', 'account_template_root_en'))
    session_id, _, _ = CreateChart.create()
    wizard = CreateChart(session_id)
    wizard.account.account_template = template
    wizard.account.company = company
    wizard.transition_create_account()
    accounts = {name: _account_by_code(company, code) for name, code in (
            ('receivable', '1.2.1'), ('payable', '2.1.1'), ('revenue', '4.1.2'),
            ('expense', '5.1.3'), ('cash', '1.1.1'), ('tax', '2.2.3'),
            ('exchange', '6.2.1'))}
    properties = wizard.properties
    properties.company = company
    properties.account_receivable = accounts['receivable']
    properties.account_payable = accounts['payable']
    if 'category_account_revenue' in properties._fields:
        properties.category_account_revenue = accounts['revenue']
        properties.category_account_expense = accounts['expense']
    wizard.transition_create_properties()
    CreateChart.delete(session_id)
    return accounts


def _create_fiscal_years(company, prefix, today):
    """Create previous and current calendar fiscal years with periods."""
    pool = Pool()
    FiscalYear = pool.get('account.fiscalyear')
    Sequence = pool.get('ir.sequence.strict')
    ModelData = pool.get('ir.model.data')
    move_type = ModelData.get_id('account', 'sequence_type_account_move')
    invoice_type = ModelData.get_id('account_invoice', 'sequence_type_account_invoice')
    values = []
    for year in (today.year - 1, today.year):
        move_seq, out_seq, credit_seq, in_seq = Sequence.create([
                {'name': '%s moves %s' % (prefix, year), 'sequence_type': move_type,
                    'company': company.id, 'prefix': '%s-M%s-' % (prefix, year),
                    'padding': 6},
                {'name': '%s invoices %s' % (prefix, year),
                    'sequence_type': invoice_type, 'company': company.id,
                    'prefix': '%s-%s-' % (prefix, year), 'padding': 5},
                {'name': '%s credit notes %s' % (prefix, year),
                    'sequence_type': invoice_type, 'company': company.id,
                    'prefix': '%s-CN%s-' % (prefix, year), 'padding': 4},
                {'name': '%s supplier invoices %s' % (prefix, year),
                    'sequence_type': invoice_type, 'company': company.id,
                    'prefix': '%s-S%s-' % (prefix, year), 'padding': 5},
                ])
        values.append({
                'name': str(year),
                'company': company.id,
                'start_date': dt.date(year, 1, 1),
                'end_date': dt.date(year, 12, 31),
                'move_sequence': move_seq.id,
                'invoice_sequences': [('create', [{
                                'company': company.id,
                                'out_invoice_sequence': out_seq.id,
                                'out_credit_note_sequence': credit_seq.id,
                                'in_invoice_sequence': in_seq.id,
                                'in_credit_note_sequence': in_seq.id,
                                }])],
                })
    fiscal_years = FiscalYear.create(values)
    FiscalYear.create_period(fiscal_years)
    return fiscal_years


def _create_tax(company, spec, accounts):
    """Create the standard output VAT of the company."""
    Tax = Pool().get('account.tax')
    name, rate = spec['tax']
    tax, = Tax.create([{
                'name': name, 'description': name, 'type': 'percentage',
                'rate': rate, 'company': company.id,
                'invoice_account': accounts['tax'].id,
                'credit_note_account': accounts['tax'].id,
                }])
    return tax


def _configure_accounting(company, refs):
    """Set default accounts, payment term and dunning procedure (company context)."""
    Configuration = Pool().get('account.configuration')
    accounts = refs['accounts'][_key(refs, company)]
    config = Configuration(1)
    config.default_account_receivable = accounts['receivable']
    config.default_account_payable = accounts['payable']
    config.currency_exchange_credit_account = accounts['exchange']
    config.currency_exchange_debit_account = accounts['exchange']
    config.default_customer_payment_term = refs['terms'][30]
    config.default_dunning_procedure = refs['procedure']
    config.save()


def _key(refs, company):
    """Return the key ('dk'/'de') of company."""
    return next(k for k, c in refs['companies'].items() if c.id == company.id)


def _create_payment_setup(company, accounts):
    """Create the invoice payment method (cash journal) and payment journal."""
    pool = Pool()
    Method = pool.get('account.invoice.payment.method')
    PaymentJournal = pool.get('account.payment.journal')
    ModelData = pool.get('ir.model.data')
    method, = Method.create([{
                'company': company.id,
                'name': 'Bank transfer',
                'journal': ModelData.get_id('account', 'journal_cash'),
                'credit_account': accounts['cash'].id,
                'debit_account': accounts['cash'].id,
                }])
    PaymentJournal.create([{
                'name': 'Receivables %s (manual)' % company.currency.code,
                'company': company.id,
                'currency': company.currency.id,
                'process_method': 'manual',
                }])
    return method


def _create_products(refs):
    """Create the service products with an account category per company."""
    pool = Pool()
    Category = pool.get('product.category')
    Template = pool.get('product.template')
    ModelData = pool.get('ir.model.data')
    category, = Category.create([{
                'name': 'Services',
                'accounting': True,
                'customer_taxes': [('add', [t.id for t in refs['taxes'].values()])],
                }])
    for key, company in refs['companies'].items():
        with Transaction().set_context(company=company.id):
            Category.write([category], {
                    'account_revenue': refs['accounts'][key]['revenue'].id,
                    'account_expense': refs['accounts'][key]['expense'].id,
                    })
    templates = Template.create([{
                'name': name,
                'type': 'service',
                'default_uom': ModelData.get_id('product', uom),
                'account_category': category.id,
                'products': [('create', [{}])],
                } for name, uom, _, _, _ in PRODUCTS.values()])
    for template, (_, _, list_prices, _, _) in zip(templates, PRODUCTS.values()):
        for company in refs['companies'].values():
            with Transaction().set_context(company=company.id):
                Template.write([template], {
                        'list_price': Decimal(list_prices[company.currency.code]),
                        })
    return {key: t.products[0] for key, t in zip(PRODUCTS, templates)}


# --- customers -------------------------------------------------------------

def _customer_name(fake, country, is_company):
    """Return a company or person name for the customer."""
    if not is_company:
        return fake.name()
    name = fake.company()
    if country == 'DE' and not re.search(r'(GmbH|AG|KG|OHG|GbR|e\.K\.|UG)', name):
        name += ' GmbH'
    if country == 'DE':
        name = name.replace('e.V.', 'GmbH')
    if country == 'SE':
        name = re.sub(r' (HB|AB|Ab|KB|Kommanditbolag|Handelsbolag)$', '', name) + ' AB'
    return name


def _email(name, country, is_company):
    """Return an e-mail address (reserved example.com domain) for the customer."""
    if is_company:
        local = {'DK': 'faktura', 'DE': 'rechnung', 'SE': 'faktura'}[country]
        return '%s@%s.example.com' % (local, _slug(name))
    return '%s@example.com' % _slug(name, '.')


def _customer_values(rng, fake, country, is_company, refs):
    """Return party create values and bank account data of one customer."""
    name = _customer_name(fake, country, is_company)
    values = {
        'name': name,
        'categories': [('add', [refs['category'].id])],
        'addresses': [('create', [_address(
                        fake.street_name(),
                        str(rng.randint(1, 180)) + rng.choice(('', '', '', 'A', 'B')),
                        fake.postcode(), fake.city(), refs['countries'][country])])],
        'contact_mechanisms': [('create', [
                    {'type': 'email', 'value': _email(name, country, is_company),
                        'invoice': True},
                    {'type': 'phone', 'value': _phone(rng, country)},
                    ])],
        'customer_payment_term': refs['terms'][rng.choice((14, 30))].id,
        'dunning_procedure': refs['procedure'].id,
        }
    if is_company:
        if country == 'DK':
            identifier = (DK_CVR_TYPE, make_cvr(rng))
        elif country == 'DE':
            identifier = ('eu_vat', make_de_vat(rng))
        else:
            identifier = ('eu_vat', make_se_vat(rng))
        values['identifiers'] = [('create', [
                    {'type': identifier[0], 'code': identifier[1]}])]
    if country == 'DE' and (lang := _lang('de')):
        values['lang'] = lang
    banks = [n for n, (_, c, _) in BANKS.items() if c == country]
    bank = rng.choice(banks)
    number = make_iban(rng, country, rng.choice(BANKS[bank][2]))
    return values, (bank, number)


def _create_customers(rng, fakers, count, refs):
    """Create the customers (~60% DK, ~40% DE, one SE) with bank accounts."""
    pool = Pool()
    Party = pool.get('party.party')
    BankAccount = pool.get('bank.account')
    n_se = 1 if count >= 2 else 0
    n_dk = round((count - n_se) * 0.6)
    countries = ['DK'] * n_dk + ['DE'] * (count - n_se - n_dk) + ['SE'] * n_se
    locales = {'DK': 'da_DK', 'DE': 'de_DE', 'SE': 'sv_SE'}
    values, banks = [], []
    for country in countries:
        is_company = country == 'SE' or rng.random() < 0.65
        party_values, bank = _customer_values(
            rng, fakers[locales[country]], country, is_company, refs)
        values.append(party_values)
        banks.append(bank)
    parties = _create(Party, values)
    currency = {'DK': 'DKK', 'DE': 'EUR', 'SE': 'SEK'}
    _create(BankAccount, [{
                'bank': refs['banks'][bank].id,
                'owners': [('add', [party.id])],
                'currency': refs['currencies'][currency[country]].id,
                'numbers': [('create', [{'type': 'iban', 'number': number}])],
                } for party, country, (bank, number) in zip(parties, countries, banks)],
        size=BANK_CHUNK)
    terms = {t.id: days for days, t in refs['terms'].items()}
    return [
        _Customer(
            party=party.id, address=party.addresses[0].id, country=country,
            currency=currency[country], company='de' if country == 'DE' else 'dk',
            term_days=terms[party.customer_payment_term.id])
        for party, country in zip(parties, countries)]


# --- invoices --------------------------------------------------------------

def _stage_dates(rng, stage, term_days, today):
    """Return an invoice date placing the invoice in stage relative to today."""
    _, low, high, _ = next(s for s in STAGES if s[0] == stage)
    oldest = dt.date(today.year - 1, 1, 1)
    max_overdue = (today - oldest).days - term_days
    low = -term_days if low is None else low
    high = min(MAX_OVERDUE if high is None else high, max_overdue)
    overdue = rng.randint(low, max(low, high))
    return today - dt.timedelta(days=term_days + overdue)


def _plan_lines(rng, currency):
    """Return 1-4 invoice lines as (product key, quantity, unit price)."""
    lines = []
    for _ in range(rng.choices((1, 2, 3, 4), weights=(40, 30, 20, 10))[0]):
        key = rng.choice(('consulting', 'consulting', 'subscription'))
        _, _, _, prices, (qmin, qmax) = PRODUCTS[key]
        lines.append((key, rng.randint(qmin, qmax), _money(rng.choice(prices[currency]))))
    return lines


def _plan_invoices(rng, custs, count, today, refs):
    """Plan every invoice: company, customer, stage, date, lines and action."""
    by_company = defaultdict(list)
    for cust in custs:
        by_company[(cust.company, cust.currency)].append(cust)
    n_dk = round(count * COMPANIES[0]['share'])
    n_sek = min(max(3, count // 160), n_dk) if by_company[('dk', 'SEK')] else 0
    quotas = (
        ('dk', 'DKK', n_dk - n_sek), ('dk', 'SEK', n_sek), ('de', 'EUR', count - n_dk))
    names = [s[0] for s in STAGES]
    weights = [s[3] for s in STAGES]
    plans = []
    for company, currency, quota in quotas:
        pool_ = by_company[(company, currency)]
        for _ in range(quota if pool_ else 0):
            cust = rng.choice(pool_)
            stage = rng.choices(names, weights=weights)[0]
            plans.append(_Plan(
                    index=len(plans), company=company, customer=cust, stage=stage,
                    invoice_date=_stage_dates(rng, stage, cust.term_days, today),
                    lines=_plan_lines(rng, currency)))
    _plan_actions(rng, plans, count, today)
    plans.sort(key=lambda p: (p.company, p.invoice_date, p.index))
    return plans


def _sample(rng, plans, count, predicate):
    """Pick up to count plans without action that satisfy predicate."""
    candidates = [p for p in plans if p.action is None and predicate(p)]
    return rng.sample(candidates, min(count, len(candidates)))


def _plan_actions(rng, plans, count, today):
    """Mark plans as disputed, credited, partially or fully paid."""
    old = {'overdue_35_48', 'overdue_49_62', 'overdue_63_plus'}
    for key in ('dk', 'de'):
        mine = [p for p in plans if p.company == key]
        home = [p for p in mine if p.customer.currency != 'SEK']
        share = next(s['share'] for s in COMPANIES if s['key'] == key)
        n_credit = round(round(count * Decimal('0.02')) * share)
        if key == 'dk':
            for plan in _sample(rng, home, 1, lambda p: p.stage == 'overdue_35_48'):
                plan.action = 'disputed'
        for plan in _sample(rng, home, round(n_credit * 0.4), lambda p: p.stage in old):
            plan.action = 'credit_full'
        for plan in _sample(
                rng, home, round(n_credit * 0.3), lambda p: p.stage != 'not_due'):
            plan.action = 'credit_partial'
        past = [p for p in mine if p.invoice_date < today]
        foreign = [p for p in past if p.customer.currency == 'SEK']
        n_partial = round(len(mine) * 0.07)
        for plan in _sample(rng, foreign, 1, lambda p: True):
            plan.action = 'partial'
            n_partial -= 1
        for plan in _sample(rng, past, n_partial, lambda p: True):
            plan.action = 'partial'
        for plan in _sample(
                rng, past, round(len(mine) * 0.03),
                lambda p: p.customer.currency != 'SEK'):
            plan.action = 'paid'


def _invoice_values(plan, refs, description=None):
    """Return the create values of the customer invoice of plan."""
    key = plan.company
    company = refs['companies'][key]
    currency = refs['currencies'][plan.customer.currency]
    accounts = refs['accounts'][key]
    with_tax = plan.customer.currency == company.currency.code
    lines = []
    for product_key, quantity, price in plan.lines:
        product = refs['products'][product_key]
        line = {
            'type': 'line', 'invoice_type': 'out', 'company': company.id,
            'currency': currency.id, 'party': plan.customer.party,
            'product': product.id, 'unit': product.default_uom.id,
            'description': '%s %s' % (
                PRODUCTS[product_key][0], plan.invoice_date.strftime('%m/%Y')),
            'quantity': quantity, 'unit_price': price,
            'account': accounts['revenue'].id,
            }
        if with_tax:
            line['taxes'] = [('add', [refs['taxes'][key].id])]
        lines.append(line)
    return {
        'company': company.id, 'type': 'out', 'party': plan.customer.party,
        'invoice_address': plan.customer.address, 'currency': currency.id,
        'journal': Pool().get('ir.model.data').get_id('account', 'journal_revenue'),
        'account': accounts['receivable'].id,
        'payment_term': refs['terms'][plan.customer.term_days].id,
        'invoice_date': plan.invoice_date,
        'description': description or 'Services %s' % plan.invoice_date.strftime('%Y-%m'),
        'comment': DISPUTE_COMMENT if plan.action == 'disputed' else None,
        'lines': [('create', lines)],
        }


def _create_invoices(plans, refs):
    """Create the draft invoices in chronological order per company."""
    Invoice = Pool().get('account.invoice')
    for key, company in refs['companies'].items():
        mine = [p for p in plans if p.company == key]
        with Transaction().set_context(company=company.id):
            records = _create(Invoice, [_invoice_values(p, refs) for p in mine])
        for plan, invoice in zip(mine, records):
            plan.invoice = invoice.id


def _post_in_order(invoices, refs):
    """Post invoices per company in invoice-date order, by batches."""
    Invoice = Pool().get('account.invoice')
    for company in refs['companies'].values():
        mine = sorted(
            (i for i in invoices if i.company.id == company.id),
            key=lambda i: (i.invoice_date, i.id))
        with Transaction().set_context(company=company.id, _skip_warnings=True):
            for chunk in _chunks(mine):
                Invoice.post(Invoice.browse([i.id for i in chunk]))


def _post_invoices(plans, refs):
    """Post all planned invoices (numbers chronological per sequence)."""
    Invoice = Pool().get('account.invoice')
    _post_in_order(Invoice.browse([p.invoice for p in plans]), refs)


def _credit_date(rng, invoice_date, today):
    """Return a credit note date a few days after invoice_date, not after today."""
    return min(today, invoice_date + dt.timedelta(days=rng.randint(3, 25)))


def _create_credit_notes(rng, plans, custs, count, today, refs):
    """Create and post credit notes: full (reconciled), partial and goodwill."""
    pool = Pool()
    Invoice = pool.get('account.invoice')
    MoveLine = pool.get('account.move.line')
    credit_notes, pairs = [], []
    for plan in (p for p in plans if p.action == 'credit_full'):
        original = Invoice(plan.invoice)
        with Transaction().set_context(company=original.company.id):
            note, = Invoice.credit(
                [original], invoice_date=_credit_date(rng, plan.invoice_date, today))
            Invoice.write([note], {
                    'description': 'Credit note for %s' % original.number,
                    'comment': 'Service cancelled: invoice credited in full.',
                    })
        credit_notes.append(note)
        pairs.append((original, note))
    values = []
    for plan in (p for p in plans if p.action == 'credit_partial'):
        values.append(_partial_credit_values(rng, plan, today, refs))
    for key, n_goodwill in _goodwill_counts(plans, count).items():
        home = [c for c in custs if c.company == key and c.currency != 'SEK']
        for _ in range(n_goodwill):
            values.append(_goodwill_values(rng, rng.choice(home), key, today, refs))
    for company in refs['companies'].values():
        mine = [v for v in values if v['company'] == company.id]
        with Transaction().set_context(company=company.id):
            credit_notes.extend(_create(Invoice, mine))
    _post_in_order(Invoice.browse([n.id for n in credit_notes]), refs)
    to_reconcile = []
    for original, note in pairs:
        original, note = Invoice(original.id), Invoice(note.id)
        to_reconcile.append(list(original.lines_to_pay) + list(note.lines_to_pay))
    if to_reconcile:
        MoveLine.reconcile(*to_reconcile)
        Invoice.process(Invoice.browse(
                [i.id for pair in pairs for i in pair]))


def _goodwill_counts(plans, count):
    """Return the number of standalone goodwill credit notes per company."""
    counts = {}
    for spec in COMPANIES:
        n_credit = round(round(count * Decimal('0.02')) * spec['share'])
        used = sum(
            1 for p in plans if p.company == spec['key']
            and p.action in {'credit_full', 'credit_partial'})
        counts[spec['key']] = max(n_credit - used, 1 if count >= 50 else 0)
    return counts


def _partial_credit_values(rng, plan, today, refs):
    """Return values of a credit note for part of the first line of plan."""
    Invoice = Pool().get('account.invoice')
    original = Invoice(plan.invoice)
    line = original.lines[0]
    quantity = max(1, int(line.quantity) // 3)
    note = _Plan(
        index=-1, company=plan.company, customer=plan.customer, stage='credit',
        invoice_date=_credit_date(rng, plan.invoice_date, today),
        lines=[(plan.lines[0][0], -quantity, line.unit_price)])
    values = _invoice_values(
        note, refs, description='Price adjustment on %s' % original.number)
    values['lines'][0][1][0]['origin'] = str(line)
    values['comment'] = 'Partial credit: customer keeps it as credit on account.'
    return values


def _goodwill_values(rng, cust, key, today, refs):
    """Return values of a standalone goodwill credit note left open."""
    note = _Plan(
        index=-1, company=key, customer=cust, stage='credit',
        invoice_date=today - dt.timedelta(days=rng.randint(0, 60)),
        lines=[('consulting', -rng.randint(1, 4),
                _money(PRODUCTS['consulting'][3][cust.currency][0]))])
    return _invoice_values(note, refs, description='Goodwill credit')


# --- payments --------------------------------------------------------------

def _payment_date(rng, invoice_date, today, latest=None):
    """Return a payment date after invoice_date and not after today/latest."""
    last = min(today, latest) if latest else today
    days = max(1, (last - invoice_date).days)
    return min(today, invoice_date + dt.timedelta(days=rng.randint(1, days)))


def _pay_invoices(rng, plans, today, refs):
    """Register partial payments and full payments (reconciled) via pay_invoice."""
    pool = Pool()
    Invoice = pool.get('account.invoice')
    MoveLine = pool.get('account.move.line')
    payments = []
    for plan in (p for p in plans if p.action in {'partial', 'paid'}):
        invoice = Invoice(plan.invoice)
        total = invoice.total_amount
        if plan.action == 'partial':
            amount = (total * Decimal(rng.randint(20, 70)) / 100).quantize(Decimal(1))
            amount = min(max(amount, Decimal(1)), total - Decimal(1))
            date = _payment_date(rng, plan.invoice_date, today)
        else:
            amount = total
            due = plan.invoice_date + dt.timedelta(days=plan.customer.term_days)
            date = _payment_date(rng, plan.invoice_date, today, due)
        payments.append((date, plan.index, invoice.id, _money(amount), plan.action))
    payments.sort()
    to_reconcile, paid = [], []
    for date, _, invoice_id, amount, action in payments:
        invoice = Invoice(invoice_id)
        key = next(k for k, c in refs['companies'].items() if c.id == invoice.company.id)
        with Transaction().set_context(company=invoice.company.id):
            lines = invoice.pay_invoice(
                amount, refs['methods'][key], date,
                description='Bank transfer %s' % invoice.number)
        if action == 'paid':
            invoice = Invoice(invoice_id)
            to_reconcile.append(list(invoice.lines_to_pay) + list(lines))
            paid.append(invoice_id)
    if to_reconcile:
        MoveLine.reconcile(*to_reconcile)
        Invoice.process(Invoice.browse(paid))


def _dispute_invoice(plans, refs):
    """Block dunning of the disputed invoice with a stock account.dunning."""
    pool = Pool()
    Invoice = pool.get('account.invoice')
    Dunning = pool.get('account.dunning')
    procedure = refs['procedure']
    for plan in (p for p in plans if p.action == 'disputed'):
        invoice = Invoice(plan.invoice)
        line = invoice.lines_to_pay[0]
        Dunning.create([{
                    'company': invoice.company.id,
                    'line': line.id,
                    'procedure': procedure.id,
                    'level': procedure.levels[0].id,
                    'blocked': True,
                    'state': 'waiting',
                    'date': line.maturity_date + procedure.levels[0].overdue,
                    }])


# --- Nets Betalingsservice -------------------------------------------------

def _nets_journal():
    """Return the DEMO-NETS collection journal, or None."""
    Journal = Pool().get('receivable.collection.journal')
    journals = Journal.search([('name', '=', NETS_JOURNAL)], limit=1)
    return journals[0] if journals else None


def create_nets_demo(today, log=print):
    """Create the Danish Nets agreement, mandates, template and DEMO-NETS journal.

    About twenty Danish customers with DKK invoices not yet due get an active
    mandate and the agreement (their overdue invoices stay with dunning); the
    journal collects their invoices due within a month, a week from now, and
    is proposed, notified and validated, so it exports without errors."""
    pool = Pool()
    Company = pool.get('company.company')
    Date = pool.get('ir.date')
    company, = Company.search([('party.name', '=', DK_COMPANY_NAME)], limit=1)
    with Transaction().set_context(company=company.id, companies=[company.id]):
        agreement = _create_nets_agreement(company)
        parties = _nets_customers(company, today)
        _create_nets_mandates(agreement, parties, today)
        _leave_overdue_to_dunning(company, parties, today)
        journal = _create_nets_journal(
            company, agreement,
            max(today, Date.today()) + dt.timedelta(days=NETS_LEAD_DAYS))
    log('Nets agreement, %d mandates and journal %s (%s, %d payments)' % (
            len(parties), journal.name, journal.state, len(journal.payments)))
    return journal


def _create_nets_agreement(company):
    """Create the Nets payment journal: the company's CVR, its Danish bank account."""
    pool = Pool()
    PaymentJournal = pool.get('account.payment.journal')
    Sequence = pool.get('ir.sequence')
    ModelData = pool.get('ir.model.data')
    cvr_number = next(
        i.code for i in company.party.identifiers if i.type == DK_CVR_TYPE)
    account = next(
        n.number_compact for a in company.party.bank_accounts for n in a.numbers
        if n.type == 'iban' and n.number_compact.startswith('DK'))
    sequence, = Sequence.create([{
                'name': 'Nets deliveries',
                'company': company.id,
                'sequence_type': ModelData.get_id(
                    'receivable_collection_nets', 'sequence_type_nets_delivery'),
                }])
    agreement, = PaymentJournal.create([{
                'name': NETS_AGREEMENT,
                'company': company.id,
                'currency': company.currency.id,
                'process_method': 'nets_bs',
                'nets_data_supplier': cvr_number,
                'nets_creditor_number': NETS_CREDITOR_NUMBER,
                'nets_debtor_group': NETS_DEBTOR_GROUP,
                'nets_section': '0112',
                # DK IBAN: DKkk + 4-digit registration number + 10-digit account
                'nets_bank_code': account[4:8],
                'nets_bank_account': account[8:18],
                'nets_delivery_sequence': sequence.id,
                }])
    return agreement


def _nets_customers(company, today):
    """The first Danish customers with DKK items not yet due and no dispute or block."""
    pool = Pool()
    Party = pool.get('party.party')
    MoveLine = pool.get('account.move.line')
    Invoice = pool.get('account.invoice')
    Dunning = pool.get('account.dunning')
    excluded = {i.party for i in Invoice.search([
                ('company', '=', company.id), ('comment', '=', DISPUTE_COMMENT)])}
    excluded |= {d.line.party for d in Dunning.search([
                ('company', '=', company.id), ('blocked', '=', True)])}
    Block = pool.get('receivable.collection.dunning.block')
    excluded |= {b.party for b in Block.search([])}
    candidates = Party.search([
            ('categories.name', '=', CUSTOMER_CATEGORY),
            ('addresses.country.code', '=', 'DK'),
            ], order=[('id', 'ASC')])
    open_parties = {line.party for line in MoveLine.search([
                ('move.company', '=', company.id),
                ('move.state', '=', 'posted'),
                ('account.type.receivable', '=', True),
                ('reconciliation', '=', None),
                ('party', 'in', [p.id for p in candidates]),
                ('payment_currency', '=', company.currency.id),
                ('payment_amount', '>', 0),
                ('maturity_date', '>=', today),
                ('move.origin', 'like', 'account.invoice,%'),
                ])}
    return [p for p in candidates
        if p in open_parties and p not in excluded][:NETS_CUSTOMERS]


def _create_nets_mandates(agreement, parties, today):
    """Give each party an active mandate on the agreement and make it its agreement."""
    pool = Pool()
    Party = pool.get('party.party')
    Mandate = pool.get('receivable.collection.nets.mandate')
    mandates = Mandate.create([{
                'company': agreement.company.id,
                'party': party.id,
                'journal': agreement.id,
                'customer_number': party.code,
                'mandate_number': '%09d' % (512200 + n),
                'start_date': today - dt.timedelta(days=90),
                } for n, party in enumerate(parties, 1)])
    Mandate.activate(mandates)
    Party.write(parties, {'collection_payment_journal': agreement.id})
    return mandates


def _leave_overdue_to_dunning(company, parties, today):
    """Mark the overdue invoices of the parties as not collected by direct debit."""
    pool = Pool()
    Invoice = pool.get('account.invoice')
    overdue = Invoice.search([
            ('company', '=', company.id),
            ('type', '=', 'out'),
            ('state', '=', 'posted'),
            ('party', 'in', [p.id for p in parties]),
            ('move.lines.maturity_date', '<', today),
            ])
    if overdue:
        Invoice.write(overdue, {'collection_excluded': True})


def _create_nets_journal(company, agreement, date):
    """Create the DEMO-NETS journal with its notification template and validate it."""
    pool = Pool()
    Template = pool.get('receivable.collection.template')
    Journal = pool.get('receivable.collection.journal')
    template, = Template.create([{
                'name': 'Betalingsservice',
                'company': company.id,
                'header': '${party}\nVi trækker ${total} den ${date} via '
                'Betalingsservice for:',
                'footer': 'Spørgsmål? Ring %s.' % COMPANIES[0]['phone'],
                'show_number': True,
                'show_due_date': True,
                'show_amount': True,
                'show_subtotal': True,
                'subtotal_label': 'I alt',
                'width': 60,
                }])
    journal, = Journal.create([{
                'name': NETS_JOURNAL,
                'company': company.id,
                'payment_journal': agreement.id,
                'template': template.id,
                'date': date,
                'horizon': date + dt.timedelta(days=30),
                }])
    Journal.propose([journal])
    Journal.notify([journal])
    Journal.validate_journal([journal])
    journal = Journal(journal.id)
    if journal.state != 'validated':
        raise RuntimeError('%s is not valid: %s' % (
                journal.name, '; '.join(e.message for e in journal.errors)))
    return journal


# --- summary ---------------------------------------------------------------

def _bucket(days):
    """Return the summary stage name for days past the due date."""
    for name, limit in SUMMARY_BUCKETS:
        if limit is None or days <= limit:
            return name


def _summary(companies, today):
    """Return counts describing the demo data of companies, relative to today."""
    pool = Pool()
    Invoice = pool.get('account.invoice')
    Party = pool.get('party.party')
    Dunning = pool.get('account.dunning')
    company_ids = [c.id for c in companies]
    invoices = Invoice.search([
            ('company', 'in', company_ids),
            ('type', '=', 'out'),
            ('state', 'in', ['posted', 'paid']),
            ], order=[('id', 'ASC')])
    customers = Party.search([('categories.name', '=', CUSTOMER_CATEGORY)])
    stages = Counter({name: 0 for name, _ in SUMMARY_BUCKETS})
    summary = {
        'companies': len(companies),
        'customers': len(customers),
        'customers_by_country': dict(sorted(Counter(
                    p.addresses[0].country.code for p in customers).items())),
        'customer_companies': sum(1 for p in customers if p.identifiers),
        'invoices': 0, 'invoices_by_company': Counter(), 'invoices_by_currency': Counter(),
        'invoices_by_stage': stages, 'open_invoices': 0, 'paid_invoices': 0,
        'partially_paid': 0, 'credit_notes': 0, 'credit_notes_open': 0,
        'credit_notes_reconciled': 0,
        'open_amount_by_currency': defaultdict(Decimal),
        }
    for invoice in invoices:
        if invoice.total_amount < 0:
            summary['credit_notes'] += 1
            key = 'credit_notes_open' if invoice.state == 'posted' else 'credit_notes_reconciled'
            summary[key] += 1
            continue
        summary['invoices'] += 1
        summary['invoices_by_company'][invoice.company.party.name] += 1
        summary['invoices_by_currency'][invoice.currency.code] += 1
        if invoice.state == 'paid':
            summary['paid_invoices'] += 1
            continue
        summary['open_invoices'] += 1
        if invoice.payment_lines:
            summary['partially_paid'] += 1
        summary['open_amount_by_currency'][invoice.currency.code] += invoice.amount_to_pay
        due = min(line.maturity_date for line in invoice.lines_to_pay)
        stages[_bucket((today - due).days)] += 1
    disputed = Dunning.search([
            ('company', 'in', company_ids), ('blocked', '=', True)])
    summary['disputed'] = len(disputed)
    summary['disputed_invoices'] = [d.line.move.origin.number for d in disputed]
    summary['currencies'] = sorted(
        {c.currency.code for c in companies} | set(summary['invoices_by_currency']))
    for key in ('invoices_by_company', 'invoices_by_currency', 'invoices_by_stage',
            'open_amount_by_currency'):
        summary[key] = dict(summary[key])
    journal = _nets_journal()
    if journal:
        summary['nets_journal'] = '%s (%s)' % (journal.name, journal.state)
        summary['nets_payments'] = len(journal.payments)
    return summary
