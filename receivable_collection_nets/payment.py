# This file is part of receivable_collection_nets.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and
# license terms.
"Nets Betalingsservice agreement on Tryton's payment journals."
from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval

from .exceptions import NetsAgreementError

_NETS = Eval('process_method') == 'nets_bs'
_STATES = {'required': _NETS, 'invisible': ~_NETS}

# field name -> number of digits Nets requires
NETS_DIGITS = {
    'nets_data_supplier': 8,
    'nets_creditor_number': 8,
    'nets_debtor_group': 5,
    'nets_bank_code': 4,
    'nets_bank_account': 10,
    }


class Journal(metaclass=PoolMeta):
    "Payment journal carrying a Nets Betalingsservice agreement."
    __name__ = 'account.payment.journal'

    nets_data_supplier = fields.Char(
        "Data Supplier CVR", size=8, states=_STATES,
        help="The 8-digit CVR number of whoever sends the files to Nets.")
    nets_subsystem = fields.Char(
        "Subsystem", size=3, states=_STATES,
        help="The subsystem agreed with Nets, BS1 as standard.")
    nets_creditor_number = fields.Char(
        "PBS Number", size=8, states=_STATES,
        help="The creditor's 8-digit number at Nets.")
    nets_debtor_group = fields.Char(
        "Debtor Group", size=5, states=_STATES,
        help="The 5-digit debtor group the collections are sent under.")
    nets_section = fields.Selection([
            (None, ''),
            ('0112', "0112 Automatic payments"),
            ('0117', "0117 FI card, short deadline"),
            ], "Section", states=_STATES, sort=False,
        help="The section of the 0601 delivery the collections go in.")
    nets_bank_code = fields.Char(
        "Settlement Registration Number", size=4, states=_STATES,
        help="The bank registration number the section settles to.")
    nets_bank_account = fields.Char(
        "Settlement Account Number", size=10, states=_STATES,
        help="The account number the section settles to.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        method = ('nets_bs', "Nets Betalingsservice")
        if method not in cls.process_method.selection:
            cls.process_method.selection.append(method)

    @classmethod
    def default_nets_subsystem(cls):
        "Nets' standard subsystem."
        return 'BS1'

    @classmethod
    def default_nets_section(cls):
        "Ordinary automatic-payment collections."
        return '0112'

    @classmethod
    def validate_fields(cls, journals, field_names):
        "Check the agreement numbers have the digits Nets requires."
        super().validate_fields(journals, field_names)
        for journal in journals:
            for name, digits in NETS_DIGITS.items():
                value = getattr(journal, name)
                if value and not (value.isdigit() and len(value) == digits):
                    raise NetsAgreementError(gettext(
                            'receivable_collection_nets.msg_agreement_digits',
                            journal=journal.rec_name,
                            field=getattr(cls, name).string,
                            digits=digits, value=value))
