# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"What the dunning run did and will do, shown on the customer invoice."
import datetime as dt

from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval

_CUSTOMER = {'invisible': Eval('type') != 'out'}


class Invoice(metaclass=PoolMeta):
    "Customer invoice showing its dunning level, block and next step."
    __name__ = 'account.invoice'

    collection_dunning_level = fields.Function(fields.Many2One(
            'account.dunning.level', "Dunning Level", states=_CUSTOMER),
        'get_collection')
    collection_last_reminder = fields.Function(fields.Date(
            "Last Reminder", states=_CUSTOMER),
        'get_collection')
    collection_blocked = fields.Function(fields.Boolean(
            "Dunning Blocked", states=_CUSTOMER),
        'get_collection')
    collection_block_reason = fields.Function(fields.Char(
            "Block Reason", states={
                'invisible': ~Eval('collection_blocked', False)}),
        'get_collection')
    collection_next_step = fields.Function(fields.Char(
            "Next Dunning Step", states=_CUSTOMER),
        'get_collection')

    @classmethod
    def get_collection(cls, invoices, names):
        "Dunning facts of the invoices, read with one query per model."
        pool = Pool()
        Date = pool.get('ir.date')
        Dunning = pool.get('account.dunning')
        Block = pool.get('receivable.collection.dunning.block')
        today = Date.today()
        open_lines = {
            invoice.id: [ln for ln in invoice.lines_to_pay if not ln.reconciliation]
            for invoice in invoices if invoice.type == 'out'}
        all_lines = [line for lines in open_lines.values() for line in lines]
        dunnings = {d.line: d for d in Dunning.search([
                    ('line', 'in', [line.id for line in all_lines]),
                    ])} if all_lines else {}
        blocked = Block.blocked_lines(all_lines, today) if all_lines else {}

        result = {name: {} for name in names}
        for invoice in invoices:
            lines = open_lines.get(invoice.id, [])
            sent = [dunnings[ln] for ln in lines
                if ln in dunnings and dunnings[ln].state != 'draft']
            top = max(sent, key=lambda d: d.procedure.levels.index(d.level),
                default=None)
            reminders = [r.date for d in sent for r in d.collection_reminders]
            steps = [cls._collection_next_step(ln, dunnings.get(ln))
                for ln in lines]
            facts = {
                'collection_dunning_level': top.level.id if top else None,
                'collection_last_reminder': max(reminders, default=None),
                'collection_blocked': any(ln in blocked for ln in lines),
                'collection_block_reason': next(
                    (blocked[ln] for ln in lines if ln in blocked), None),
                'collection_next_step': next((s for s in steps if s), None),
                }
            for name in names:
                result[name][invoice.id] = facts[name]
        return result

    @classmethod
    def _collection_next_step(cls, line, dunning):
        "The next level the line will reach and from which date."
        procedure = dunning.procedure if dunning else line.dunning_procedure
        if not procedure or not line.maturity_date:
            return None
        levels = list(procedure.levels)
        sent = {r.level for r in dunning.collection_reminders} if dunning else set()
        for level in levels:
            if level in sent or level.overdue is None:
                continue
            if dunning and dunning.state != 'draft' and (
                    levels.index(level) <= levels.index(dunning.level)):
                continue
            basis = line.maturity_date
            if procedure.collection_day_basis == 'invoice_date':
                basis = line.move.date
            date = basis + dt.timedelta(days=level.overdue.days)
            return gettext(
                'receivable_collection.msg_invoice_next_step',
                level=levels.index(level) + 1, procedure=procedure.rec_name,
                date=date.isoformat())
        return None
