# This file is part of receivable_collection_agency.  The COPYRIGHT file at
# the top level of this repository contains the full copyright notices and
# license terms.
"What agencies ask of a debtor that Tryton's party does not hold."
from trytond.model import fields
from trytond.pool import PoolMeta


class Party(metaclass=PoolMeta):
    "Party with the debtor facts agencies check."
    __name__ = 'party.party'

    agency_debtor_type = fields.Selection([
            (None, "Automatic"),
            ('person', "Person"),
            ('company', "Company"),
            ], "Debtor Type",
        help="How agencies see the party. Automatic: a company when it has a "
        "tax or registration number, else a person.")
    agency_insolvent = fields.Boolean(
        "Insolvent", help="Bankrupt or in insolvency: no agency takes the claims.")
    agency_birth_date = fields.Date(
        "Birth Date", help="For persons, when an agency sets a minimum age.")
