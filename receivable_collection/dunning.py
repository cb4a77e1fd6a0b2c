# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"Dunning by age: levels with windows, fee caps, blocks and a reminder log."
from collections import defaultdict
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, check_access

from . import dunning_rules as rules
from .exceptions import DunningLevelError

# No window: the level may be sent until the next level starts, the last
# one for a century.
_OPEN_WINDOW = 36500


class Procedure(metaclass=PoolMeta):
    "Dunning procedure whose levels are chosen by the age of the line."
    __name__ = 'account.dunning.procedure'

    collection_day_basis = fields.Selection([
            ('maturity_date', "Due Date"),
            ('invoice_date', "Invoice Date"),
            ], "Count Days From", required=True,
        help="The date the days of each level are counted from.")
    collection_max_fee_reminders = fields.Integer(
        "Maximum Fee-Bearing Reminders",
        help="After this many reminders with a fee, later levels go out "
        "without fee. Empty: no limit.")
    collection_min_spacing = fields.Integer(
        "Minimum Days Between Fees", required=True,
        help="A level with a fee waits, inside its window, until the "
        "previous reminder with a fee is this many days old.")
    collection_unattended = fields.Boolean(
        "Process Unattended",
        help="The daily dunning run sends this procedure's reminders without "
        "waiting for an accountant's review.")
    collection_interest_reference = fields.Char(
        "Interest Reference",
        help="The reference rate late interest follows (see Interest Rates), "
        "e.g. DK_NB_LENDING. Empty: no interest.")
    collection_interest_margin_b2b = fields.Numeric(
        "Margin for Businesses", digits=(16, 2),
        help="Percentage points on top of the reference rate for customers "
        "with a tax identifier.")
    collection_interest_margin_b2c = fields.Numeric(
        "Margin for Consumers", digits=(16, 2),
        help="Percentage points on top of the reference rate for the others.")
    collection_interest_from = fields.Selection([
            ('due_date', "Due Date"),
            ('default_date', "Default Date"),
            ], "Interest From", required=True,
        help="Interest runs from the due date, or from the reminder of the "
        "level that puts the customer in default (e.g. §286 BGB).")
    collection_interest_day_count = fields.Selection(
        [(c, c) for c in rules.DAY_COUNTS], "Day Count", required=True)
    collection_notice_days = fields.Integer(
        "Notice Days Before Handover",
        help="The handover level waits until the level announcing it was "
        "sent this many days ago. Empty: no notice needed.")

    @classmethod
    def default_collection_day_basis(cls):
        "Count from the due date, as the law presets do."
        return 'maturity_date'

    @classmethod
    def default_collection_interest_from(cls):
        "From the due date, as most presets say."
        return 'due_date'

    @classmethod
    def default_collection_interest_day_count(cls):
        "Actual days over 365, as the presets do."
        return rules.ACT_365

    @classmethod
    def default_collection_min_spacing(cls):
        "No spacing unless the preset or admin asks for it."
        return 0

    @classmethod
    def validate(cls, procedures):
        "Refuse levels that overlap, go backwards or carry negative values."
        super().validate(procedures)
        cls.check_collection_levels(procedures)

    @classmethod
    def check_collection_levels(cls, procedures):
        "Check the levels of each procedure with the dunning rules."
        for procedure in procedures:
            for name in ['collection_max_fee_reminders', 'collection_min_spacing',
                    'collection_notice_days']:
                value = getattr(procedure, name)
                if value is not None and value < 0:
                    raise DunningLevelError(gettext(
                            'receivable_collection.msg_dunning_procedure_negative',
                            procedure=procedure.rec_name,
                            field=getattr(cls, name).string, value=value))
            procedure.collection_rules()

    def collection_rules(self):
        "The levels as dunning rules, in procedure order."
        levels = list(self.levels)
        result = []
        for index, level in enumerate(levels):
            following = levels[index + 1] if index + 1 < len(levels) else None
            result.append(level.collection_rule(index + 1, following))
        try:
            return rules.validate_levels(result)
        except rules.RuleError as error:
            level = self._collection_level_of(error.field, levels)
            raise DunningLevelError(gettext(
                    'receivable_collection.msg_dunning_level_invalid',
                    procedure=self.rec_name,
                    level=level.rec_name if level else '',
                    field=self._collection_field_of(error.field),
                    message=error.message)) from error

    @staticmethod
    def _collection_level_of(path, levels):
        "The level named in an error path like levels[2].max_window."
        if path.startswith('levels[') and ']' in path:
            index = path[len('levels['):path.index(']')]
            if index.isdigit() and int(index) < len(levels):
                return levels[int(index)]

    @classmethod
    def _collection_field_of(cls, path):
        "The label of the Tryton field behind a rule field."
        pool = Pool()
        Level = pool.get('account.dunning.level')
        name = path.rsplit('.', 1)[-1]
        field = {
            'days_overdue': 'overdue',
            'max_window': 'collection_window',
            'fee': 'fee',
            'channels': 'send_email',
            'notice': 'collection_notice',
            'handover': 'collection_handover',
            }.get(name)
        if field and field in Level._fields:
            return Level._fields[field].string
        return name

    def collection_caps(self):
        "The fee caps and the notice rule of the procedure."
        return rules.Caps(
            max_fee_reminders=self.collection_max_fee_reminders,
            min_spacing_days=self.collection_min_spacing or 0,
            notice_min_days=self.collection_notice_days)


class Level(metaclass=PoolMeta):
    "Dunning level with a window, channels and the days the customer gets."
    __name__ = 'account.dunning.level'

    collection_window = fields.Integer(
        "Window",
        help="How many days late the level may still be sent. "
        "Empty: until the next level starts.")
    collection_payment_days = fields.Integer(
        "Days to Pay", help="The days the customer gets to pay, printed on "
        "the reminder.")
    collection_minimum_amount = fields.Numeric(
        "Minimum Amount", digits=(16, 2),
        help="Lines with less open are not reminded at this level.")
    collection_notice = fields.Boolean(
        "Announces Handover",
        help="The reminder of this level is the notice before handover.")
    collection_sets_default = fields.Boolean(
        "Puts in Default",
        help="The reminder of this level puts the customer in default: "
        "interest from the default date runs from when it was sent.")
    collection_channels_text = fields.Function(
        fields.Char("Channels"), 'get_collection_channels_text')
    collection_sms = fields.Boolean(
        "Send SMS", help="Also send the customer an SMS through the company's "
        "SMS provider.")
    collection_interest = fields.Boolean(
        "Charge Interest",
        help="When this level is sent, the interest accrued since the due "
        "date (or the last charge) is posted to the customer.")
    collection_handover = fields.Boolean(
        "Hand Over to Agency",
        help="At this level the claim goes to a collection agency.")

    @classmethod
    def default_email_template(cls):
        "The collection reminder, which shows interest and the date to pay by."
        pool = Pool()
        Data = pool.get('ir.model.data')
        try:
            return Data.get_id('receivable_collection', 'report_dunning_email')
        except KeyError:
            return super().default_email_template()

    @classmethod
    def validate(cls, levels):
        "Check the procedures of the levels as a whole."
        pool = Pool()
        Procedure = pool.get('account.dunning.procedure')
        super().validate(levels)
        for level in levels:
            for name in ['collection_window', 'collection_payment_days',
                    'collection_minimum_amount']:
                value = getattr(level, name)
                if value is not None and value < 0:
                    raise DunningLevelError(gettext(
                            'receivable_collection.msg_dunning_level_negative',
                            level=level.rec_name,
                            field=getattr(cls, name).string, value=value))
        Procedure.check_collection_levels(list({level.procedure for level in levels}))

    def get_collection_channels_text(self, name):
        "The channels, for lists."
        return ', '.join(self.collection_channels)

    @property
    def collection_channels(self):
        "How the level reaches the customer."
        if self.collection_handover:
            return (rules.HANDOVER_CHANNEL,)
        channels = []
        if getattr(self, 'send_email', False):
            channels.append('email')
        if getattr(self, 'print_on_letter', False):
            channels.append('letter')
        if self.collection_sms:
            channels.append('sms')
        return tuple(channels)

    @property
    def collection_fee_bearing(self):
        "Whether the level charges a fee."
        return bool(getattr(self, 'fee', None))

    def collection_rule(self, sequence, following=None):
        "The level as a dunning rule; the window closes before the next level."
        days = self.overdue.days if self.overdue is not None else -1
        window = self.collection_window
        if window is None:
            if following is not None and following.overdue is not None:
                window = max(following.overdue.days - days - 1, 0)
            else:
                window = _OPEN_WINDOW
        return rules.LevelRule(
            sequence=sequence,
            name=f'{sequence}@{self.procedure.rec_name}',
            days_overdue=days,
            max_window=window,
            fee=Decimal(1) if self.collection_fee_bearing else rules.ZERO,
            channels=self.collection_channels,
            notice=bool(self.collection_notice),
            handover=bool(self.collection_handover))


class Dunning(metaclass=PoolMeta):
    "Dunning that keeps the level the age of its line calls for."
    __name__ = 'account.dunning'

    collection_status = fields.Selection([
            (None, ""),
            ('send', "To Send"),
            ('window_missed', "Window Missed"),
            ('wait_spacing', "Waiting for Fee Spacing"),
            ('wait_notice', "Waiting for Notice"),
            ('below_minimum', "Below Minimum"),
            ('blocked', "Blocked"),
            ], "Collection Status", readonly=True,
        help="What the last dunning run decided for the line.")
    collection_note = fields.Char("Collection Note", readonly=True)
    collection_fee_waived = fields.Boolean(
        "Fee Waived", readonly=True,
        help="The procedure's maximum of reminders with a fee was reached: "
        "this level goes out without fee.")
    collection_reminders = fields.One2Many(
        'receivable.collection.dunning.reminder', 'dunning', "Reminders",
        readonly=True)
    collection_interests = fields.One2Many(
        'receivable.collection.dunning.interest', 'dunning', "Interest",
        readonly=True)
    collection_interest = fields.Function(fields.Numeric(
            "Interest Charged", digits=(16, 2)), 'get_collection_interest')

    @classmethod
    def generate_dunnings(cls, date=None):
        "Give each overdue line the level its age calls for, once per date."
        pool = Pool()
        Date = pool.get('ir.date')
        cls.collection_generate(date or Date.today())

    @classmethod
    def collection_generate(cls, date, company=None, procedures=None):
        """Decide every overdue line of the company and procedures for date.

        Return the (line, dunning, status, note) of each line that has
        something to send or to show: blocked lines have no dunning created.
        """
        pool = Pool()
        MoveLine = pool.get('account.move.line')
        Block = pool.get('receivable.collection.dunning.block')

        dunning_domain = [
            ('state', 'in', ['draft', 'waiting']),
            ('blocked', '=', False),
            ('line.reconciliation', '=', None),
            ]
        line_domain = [cls._overdue_line_domain(date)]
        if company:
            dunning_domain.append(('company', '=', company.id))
            line_domain.append(('move.company', '=', company.id))
        if procedures:
            dunning_domain.append(('procedure', 'in', [p.id for p in procedures]))
        with check_access():
            dunnings = cls.search(dunning_domain)
            lines = MoveLine.search(line_domain)
        dunnings = cls.browse(dunnings)
        for line in MoveLine.browse(lines):
            procedure = line.dunning_procedure
            if procedure and (not procedures or procedure in procedures):
                dunnings.append(cls(
                        company=line.account.company, line=line,
                        procedure=procedure, state='draft',
                        collection_status=None, collection_note=None,
                        collection_fee_waived=False))
        blocked = Block.blocked_lines([d.line for d in dunnings], date)
        history = cls._collection_history(dunnings)

        to_save, decided = [], []
        for dunning in dunnings:
            if any(r.date > date for r in history.get(dunning.id, ())):
                # A run dated before a reminder already sent decides nothing.
                continue
            if dunning.line in blocked:
                if dunning.id is not None and dunning.state == 'draft':
                    dunning.collection_status = 'blocked'
                    dunning.collection_note = blocked[dunning.line]
                    to_save.append(dunning)
                decided.append((dunning.line, dunning if dunning.id else None,
                        'blocked', blocked[dunning.line]))
                continue
            decision = dunning._collection_decision(
                date, history.get(dunning.id, ()))
            if dunning._collection_apply(decision):
                to_save.append(dunning)
            if dunning.collection_status:
                decided.append((dunning.line, dunning,
                        dunning.collection_status, dunning.collection_note))
        cls.save(to_save)
        return decided

    def get_collection_interest(self, name):
        "The interest charged so far, in the line's currency."
        return sum((i.amount for i in self.collection_interests), Decimal(0))

    @classmethod
    def _collection_history(cls, dunnings):
        "The reminders already sent, per dunning id, read in one query."
        pool = Pool()
        Reminder = pool.get('receivable.collection.dunning.reminder')
        ids = [d.id for d in dunnings if d.id is not None]
        history = defaultdict(list)
        for reminder in Reminder.search([('dunning', 'in', ids)]):
            history[reminder.dunning.id].append(reminder)
        return history

    def collection_days_overdue(self, date):
        "Days counted from the procedure's basis date up to date."
        basis = self.line.maturity_date
        if self.procedure.collection_day_basis == 'invoice_date':
            basis = self.line.move.date
        return (date - basis).days

    def _collection_decision(self, date, reminders):
        "What the dunning rules decide for this line on date."
        procedure = self.procedure
        sequence = {level: index + 1 for index, level in enumerate(procedure.levels)}
        history = [
            rules.Reminder(
                level_sequence=sequence[r.level], date=r.date,
                fee=Decimal(1) if r.fee_bearing else rules.ZERO)
            for r in reminders if r.level in sequence]
        return rules.choose_level(
            procedure.collection_rules(), self.collection_days_overdue(date),
            history, procedure.collection_caps(), date)

    def _collection_apply(self, decision):
        "Set level, state and status from a decision; return if it changed."
        status = {
            rules.SEND: 'send',
            rules.WINDOW_MISSED: 'window_missed',
            rules.WAIT_SPACING: 'wait_spacing',
            rules.WAIT_NOTICE: 'wait_notice',
            }.get(decision.status)
        rule = decision.level or (decision.missed[-1] if decision.missed else None)
        if status is None or rule is None:
            if self.id is not None and self.collection_status:
                self.collection_status = None
                self.collection_note = decision.reason
                return True
            return False
        level = self.procedure.levels[rule.sequence - 1]
        if status == 'send' and not self._collection_above_minimum(level):
            status = 'below_minimum'
        if (self.id is not None and self.state == 'waiting'
                and status != 'send'):
            # The reminder sent stays in force; the run lists the problem.
            self.collection_status = status
            self.collection_note = decision.reason
            return True
        self.level = level
        self.state = 'draft'
        self.date = None
        self.collection_fee_waived = decision.fee_cap_reached
        self.collection_status = status
        self.collection_note = decision.reason
        return True

    def _collection_above_minimum(self, level):
        "Whether the open amount reaches the level's minimum."
        minimum = level.collection_minimum_amount
        if not minimum:
            return True
        return abs(self.line.amount_currency or self.line.debit - self.line.credit) >= minimum

    @classmethod
    def collection_to_send(cls, dunnings):
        "The dunnings a run decided to send: draft, not blocked, status to send."
        return [
            d for d in dunnings
            if d.state == 'draft' and not d.blocked
            and d.collection_status in {None, 'send'}]

    @classmethod
    def process(cls, dunnings):
        "Send only what the run decided to send, and log each reminder."
        pool = Pool()
        Reminder = pool.get('receivable.collection.dunning.reminder')
        Date = pool.get('ir.date')
        to_process = cls.collection_to_send(dunnings)
        super().process(to_process)
        sent = [d for d in to_process if d.state == 'waiting']
        # A run for another date (catching up, or a test calendar) stamps
        # its own date, so the history the rules read is the run's.
        run_date = Transaction().context.get('dunning_date')
        if run_date:
            cls.write(sent, {'date': run_date})
        reminders = [
            Reminder(
                dunning=dunning, level=dunning.level,
                date=dunning.date or Date.today(),
                fee_bearing=(dunning.level.collection_fee_bearing
                    and not dunning.collection_fee_waived))
            for dunning in sent]
        Reminder.save(reminders)
        cls.write(to_process, {'collection_status': None, 'collection_note': None})
        cls._collection_charge_interest(sent, run_date or Date.today())

    @classmethod
    def _collection_charge_interest(cls, dunnings, date):
        "Post the interest of the dunnings whose level charges it."
        pool = Pool()
        Interest = pool.get('receivable.collection.dunning.interest')
        interests = [
            Interest.compute(d, date) for d in dunnings
            if d.level.collection_interest]
        Interest.post([i for i in interests if i], date)


class Reminder(ModelSQL, ModelView):
    "One level of a dunning as it went out: the history the rules decide on."
    __name__ = 'receivable.collection.dunning.reminder'

    dunning = fields.Many2One(
        'account.dunning', "Dunning", required=True, ondelete='CASCADE',
        readonly=True)
    level = fields.Many2One(
        'account.dunning.level', "Level", required=True, readonly=True)
    date = fields.Date("Date", required=True, readonly=True)
    fee_bearing = fields.Boolean("Fee", readonly=True)
    company = fields.Function(fields.Many2One(
            'company.company', "Company"),
        'get_dunning_field', searcher='search_dunning_field')
    party = fields.Function(fields.Many2One(
            'party.party', "Party",
            context={'company': Eval('company', -1)}, depends={'company'}),
        'get_dunning_field', searcher='search_dunning_field')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_constraints = [
            ('dunning_level_unique', Unique(table, table.dunning, table.level),
                'receivable_collection.msg_dunning_reminder_unique'),
            ]
        cls._order.insert(0, ('date', 'DESC'))

    def get_dunning_field(self, name):
        "A field of the dunning."
        value = getattr(self.dunning, name)
        return value.id if value else None

    @classmethod
    def search_dunning_field(cls, name, clause):
        "Search on the dunning."
        return [('dunning.' + clause[0],) + tuple(clause[1:])]


class Fee(metaclass=PoolMeta):
    "Dunning fee that is not charged once the procedure's cap is reached."
    __name__ = 'account.dunning.fee'

    @classmethod
    def validate_fields(cls, fees, field_names):
        "Refuse a fee that would pay the customer instead of charging him."
        super().validate_fields(fees, field_names)
        for fee in fees:
            value, name = None, None
            if fee.compute_method == 'percentage' and (fee.percentage or 0) < 0:
                value, name = fee.percentage, cls.percentage.string
            elif fee.compute_method == 'list_price' and fee.product \
                    and (fee.product.list_price or 0) < 0:
                value, name = fee.product.list_price, "List Price"
            if name:
                raise DunningLevelError(gettext(
                        'receivable_collection.msg_dunning_fee_negative',
                        fee=fee.rec_name, field=name, value=value))

    def get_amount(self, dunning):
        "Nothing when the fee is waived for the dunning."
        amount, currency = super().get_amount(dunning)
        if dunning.collection_fee_waived:
            amount = currency.round(Decimal(0)) if currency else Decimal(0)
        return amount, currency


class FeeDunningLevel(metaclass=PoolMeta):
    "Fee of a dunning level, posted on the run's date; a waived fee posts nothing."
    __name__ = 'account.dunning.fee.dunning_level'

    @classmethod
    def process(cls, fees):
        "Post only the fees that charge something."
        super().process([f for f in fees if f.amount])

    def get_move_process(self):
        "The fee move, dated on the dunning run's date."
        run_date = Transaction().context.get('dunning_date')
        with Transaction().set_context(collection_today=run_date):
            return super().get_move_process()


class Date(metaclass=PoolMeta):
    "Today, or the date a computation is asked to run as of."
    __name__ = 'ir.date'

    @classmethod
    def today(cls, timezone=None):
        "The collection_today of the context if set (e.g. a fee of a dated run)."
        return Transaction().context.get('collection_today') or super().today(
            timezone=timezone)
