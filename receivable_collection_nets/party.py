# This file is part of receivable_collection_nets.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and
# license terms.
"Nets mandates on parties."
from trytond.model import fields
from trytond.pool import PoolMeta


class Party(metaclass=PoolMeta):
    "Parties with their Nets Betalingsservice mandates."
    __name__ = 'party.party'

    nets_mandates = fields.One2Many(
        'receivable.collection.nets.mandate', 'party', "Nets Mandates")

    @classmethod
    def copy(cls, parties, default=None):
        "A copy has no Nets mandate: the customer numbers are unique."
        default = default.copy() if default is not None else {}
        default.setdefault('nets_mandates', [])
        return super().copy(parties, default=default)


class Replace(metaclass=PoolMeta):
    "Move the Nets mandates to the party that replaces another."
    __name__ = 'party.replace'

    @classmethod
    def fields_to_replace(cls):
        "Add the party of the Nets mandates."
        return super().fields_to_replace() + [
            ('receivable.collection.nets.mandate', 'party'),
            ]
