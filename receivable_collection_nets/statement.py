# This file is part of receivable_collection_nets.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and
# license terms.
"""FI-card payment ids of Danish invoices, for matching bank payments.

The payment id of an FI card (+71, +75) encodes the customer number and the
invoice number (``betalingsservice.payment_id``): an invoice in DKK whose
customer number is digits quotes them, and the bank statement and camt.054
matching find the invoice from the customer digits of the id."""
from trytond.pool import PoolMeta

from .betalingsservice.payment_id import (
    check_payment_id,
    make_payment_id,
    split_payment_id,
)

# the card types whose payment id we build from customer and invoice numbers
CARD_TYPES = ('71', '75')
CURRENCY = 'DKK'


def _digits(text):
    "The ASCII digits of a text, in order."
    return ''.join(c for c in text or '' if c.isascii() and c.isdigit())


class Invoice(metaclass=PoolMeta):
    "Danish invoices quoting FI-card payment ids."
    __name__ = 'account.invoice'

    def collection_payment_ids(self):
        "The +71 and +75 payment ids of the invoice: customer and invoice digits."
        ids = list(super().collection_payment_ids())
        customer = (self.party.collection_number or '').strip()
        invoice = _digits(self.number)
        if (self.currency.code != CURRENCY or not invoice
                or not (customer.isascii() and customer.isdigit())):
            return ids
        for card_type in CARD_TYPES:
            try:
                payment_id = make_payment_id(customer, invoice, card_type=card_type)
            except ValueError:
                continue
            if payment_id not in ids:
                ids.append(payment_id)
        return ids

    @classmethod
    def collection_payment_id_domain(cls, words):
        "The DKK invoices of the customers named by the payment ids among words."
        domain = list(super().collection_payment_id_domain(words))
        numbers = set()
        for word in words:
            for card_type in CARD_TYPES:
                if check_payment_id(word, card_type):
                    customer, _ = split_payment_id(word, card_type)
                    numbers.update({customer, customer.lstrip('0') or '0'})
        if numbers:
            numbers = sorted(numbers)
            domain.append([
                    ('currency.code', '=', CURRENCY),
                    ['OR',
                        ('party.collection_customer_number', 'in', numbers),
                        [('party.collection_customer_number', '=', None),
                            ('party.code', 'in', numbers)],
                        ],
                    ])
        return domain
