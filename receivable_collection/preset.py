# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"Load a country's dunning preset as a Tryton dunning procedure."
import datetime as dt

from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.wizard import Button, StateAction, StateView, Wizard

from . import dunning_rules as rules

PRESET_NAMES = [
    ('DE', "Germany"),
    ('DK', "Denmark"),
    ('SE', "Sweden"),
    ('NO', "Norway"),
    ('EU', "EU default"),
    ]


def _describe(preset):
    "One line per level: the summary the admin reads before loading."
    lines = []
    for index, level in enumerate(preset.levels, 1):
        fee = f", fee {level.fee} {preset.currency}" if level.fee else ""
        role = " (handover)" if level.handover else (
            " (announces handover)" if level.notice else "")
        lines.append(
            f"{index}. {level.name}: from {level.days_overdue} days overdue, "
            f"at most {level.max_window} days late, by {', '.join(level.channels)}"
            f"{fee}{role}")
    fees = preset.fees
    if fees.max_fee_reminders is not None:
        lines.append(
            f"At most {fees.max_fee_reminders} reminders with a fee, "
            f"{fees.min_spacing_days} days apart.")
    lines.append(f"Notice before handover: {preset.notice.min_days} days.")
    lines.append("Sources: " + "; ".join(preset.sources))
    return "\n".join(lines)


class LoadPresetStart(ModelView):
    "Which country preset to load and the fee for its fee-bearing levels."
    __name__ = 'receivable.collection.dunning.preset.start'

    preset = fields.Selection(PRESET_NAMES, "Preset", required=True)
    name = fields.Char("Procedure Name", required=True)
    fee = fields.Many2One(
        'account.dunning.fee', "Fee",
        help="The fee put on the levels the preset charges a fee for. "
        "Empty: the levels are created without fee.")
    summary = fields.Text("Levels", readonly=True)

    @classmethod
    def default_preset(cls):
        "The EU default preset."
        return 'EU'

    @fields.depends('preset')
    def on_change_with_summary(self):
        "What the preset will create."
        if self.preset:
            return _describe(rules.default_presets().presets[self.preset])

    @fields.depends('preset')
    def on_change_preset(self):
        "Name the procedure after the preset."
        if self.preset:
            self.name = f"{dict(PRESET_NAMES)[self.preset]} preset"


class LoadPreset(Wizard):
    "Create a dunning procedure from a country preset; editable afterwards."
    __name__ = 'receivable.collection.dunning.preset'

    start = StateView('receivable.collection.dunning.preset.start',
        'receivable_collection.dunning_preset_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Load", 'load', 'tryton-ok', default=True),
            ])
    load = StateAction('account_dunning.act_dunning_procedure_form')

    def do_load(self, action):
        "Create the procedure and open it."
        procedure = self.create_procedure(
            rules.default_presets().presets[self.start.preset],
            self.start.name, self.start.fee)
        action['res_id'] = [procedure.id]
        action['views'].reverse()
        return action, {}

    @classmethod
    def create_procedure(cls, preset, name, fee=None):
        "A saved procedure whose levels and caps are the preset's."
        pool = Pool()
        Procedure = pool.get('account.dunning.procedure')
        Level = pool.get('account.dunning.level')
        levels = []
        for sequence, rule in enumerate(preset.levels, 1):
            level = Level(
                sequence=sequence,
                overdue=dt.timedelta(days=rule.days_overdue),
                collection_window=rule.max_window,
                collection_notice=rule.notice,
                collection_sets_default=rule.sets_default,
                collection_handover=rule.handover)
            if 'print_on_letter' in Level._fields:
                level.print_on_letter = 'letter' in rule.channels
            if 'send_email' in Level._fields:
                level.send_email = 'email' in rule.channels
            if 'fee' in Level._fields:
                level.fee = fee if (fee and rule.fee) else None
            levels.append(level)
        Rate = pool.get('receivable.collection.interest.rate')
        interest = preset.interest
        procedure = Procedure(
            name=name,
            levels=levels,
            collection_day_basis='maturity_date',
            collection_max_fee_reminders=preset.fees.max_fee_reminders,
            collection_min_spacing=preset.fees.min_spacing_days,
            collection_notice_days=preset.notice.min_days,
            collection_interest_reference=interest.reference,
            collection_interest_margin_b2b=interest.margin_b2b,
            collection_interest_margin_b2c=interest.margin_b2c,
            collection_interest_day_count=interest.day_count,
            collection_interest_from=(
                'default_date' if interest.accrues_from == 'default_date'
                else 'due_date'))
        procedure.save()
        Rate.load_preset_rates(interest.reference)
        return procedure

