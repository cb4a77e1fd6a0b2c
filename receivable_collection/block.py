# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"Dated dunning blocks on an invoice line or a whole customer."
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Bool, Eval, If
from trytond.transaction import Transaction

from .exceptions import BlockError


class Block(ModelSQL, ModelView):
    "A dunning block: from a date, until a date, with the reason and who set it."
    __name__ = 'receivable.collection.dunning.block'

    company = fields.Many2One(
        'company.company', "Company", required=True,
        states={'readonly': Eval('id', -1) >= 0})
    party = fields.Many2One(
        'party.party', "Customer", required=True,
        context={'company': Eval('company', -1)}, depends={'company'},
        states={'readonly': Eval('id', -1) >= 0})
    line = fields.Many2One(
        'account.move.line', "Line",
        domain=[
            ('account.type.receivable', '=', True),
            ('party', '=', Eval('party', -1)),
            ('move.company', '=', Eval('company', -1)),
            ],
        states={'readonly': Eval('id', -1) >= 0},
        help="The receivable line blocked. Empty: every line of the customer.")
    reason = fields.Text("Reason", required=True)
    date_from = fields.Date(
        "From", required=True,
        domain=[If(Bool(Eval('date_until')),
                ('date_from', '<', Eval('date_until')), ())])
    date_until = fields.Date(
        "Until", help="The first day the block no longer applies. "
        "Empty: until lifted.")
    lifted_by = fields.Many2One('res.user', "Lifted By", readonly=True)
    in_force = fields.Function(
        fields.Boolean("In Force"), 'get_in_force', searcher='search_in_force')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_indexes.add(Index(
                table, (table.party, Index.Equality()),
                (table.date_from, Index.Range())))
        cls._order.insert(0, ('date_from', 'DESC'))
        cls._buttons.update({
                'lift': {
                    'invisible': ~Eval('in_force', False),
                    'depends': ['in_force'],
                    },
                })

    @classmethod
    def default_company(cls):
        "The company of the context."
        return Transaction().context.get('company')

    @classmethod
    def default_date_from(cls):
        "Blocks start today."
        return Pool().get('ir.date').today()

    @classmethod
    def _today(cls):
        "Today for the current company."
        return Pool().get('ir.date').today()

    def get_in_force(self, name):
        "Whether the block applies today."
        return self.applies_on(self._today())

    def applies_on(self, date):
        "Whether the block applies on date."
        return self.date_from <= date and (
            self.date_until is None or date < self.date_until)

    @classmethod
    def search_in_force(cls, name, clause):
        "Blocks that apply today (or not)."
        today = cls._today()
        domain = [
            ('date_from', '<=', today),
            ['OR', ('date_until', '=', None), ('date_until', '>', today)],
            ]
        _, operator, value = clause
        if (operator == '=') != bool(value):
            domain = ['OR',
                ('date_from', '>', today),
                ('date_until', '<=', today),
                ]
        return domain

    @classmethod
    def validate_fields(cls, blocks, field_names):
        "A block on a line must be for the line's customer."
        super().validate_fields(blocks, field_names)
        for block in blocks:
            if block.line and block.line.party != block.party:
                raise BlockError(gettext(
                        'receivable_collection.msg_dunning_block_party',
                        line=block.line.rec_name, party=block.party.rec_name))

    @classmethod
    @ModelView.button
    def lift(cls, blocks):
        "End the blocks today."
        today = cls._today()
        cls.write([b for b in blocks if b.applies_on(today)], {
                'date_until': today,
                'lifted_by': Transaction().user,
                })

    @classmethod
    def blocked_lines(cls, lines, date):
        "The lines among lines blocked on date, with the reason, in one query."
        parties = {line.party.id for line in lines if line.party}
        if not parties:
            return {}
        blocks = cls.search([
                ('party', 'in', list(parties)),
                ('date_from', '<=', date),
                ['OR', ('date_until', '=', None), ('date_until', '>', date)],
                ])
        by_party, by_line = {}, {}
        for block in blocks:
            if block.line:
                by_line[block.line.id] = block.reason
            else:
                by_party[block.party.id] = block.reason
        result = {}
        for line in lines:
            reason = by_line.get(line.id) or by_party.get(
                line.party.id if line.party else None)
            if reason:
                result[line] = reason
        return result
