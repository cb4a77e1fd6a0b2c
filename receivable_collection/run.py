# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"The dunning run (Mahnlauf): decide, review, then send one message per customer."
import mimetypes
from collections import defaultdict
from decimal import Decimal
from email.message import EmailMessage
from email.utils import formataddr

import trytond.config as config
from sql import Literal, Null
from sql.functions import CurrentTimestamp
from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Workflow, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.sendmail import SMTPDataManager, send_message_transactional
from trytond.transaction import Transaction

from .exceptions import DunningRunCompanyError, InterestError
from .sms import SMSDataManager, sms_payload

_DRAFT = {'readonly': Eval('state') != 'draft'}

STATUSES = [
    ('send', "To Send"),
    ('window_missed', "Window Missed"),
    ('wait_spacing', "Waiting for Fee Spacing"),
    ('wait_notice', "Waiting for Notice"),
    ('below_minimum', "Below Minimum"),
    ('blocked', "Blocked"),
    ]


class Run(Workflow, ModelSQL, ModelView):
    "A dunning run for one or more companies and a date: drafted, reviewed, processed."
    __name__ = 'receivable.collection.dunning.run'

    companies = fields.Many2Many(
        'receivable.collection.dunning.run.company', 'run', 'company',
        "Companies", required=True, states=_DRAFT,
        help="The companies whose overdue lines the run decides. Each customer "
        "is reminded by the company its invoices belong to.")
    date = fields.Date("Date", required=True, states=_DRAFT)
    procedures = fields.Many2Many(
        'receivable.collection.dunning.run.procedure', 'run', 'procedure',
        "Procedures", states=_DRAFT,
        help="The procedures the run covers. Empty: all of them.")
    lines = fields.One2Many(
        'receivable.collection.dunning.run.line', 'run', "Lines", readonly=True)
    messages = fields.One2Many(
        'receivable.collection.dunning.message', 'run', "Messages",
        readonly=True)
    to_send = fields.Function(fields.Integer("To Send"), 'get_counts')
    to_check = fields.Function(fields.Integer("To Check"), 'get_counts')
    sent = fields.Function(fields.Integer("Sent"), 'get_counts')
    failed = fields.Function(fields.Integer("Failed"), 'get_counts')
    state = fields.Selection([
            ('draft', "Draft"),
            ('reviewed', "Reviewed"),
            ('processed', "Processed"),
            ], "State", readonly=True, required=True, sort=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'reviewed'),
            ('reviewed', 'draft'),
            ('reviewed', 'processed'),
            }
        cls._buttons.update({
                'generate': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-refresh',
                    'depends': ['state'],
                    },
                'review': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                'draft': {
                    'invisible': Eval('state') != 'reviewed',
                    'icon': 'tryton-back',
                    'depends': ['state'],
                    },
                'process': {
                    'invisible': Eval('state') != 'reviewed',
                    'icon': 'tryton-launch',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_companies(cls):
        "The company of the context."
        company = Transaction().context.get('company')
        return [company] if company is not None else []

    @classmethod
    def default_date(cls):
        "Today."
        return Pool().get('ir.date').today()

    @classmethod
    def default_state(cls):
        "New runs are drafts."
        return 'draft'

    def get_rec_name(self, name):
        "Date and companies."
        if not self.date:
            return ''
        return f'{self.date} ({", ".join(c.rec_name for c in self.companies)})'

    @classmethod
    def get_counts(cls, runs, names):
        "How many lines and messages are in each state."
        result = {name: {r.id: 0 for r in runs} for name in names}
        for run in runs:
            counts = {
                'to_send': sum(1 for l in run.lines if l.status == 'send'),
                'to_check': sum(
                    1 for l in run.lines if l.status != 'send' or l.warnings),
                'sent': sum(1 for m in run.messages if m.state == 'sent'),
                'failed': sum(1 for m in run.messages if m.state == 'failed'),
                }
            for name in names:
                result[name][run.id] = counts[name]
        return result

    @classmethod
    def check_companies(cls, runs):
        """Refuse a user who does not work for every company of the runs.

        Buttons run without the record rules, so a run's buttons check here
        what its write rule says: only a user of all its companies may
        generate, review or process it (the cron runs as root and may).
        """
        pool = Pool()
        User = pool.get('res.user')
        if Transaction().user == 0:
            return
        allowed = set(User.get_companies())
        for run in runs:
            for company in run.companies:
                if company.id not in allowed:
                    raise DunningRunCompanyError(gettext(
                            'receivable_collection.msg_dunning_run_company_access',
                            run=run.rec_name, company=company.rec_name))

    @classmethod
    @ModelView.button
    def generate(cls, runs):
        "Decide every overdue line again and list the decisions."
        pool = Pool()
        Dunning = pool.get('account.dunning')
        Line = pool.get('receivable.collection.dunning.run.line')
        cls.check_companies(runs)
        Line.delete([l for r in runs if r.state == 'draft' for l in r.lines])
        lines = []
        for run in runs:
            if run.state != 'draft':
                continue
            for company in run.companies:
                with Transaction().set_context(company=company.id):
                    decided = Dunning.collection_generate(
                        run.date, company, list(run.procedures))
                for line, dunning, status, note in decided:
                    lines.append(Line(
                            run=run, company=company, line=line,
                            party=line.party, dunning=dunning,
                            level=dunning.level if dunning else None,
                            status=status, note=note))
        Line.save(lines)

    @classmethod
    @ModelView.button
    @Workflow.transition('reviewed')
    def review(cls, runs):
        "Check what would be sent and write the warnings on each line."
        pool = Pool()
        Line = pool.get('receivable.collection.dunning.run.line')
        cls.check_companies(runs)
        Line.check(sum((list(r.lines) for r in runs), []))

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, runs):
        "Back to draft to generate again."
        cls.check_companies(runs)

    @classmethod
    @ModelView.button
    @Workflow.transition('processed')
    def process(cls, runs):
        "Send what the run decided: one message per customer and channel."
        pool = Pool()
        Dunning = pool.get('account.dunning')
        Message = pool.get('receivable.collection.dunning.message')
        cls.check_companies(runs)
        cls.lock(runs)
        for run in runs:
            by_company = defaultdict(list)
            for line in run.lines:
                if (line.status == 'send' and line.dunning
                        and line.dunning.state == 'draft'):
                    by_company[line.company].append(line.dunning)
            for company in run.companies:
                # Each company's dunnings are processed and sent in its own
                # context: its fees, interest, SMS provider and sender.
                dunnings = by_company.get(company, [])
                with Transaction().set_context(
                        company=company.id, dunning_date=run.date):
                    Dunning.process(dunnings)
                    Message.send_for(run, company, Dunning.browse(dunnings))

    @classmethod
    def cron_run(cls):
        """Create today's runs for the company of the context.

        The scheduler calls this once per company of the scheduled action,
        each in its company's context, so the cron's runs are one company
        each.  Procedures that may run unattended get a processed run; the
        others a reviewed run waiting for the accountant.  Nothing is created
        twice for a date (a run covering the company counts), and a run
        without lines is not kept.
        """
        pool = Pool()
        Date = pool.get('ir.date')
        Company = pool.get('company.company')
        Procedure = pool.get('account.dunning.procedure')
        company_id = Transaction().context.get('company')
        if company_id is None:
            return []
        company = Company(company_id)
        today = Date.today()
        procedures = Procedure.search([])
        unattended = [p for p in procedures if p.collection_unattended]
        attended = [p for p in procedures if not p.collection_unattended]
        existing = {
            tuple(sorted(p.id for p in r.procedures))
            for r in cls.search([
                    ('companies', '=', company.id), ('date', '=', today)])}
        runs = [
            cls(companies=[company], date=today, procedures=group)
            for group in [unattended, attended]
            if group and tuple(sorted(p.id for p in group)) not in existing]
        cls.save(runs)
        cls.generate(runs)
        empty = [r for r in runs if not r.lines]
        cls.delete(empty)
        runs = [r for r in runs if r.lines]
        cls.review(runs)
        cls.process([r for r in runs if r.procedures[0].collection_unattended])
        return runs


class ProcessDunning(metaclass=PoolMeta):
    """Tryton's Process Dunning wizard, sending like a dunning run.

    The selected dunnings are processed in a run of their company and date,
    so each customer gets one e-mail (not one per line) and every message is
    logged; Tryton's per-dunning e-mail step is left out.
    """
    __name__ = 'account.dunning.process'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        if 'send_email' in cls._actions:
            cls._actions.remove('send_email')

    def transition_process(self):
        "Process the selected dunnings through one run per company."
        pool = Pool()
        Run = pool.get('receivable.collection.dunning.run')
        Line = pool.get('receivable.collection.dunning.run.line')
        Date = pool.get('ir.date')
        Dunning = pool.get('account.dunning')
        dunnings = Dunning.collection_to_send(self.records)
        by_company = defaultdict(list)
        for dunning in dunnings:
            by_company[dunning.company].append(dunning)
        runs = []
        for company, c_dunnings in by_company.items():
            with Transaction().set_context(company=company.id):
                date = Transaction().context.get('dunning_date') or Date.today()
            runs.append(Run(
                    companies=[company], date=date, state='reviewed', lines=[
                        Line(company=company, line=d.line, party=d.party,
                            dunning=d, level=d.level, status='send')
                        for d in c_dunnings]))
        Run.save(runs)
        Run.process(runs)
        return self.next_state('process')


class RunProcedure(ModelSQL):
    "Procedure covered by a dunning run."
    __name__ = 'receivable.collection.dunning.run.procedure'

    run = fields.Many2One(
        'receivable.collection.dunning.run', "Run", required=True,
        ondelete='CASCADE')
    procedure = fields.Many2One(
        'account.dunning.procedure', "Procedure", required=True,
        ondelete='CASCADE')


class RunCompany(ModelSQL):
    "Company covered by a dunning run."
    __name__ = 'receivable.collection.dunning.run.company'

    run = fields.Many2One(
        'receivable.collection.dunning.run', "Run", required=True,
        ondelete='CASCADE')
    company = fields.Many2One(
        'company.company', "Company", required=True, ondelete='CASCADE')

    @classmethod
    def __register__(cls, module):
        "Create the table; move the runs' former company column into it."
        pool = Pool()
        Run = pool.get('receivable.collection.dunning.run')
        cursor = Transaction().connection.cursor()
        super().__register__(module)
        table = cls.__table__()
        run = Run.__table__()
        run_h = Run.__table_handler__(module)

        # Migration from 8.0.0: a run covers one or more companies
        if run_h.column_exist('company'):
            cursor.execute(*table.insert(
                    [table.run, table.company, table.create_uid,
                        table.create_date],
                    run.select(
                        run.id, run.company, Literal(0), CurrentTimestamp(),
                        where=(run.company != Null)
                        & ~run.id.in_(table.select(table.run)))))
            run_h.drop_column('company')


class _RunCompanyMixin:
    "Records of a run, each in the company of its line or customer's invoices."
    __slots__ = ()
    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)

    @classmethod
    def __register__(cls, module):
        "Give the records made before runs had several companies their run's."
        pool = Pool()
        Run = pool.get('receivable.collection.dunning.run')
        cursor = Transaction().connection.cursor()
        exists = backend.TableHandler.table_exist(cls._table)
        had_company = exists and cls.__table_handler__(module).column_exist(
            'company')
        super().__register__(module)
        table_h = cls.__table_handler__(module)
        table = cls.__table__()
        run = Run.__table__()

        # Migration from 8.0.0: the company was the run's
        if exists and not had_company and Run.__table_handler__(
                module).column_exist('company'):
            cursor.execute(*table.update(
                    [table.company],
                    [run.select(run.company, where=run.id == table.run)]))
            table_h.not_null_action('company', 'add')


class RunLine(_RunCompanyMixin, ModelSQL, ModelView):
    "What a dunning run decided for one overdue line, with its warnings."
    __name__ = 'receivable.collection.dunning.run.line'

    run = fields.Many2One(
        'receivable.collection.dunning.run', "Run", required=True,
        ondelete='CASCADE', readonly=True)
    line = fields.Many2One(
        'account.move.line', "Line", required=True, readonly=True)
    party = fields.Many2One(
        'party.party', "Customer", readonly=True,
        context={'company': Eval('company', -1)}, depends={'company'})
    dunning = fields.Many2One('account.dunning', "Dunning", readonly=True)
    level = fields.Many2One('account.dunning.level', "Level", readonly=True)
    status = fields.Selection(STATUSES, "Status", readonly=True)
    note = fields.Char("Note", readonly=True)
    warnings = fields.Text("Warnings", readonly=True)
    amount = fields.Function(fields.Numeric("Amount", digits=(16, 2)), 'get_amount')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('party', 'ASC'), ('id', 'ASC')]

    def get_amount(self, name):
        "The open amount of the line."
        return self.line.debit - self.line.credit

    @classmethod
    def check(cls, lines):
        "Write the review warnings of the lines, reading each fact once."
        pool = Pool()
        MoveLine = pool.get('account.move.line')
        Interest = pool.get('receivable.collection.dunning.interest')
        parties = {l.party for l in lines if l.party}
        with_credit = {
            (ml.party, ml.move.company) for ml in MoveLine.search([
                    ('party', 'in', [p.id for p in parties]),
                    ('account.type.receivable', '=', True),
                    ('reconciliation', '=', None),
                    ('move.state', '=', 'posted'),
                    ('credit', '>', 0),
                    ])} if parties else set()
        for line in lines:
            warnings = []
            channels = line.level.collection_channels if line.level else ()
            party = line.party
            if 'email' in channels and not party.contact_mechanism_get('email'):
                warnings.append(gettext(
                        'receivable_collection.msg_run_warning_email'))
            if 'sms' in channels and not party.contact_mechanism_get('mobile'):
                warnings.append(gettext(
                        'receivable_collection.msg_run_warning_mobile'))
            if 'letter' in channels and not party.address_get():
                warnings.append(gettext(
                        'receivable_collection.msg_run_warning_address'))
            if (party, line.company) in with_credit:
                warnings.append(gettext(
                        'receivable_collection.msg_run_warning_credit'))
            if line.status == 'window_missed':
                warnings.append(gettext(
                        'receivable_collection.msg_run_warning_window'))
            if line.dunning and line.level and line.level.collection_interest:
                try:
                    with Transaction().set_context(company=line.company.id):
                        Interest.compute(line.dunning, line.run.date)
                except InterestError as error:
                    warnings.append(error.message)
            if line.status == 'below_minimum':
                warnings.append(gettext(
                        'receivable_collection.msg_run_warning_minimum'))
            line.warnings = '\n'.join(warnings) or None
        cls.save(lines)


class Message(_RunCompanyMixin, ModelSQL, ModelView):
    "What one dunning run sent one customer by one channel, to which address."
    __name__ = 'receivable.collection.dunning.message'

    run = fields.Many2One(
        'receivable.collection.dunning.run', "Run", required=True,
        ondelete='CASCADE', readonly=True)
    party = fields.Many2One(
        'party.party', "Customer", required=True, readonly=True,
        context={'company': Eval('company', -1)}, depends={'company'})
    channel = fields.Selection([
            ('email', "E-mail"),
            ('letter', "Letter"),
            ('sms', "SMS"),
            ], "Channel", required=True, readonly=True)
    address = fields.Text("Sent To", readonly=True)
    subject = fields.Char("Subject", readonly=True)
    dunnings = fields.Many2Many(
        'receivable.collection.dunning.message.line', 'message', 'dunning',
        "Dunnings", readonly=True)
    document = fields.Binary(
        "Document", filename='document_name', readonly=True)
    document_name = fields.Char("Document Name", readonly=True)
    state = fields.Selection([
            ('sent', "Sent"),
            ('failed', "Failed"),
            ], "State", required=True, readonly=True)
    error = fields.Text("Error", readonly=True)

    @classmethod
    def send_for(cls, run, company, dunnings):
        "Send each customer of company one message per channel for all its dunnings."
        pool = Pool()
        Email = pool.get('ir.email')
        messages, emails = [], []
        by_channel = defaultdict(list)
        for dunning in dunnings:
            if dunning.state != 'waiting':
                continue
            for channel in dunning.level.collection_channels:
                if channel in {'email', 'letter', 'sms'}:
                    by_channel[(dunning.party, channel)].append(dunning)
        managers = {}
        if any(channel == 'email' for _, channel in by_channel):
            # Strict: when the SMTP server cannot take the e-mails at commit,
            # the whole run rolls back instead of recording them as sent.
            managers['email'] = Transaction().join(SMTPDataManager(strict=True))
        if any(channel == 'sms' for _, channel in by_channel):
            managers['sms'] = cls._sms_manager(company)
        for party, channel in sorted(
                by_channel, key=lambda k: (k[0].rec_name, k[0].id, k[1])):
            message = cls(
                run=run, company=company, party=party, channel=channel,
                dunnings=by_channel[(party, channel)])
            try:
                email = getattr(message, f'_send_{channel}')(managers.get(channel))
            except Exception as exception:  # one customer's error must not stop the run
                message.state = 'failed'
                message.error = str(exception)
            else:
                message.state = 'sent'
                if email is not None:
                    emails.append((message, email))
            messages.append(message)
        cls.save(messages)
        Email.save([
                Email.from_message(email, resource=message)
                for message, email in emails])
        return messages

    def _render(self, report_name, action_id=None, **data):
        "Run a dunning report over the message's dunnings."
        pool = Pool()
        Report = pool.get(report_name, type='report')
        language = self._language()
        with Transaction().set_context(language=language.code):
            return Report.execute(
                [d.id for d in self.dunnings],
                {'action_id': action_id, 'language': language, **data})

    def _language(self):
        "The customer's language, else the server's."
        pool = Pool()
        Lang = pool.get('ir.lang')
        Configuration = pool.get('ir.configuration')
        if self.party.lang:
            return self.party.lang
        lang, = Lang.search([('code', '=', Configuration.get_language())], limit=1)
        return lang

    def _send_email(self, datamanager):
        "Build and queue the e-mail; it leaves when the transaction commits."
        contact = self.party.contact_mechanism_get('email')
        if not contact or not contact.email:
            raise ValueError(gettext('receivable_collection.msg_run_warning_email'))
        level = self.dunnings[0].level
        template = level.email_template
        ext, content, _, title = self._render(template.report_name, template.id)
        msg = EmailMessage()
        maintype, subtype = (mimetypes.guess_type(f'x.{ext}')[0] or 'text/html').split('/')
        if isinstance(content, bytes):
            content = content.decode('utf-8')
        msg.set_content(content, subtype=subtype)
        msg['From'] = self._email_from(level)
        msg['To'] = formataddr((contact.name or self.party.rec_name, contact.email))
        msg['Subject'] = title
        msg['Auto-Submitted'] = 'auto-generated'
        send_message_transactional(msg, datamanager=datamanager)
        self.address = contact.email
        self.subject = title
        self.document = content.encode('utf-8')
        self.document_name = f'{title}.{ext}'
        return msg

    def _email_from(self, level):
        "The level's sender, else the company's e-mail address, else the server's."
        if level.email_from:
            return level.email_from
        contact = self.company.party.contact_mechanism_get('email')
        if contact and contact.email:
            return formataddr((self.company.rec_name, contact.email))
        return config.get('email', 'from')

    @classmethod
    def _sms_manager(cls, company):
        "The company's SMS provider, joined to the transaction, or None."
        pool = Pool()
        Configuration = pool.get('receivable.collection.configuration')
        configuration = Configuration(1)
        url = configuration.get_multivalue('collection_sms_url', company=company.id)
        if not url:
            return None
        return Transaction().join(SMSDataManager(
                url, configuration.get_multivalue(
                    'collection_sms_token', company=company.id)))

    def _send_sms(self, datamanager):
        "Queue a short reminder; it is posted to the provider at commit."
        if datamanager is None:
            raise ValueError(gettext('receivable_collection.msg_run_no_sms_provider'))
        mobile = self.party.contact_mechanism_get('mobile')
        if not mobile or not mobile.value:
            raise ValueError(gettext('receivable_collection.msg_run_warning_mobile'))
        totals = defaultdict(Decimal)
        for dunning in self.dunnings:
            totals[dunning.second_currency] += dunning.amount_second_currency
        amounts = ', '.join(
            f"{amount} {currency.code}" for currency, amount in totals.items())
        text = gettext(
            'receivable_collection.msg_run_sms_text',
            company=self.company.rec_name, count=len(self.dunnings),
            amounts=amounts)
        reference = f'dunning-run-{self.run.id}-{self.party.id}'
        datamanager.put(sms_payload(mobile.value, text, reference))
        self.address = mobile.value
        self.subject = text
        return None

    def _send_letter(self, datamanager):
        "Render the customer's letter as PDF and keep it with its postal address."
        address = self.party.address_get()
        if not address:
            raise ValueError(gettext('receivable_collection.msg_run_warning_address'))
        pool = Pool()
        Data = pool.get('ir.model.data')
        ext, content, _, title = self._render(
            'account.dunning.letter',
            Data.get_id('receivable_collection', 'report_dunning_letter'),
            letter=True)
        with Transaction().set_context(address_with_party=True):
            self.address = address.__class__(address.id).full_address
        self.subject = title
        self.document = bytes(content) if not isinstance(content, str) else content.encode()
        self.document_name = f'{title}.{ext}'
        return None


class MessageLine(ModelSQL):
    "Dunning covered by a message."
    __name__ = 'receivable.collection.dunning.message.line'

    message = fields.Many2One(
        'receivable.collection.dunning.message', "Message", required=True,
        ondelete='CASCADE')
    dunning = fields.Many2One(
        'account.dunning', "Dunning", required=True, ondelete='CASCADE')
