# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"Scheduled actions of receivable collection."
from trytond.pool import PoolMeta


class Cron(metaclass=PoolMeta):
    "Scheduler that also creates the daily dunning runs."
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        method = ('receivable.collection.dunning.run|cron_run', "Create Dunning Runs")
        if method not in cls.method.selection:
            cls.method.selection.append(method)
