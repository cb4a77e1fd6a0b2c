# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"Errors raised by receivable collection."
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError


class ConfigurationError(UserError):
    "A collection setting is invalid."


class DunningLevelError(UserError):
    "A dunning procedure or level breaks the dunning rules."


class BlockError(UserError):
    "A dunning block is inconsistent."


class DuplicateFileError(UserError):
    "A file was already imported or exported."


class FileFormatError(UserError):
    "A file cannot be read in its format."


class InterestError(UserError):
    "Interest cannot be computed or posted."


class ClearingError(UserError):
    "A payment cannot be cleared against a dunned invoice."


class CollectionJournalError(UserError):
    "A collection journal cannot be exported or closed."


class CollectionImportError(UserError):
    "An incoming collection file cannot be applied."


class CollectionExceptionError(UserError):
    "An exception of the queue cannot be resolved that way."


class DunningRunCompanyError(AccessError):
    "A dunning run covers a company the user does not work for."
