# This file is part of receivable_collection_nets.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and
# license terms.
"Errors raised by the Nets module."
from trytond.model.exceptions import ValidationError


class NetsAgreementError(ValidationError):
    "A Nets agreement field does not have the form Nets requires."
