# This file is part of receivable_collection_agency.  The COPYRIGHT file at
# the top level of this repository contains the full copyright notices and
# license terms.
"Errors raised by the agency module."
from trytond.exceptions import UserError


class ProfileActivationError(UserError):
    "An agency profile cannot be activated yet."


class ProfileValueError(UserError):
    "A value of an agency profile is not acceptable."


class CaseError(UserError):
    "An agency case cannot be changed that way."


class HandoverError(UserError):
    "Invoices cannot be handed over that way."


class AgencyFileError(UserError):
    "A file from the agency cannot be imported."
