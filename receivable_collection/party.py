# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"How a customer pays: the collection agreement and customer number."
from trytond.model import ModelSQL, fields
from trytond.modules.company.model import CompanyMultiValueMixin, CompanyValueMixin
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval


def collection_payment_journal(company):
    "The collection agreement field, its journal in the given company."
    return fields.Many2One(
        'account.payment.journal', "Collection Agreement", ondelete='RESTRICT',
        domain=[
            ('company', '=', company),
            ('process_method', '!=', 'manual'),
            ],
        help="The direct debit agreement (payment journal) the customer's "
        "invoices are collected through; empty when the customer pays himself.")


class Party(CompanyMultiValueMixin, metaclass=PoolMeta):
    "Customer collected by direct debit through a payment journal."
    __name__ = 'party.party'

    collection_payment_journal = fields.MultiValue(
        collection_payment_journal(Eval('context', {}).get('company', -1)))
    collection_payment_journals = fields.One2Many(
        'receivable.collection.party.journal', 'party', "Collection Agreements")
    collection_method = fields.Function(fields.Selection(
            'get_collection_methods', "Collection Method",
            help="How the customer's invoices are collected."),
        'get_collection_method')
    collection_customer_number = fields.Char(
        "Collection Customer Number", strip=True,
        help="The number the customer is known by in collection files "
        "and on incoming payments; the party code when empty.")

    @classmethod
    def multivalue_model(cls, field):
        "The collection agreement is kept per company."
        pool = Pool()
        if field == 'collection_payment_journal':
            return pool.get('receivable.collection.party.journal')
        return super().multivalue_model(field)

    @classmethod
    def get_collection_methods(cls):
        "The process methods of payment journals, and none."
        pool = Pool()
        Journal = pool.get('account.payment.journal')
        return [(None, "None")] + [
            m for m in Journal.fields_get(['process_method'])[
                'process_method']['selection'] if m[0] != 'manual']

    def get_collection_method(self, name):
        "The process method of the customer's agreement in the current company."
        journal = self.collection_payment_journal
        return journal.process_method if journal else None

    @property
    def collection_number(self):
        "The customer number used in collection files."
        return self.collection_customer_number or self.code


class PartyJournal(ModelSQL, CompanyValueMixin):
    "Collection agreement of a party in a company."
    __name__ = 'receivable.collection.party.journal'

    party = fields.Many2One(
        'party.party', "Party", ondelete='CASCADE',
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    collection_payment_journal = collection_payment_journal(Eval('company', -1))
