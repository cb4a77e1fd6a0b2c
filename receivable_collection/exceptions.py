# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"Errors raised by receivable collection."
from trytond.exceptions import UserError


class ConfigurationError(UserError):
    "A collection setting is invalid."
