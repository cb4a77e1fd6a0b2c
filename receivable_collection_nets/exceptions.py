# This file is part of receivable_collection_nets.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and
# license terms.
"Errors raised by the Nets module."
from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError
from trytond.modules.account_payment.exceptions import ProcessError


class NetsAgreementError(ValidationError):
    "A Nets agreement field does not have the form Nets requires."


class NetsMandateError(ValidationError):
    "A Nets mandate does not have the form Nets gives it."


class NetsExportError(ProcessError):
    "Payments cannot be written to a Nets delivery."


class NetsImportError(UserError):
    "A Nets reply cannot be imported."
