# This file is part of receivable_collection_agency.  The COPYRIGHT file at
# the top level of this repository contains the full copyright notices and
# license terms.
"Dunning hands over at its last level and leaves handed-over invoices alone."
from collections import defaultdict

from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.wizard import StateTransition


class Level(metaclass=PoolMeta):
    "Dunning level naming the agency its handover goes to."
    __name__ = 'account.dunning.level'

    agency_profile = fields.Many2One(
        'receivable.collection.agency.profile', "Agency",
        states={'invisible': ~Eval('collection_handover', False)},
        help="The agency the handover level hands over to. Empty: the "
        "company's only active agency.")


class Dunning(metaclass=PoolMeta):
    "Dunning that skips invoices with an agency and hands over at its level."
    __name__ = 'account.dunning'

    @classmethod
    def _overdue_line_domain(cls, date):
        "No new dunning for a line whose invoice is with an agency."
        pool = Pool()
        Case = pool.get('receivable.collection.agency.case')
        domain = super()._overdue_line_domain(date)
        invoices = Case.blocking_invoices()
        if invoices:
            domain = [domain, ('move.origin', 'not in',
                    [f'account.invoice,{i}' for i in invoices])]
        return domain

    @classmethod
    def agency_hand_over(cls, dunnings, date, origin='dunning'):
        """Hand over the invoices of the dunnings sent at a handover level.

        Return {dunning: [Refusal, ...]} for those refused.
        """
        pool = Pool()
        Case = pool.get('receivable.collection.agency.case')
        Invoice = pool.get('account.invoice')
        Profile = pool.get('receivable.collection.agency.profile')
        by_profile = defaultdict(list)
        refused = {}
        for dunning in dunnings:
            if (dunning.state != 'waiting' or not dunning.level.collection_handover
                    or not isinstance(dunning.line.move.origin, Invoice)):
                continue
            profile = dunning.level.agency_profile
            if profile is None:
                profiles = Profile.search([
                        ('company', '=', dunning.company.id), ('state', '=', 'active')])
                profile = profiles[0] if len(profiles) == 1 else None
            if profile is None or profile.state != 'active':
                refused[dunning] = [gettext(
                        'receivable_collection_agency.msg_dunning_no_profile',
                        level=dunning.level.rec_name)]
                continue
            by_profile[profile].append(dunning)
        for profile, p_dunnings in by_profile.items():
            invoices = {d.line.move.origin: d for d in p_dunnings}
            with Transaction().set_context(company=profile.company.id):
                blocking = set(Case.blocking_invoices([i.id for i in invoices]))
                todo = [i for i in invoices if i.id not in blocking]
                cases, refusals = Case.hand_over(profile, todo, date, origin=origin)
                Case.submit(cases)
            for invoice, reasons in refusals.items():
                refused[invoices[invoice]] = [str(r) for r in reasons]
        return refused


class Block(metaclass=PoolMeta):
    "Dunning block that also holds for invoices with an agency."
    __name__ = 'receivable.collection.dunning.block'

    @classmethod
    def blocked_lines(cls, lines, date):
        "The blocked lines, those of invoices with an agency included."
        pool = Pool()
        Case = pool.get('receivable.collection.agency.case')
        Invoice = pool.get('account.invoice')
        result = super().blocked_lines(lines, date)
        if Transaction().context.get('agency_without_cases'):
            return result
        by_invoice = defaultdict(list)
        for line in lines:
            origin = line.move.origin if line.move else None
            if isinstance(origin, Invoice) and line not in result:
                by_invoice[origin.id].append(line)
        if not by_invoice:
            return result
        for invoice_id, case in Case.blocking_cases(list(by_invoice)).items():
            for line in by_invoice[invoice_id]:
                result[line] = gettext(
                    'receivable_collection_agency.msg_block_with_agency',
                    agency=case.profile.agency.rec_name, case=case.rec_name,
                    state=case.state_string)
        return result


class Run(metaclass=PoolMeta):
    "Dunning run whose handover level creates and submits agency cases."
    __name__ = 'receivable.collection.dunning.run'

    @classmethod
    def process(cls, runs):
        "Send the reminders, then hand over the lines at a handover level."
        pool = Pool()
        Dunning = pool.get('account.dunning')
        RunLine = pool.get('receivable.collection.dunning.run.line')
        super().process(runs)
        to_save = []
        for run in runs:
            by_company = defaultdict(dict)
            for line in run.lines:
                if line.status == 'send' and line.dunning:
                    by_company[line.company][line.dunning] = line
            for company, lines in by_company.items():
                dunnings = Dunning.browse([d.id for d in lines])
                with Transaction().set_context(company=company.id):
                    refused = Dunning.agency_hand_over(dunnings, run.date)
                for dunning, reasons in refused.items():
                    line = lines[dunning]
                    line.note = '; '.join(reasons)
                    to_save.append(line)
        RunLine.save(to_save)


class ProcessDunning(metaclass=PoolMeta):
    "Process Dunning with a handover step for the handover level."
    __name__ = 'account.dunning.process'
    agency_hand_over = StateTransition()

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._actions.append('agency_hand_over')

    def transition_agency_hand_over(self):
        "Hand over what the processing left at a handover level without a case."
        pool = Pool()
        Dunning = pool.get('account.dunning')
        Date = pool.get('ir.date')
        dunnings = [d for d in Dunning.browse(self.records) if not d.blocked]
        Dunning.agency_hand_over(dunnings, Date.today())
        return self.next_state('agency_hand_over')


class Cron(metaclass=PoolMeta):
    "Scheduler running the agency's automatic handover and status sync."
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
                ('receivable.collection.agency.case|cron_auto_hand_over',
                    "Hand Over Overdue Invoices to Agencies"),
                ('receivable.collection.agency.profile|cron_sync',
                    "Synchronise Agency Cases"),
                ])
