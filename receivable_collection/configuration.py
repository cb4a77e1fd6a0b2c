# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"Company-dependent settings of receivable collection."
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.modules.company.model import CompanyMultiValueMixin, CompanyValueMixin
from trytond.pool import Pool
from trytond.pyson import Eval

from .exceptions import ConfigurationError

collection_horizon = fields.Integer(
    "Collection Horizon", required=True,
    help="Number of days ahead of today up to which due receivables "
    "are proposed for collection.")
collection_tolerance = fields.Numeric(
    "Payment Tolerance", digits=(16, 2), required=True,
    help="Largest difference between a collection and the amount received "
    "that is written off instead of left open, in company currency.")

collection_interest_account = fields.Many2One(
    'account.account', "Interest Account",
    domain=[
        ('closed', '!=', True),
        ('type.revenue', '=', True),
        ('company', '=', Eval('context', {}).get('company', -1)),
        ],
    help="The revenue account late-payment interest is credited to.")
collection_interest_journal = fields.Many2One(
    'account.journal', "Interest Journal",
    help="The journal interest charges are posted in.")

collection_receipt_journal = fields.Many2One(
    'account.payment.journal', "Receipt Journal",
    domain=[
        ('company', '=', Eval('context', {}).get('company', -1)),
        ('process_method', '=', 'manual'),
        ],
    help="The manual payment journal, with a clearing account, that incoming "
    "transfers and corrected collections are posted through.")
collection_write_off = fields.Many2One(
    'account.move.reconcile.write_off', "Write-off Method",
    domain=[
        ('company', '=', Eval('context', {}).get('company', -1)),
        ],
    help="Journal and accounts the differences within the tolerance are "
    "written off to.")

collection_sms_url = fields.Char(
    "SMS Provider URL",
    help="The HTTP endpoint SMS reminders are posted to as JSON "
    "(to, text, reference).")
collection_sms_token = fields.Char(
    "SMS Provider Token", help="Sent as a bearer token.")

_COMPANY_FIELDS = {
    'collection_horizon', 'collection_tolerance',
    'collection_receipt_journal', 'collection_write_off',
    'collection_interest_account', 'collection_interest_journal',
    'collection_sms_url', 'collection_sms_token'}


class Configuration(
        ModelSingleton, ModelSQL, ModelView, CompanyMultiValueMixin):
    "Receivable collection settings of the current company."
    __name__ = 'receivable.collection.configuration'

    collection_horizon = fields.MultiValue(collection_horizon)
    collection_tolerance = fields.MultiValue(collection_tolerance)
    collection_receipt_journal = fields.MultiValue(collection_receipt_journal)
    collection_write_off = fields.MultiValue(collection_write_off)
    collection_interest_account = fields.MultiValue(collection_interest_account)
    collection_interest_journal = fields.MultiValue(collection_interest_journal)
    collection_sms_url = fields.MultiValue(collection_sms_url)
    collection_sms_token = fields.MultiValue(collection_sms_token)

    @classmethod
    def multivalue_model(cls, field):
        "Store the company-dependent fields in one value model."
        pool = Pool()
        if field in _COMPANY_FIELDS:
            return pool.get('receivable.collection.config.company')
        return super().multivalue_model(field)

    @classmethod
    def default_collection_horizon(cls, **pattern):
        "Default horizon of the company value model."
        return cls.multivalue_model(
            'collection_horizon').default_collection_horizon()

    @classmethod
    def default_collection_tolerance(cls, **pattern):
        "Default tolerance of the company value model."
        return cls.multivalue_model(
            'collection_tolerance').default_collection_tolerance()


class ConfigurationCompany(ModelSQL, CompanyValueMixin):
    "Values of the collection settings for one company."
    __name__ = 'receivable.collection.config.company'

    collection_horizon = collection_horizon
    collection_tolerance = collection_tolerance
    collection_receipt_journal = collection_receipt_journal
    collection_write_off = collection_write_off
    collection_interest_account = collection_interest_account
    collection_interest_journal = collection_interest_journal
    collection_sms_url = collection_sms_url
    collection_sms_token = collection_sms_token

    @classmethod
    def default_collection_horizon(cls):
        "Propose what falls due within the next week."
        return 7

    @classmethod
    def default_collection_tolerance(cls):
        "Write nothing off unless the admin says so."
        return Decimal(0)

    @classmethod
    def validate_fields(cls, records, field_names):
        "Refuse negative horizons and tolerances."
        super().validate_fields(records, field_names)
        for record in records:
            if record.collection_horizon is not None \
                    and record.collection_horizon < 0:
                raise ConfigurationError(gettext(
                        'receivable_collection.msg_configuration_negative',
                        field=cls.collection_horizon.string,
                        value=record.collection_horizon))
            if record.collection_tolerance is not None \
                    and record.collection_tolerance < 0:
                raise ConfigurationError(gettext(
                        'receivable_collection.msg_configuration_negative',
                        field=cls.collection_tolerance.string,
                        value=record.collection_tolerance))
