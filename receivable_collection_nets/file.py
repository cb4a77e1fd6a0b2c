# This file is part of receivable_collection_nets.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and
# license terms.
"Nets Betalingsservice deliveries among the collection files."
from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access

from .betalingsservice import FormatError, parse_0602, parse_0603
from .exceptions import NetsImportError
from .payment import NETS_CURRENCY

FORMATS = [
    ('nets_0601', "Nets BS 0601 Collection Data"),
    ('nets_0602', "Nets BS 0602 Payment Information"),
    ('nets_0603', "Nets BS 0603 Mandate Information"),
    ]
# incoming format -> codec function reading the whole delivery
PARSERS = {
    'nets_0602': parse_0602,
    'nets_0603': parse_0603,
    }


class File(metaclass=PoolMeta):
    """Collection files in the Nets Betalingsservice formats.

    Replies are imported whole or not at all (spec section 7): the file is
    parsed and every event matched before anything changes, and any line that
    cannot be applied refuses the file with a message listing all of them."""
    __name__ = 'receivable.collection.file'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        for format in FORMATS:
            if format not in cls.format.selection:
                cls.format.selection.append(format)

    @classmethod
    def _get_handlers(cls):
        "Read incoming 0602 and 0603 deliveries."
        handlers = super()._get_handlers()
        handlers[('in', 'nets_0602')] = 'nets_import_0602'
        handlers[('in', 'nets_0603')] = 'nets_import_0603'
        return handlers

    @classmethod
    def nets_import_0602(cls, files):
        "Apply the payment information of the files to the collections."
        pool = Pool()
        Payment = pool.get('account.payment')
        for file in files:
            delivery = file.nets_parse()
            # the do button is granted to collection accountants only
            with without_check_access():
                plan, problems = Payment.nets_plan_0602(
                    file.company, delivery.payments)
                file.check_problems(problems)
                Payment.nets_apply_0602(plan)
                Payment.nets_log_0602(plan, file)
                file.nets_queue_0602(plan)
            file.nets_set_delivery(delivery)
        cls.save(files)

    def nets_queue_0602(self, plan):
        "Put the events the plan could not apply in the exception queue."
        pool = Pool()
        Exception_ = pool.get('receivable.collection.exception')
        Currency = pool.get('currency.currency')
        *_, queued = plan
        if not queued:
            return []
        dkk, = Currency.search([('code', '=', NETS_CURRENCY)], limit=1) or [None]
        exceptions = [Exception_(
                company=self.company, file=self, file_line=event.line,
                kind=kind, date=event.payment_date, currency=dkk,
                amount=event.paid_amount or event.amount,
                difference=None, reference=(event.reference or '').strip() or None,
                customer_number=event.customer_number,
                reason=f'{event.transaction_code} {event.meaning}: {text}',
                state='open')
            for event, kind, text in queued]
        Exception_.save(exceptions)
        return exceptions

    @classmethod
    def nets_import_0603(cls, files):
        "Apply the mandate information of the files to the mandates."
        pool = Pool()
        Mandate = pool.get('receivable.collection.nets.mandate')
        Date = pool.get('ir.date')
        for file in files:
            delivery = file.nets_parse()
            with Transaction().set_context(company=file.company.id):
                today = Date.today()
            with without_check_access():
                plan, problems = Mandate.nets_plan_0603(
                    file.company, delivery.mandates, today)
                file.check_problems(problems)
                Mandate.nets_apply_0603(plan)
            file.nets_set_delivery(delivery)
        cls.save(files)

    def nets_parse(self):
        "Read the whole delivery; a format error names the file, line and field."
        try:
            delivery = PARSERS[self.format](bytes(self.data))
        except FormatError as error:
            if error.position:
                start, end = error.position
                position = f' (position {start:03d})' if start == end else (
                    f' (positions {start:03d}-{end:03d})')
            else:
                position = ''
            raise NetsImportError(gettext(
                    'receivable_collection_nets.msg_file_format',
                    file=self.rec_name, line=error.line, field=error.field,
                    position=position, message=error.message)) from error
        self.nets_check_delivery(delivery)
        return delivery

    def nets_check_delivery(self, delivery):
        "Refuse a delivery of Nets already imported from another file."
        delivery_id = self.nets_delivery_id(delivery)
        for earlier in self.search([
                    ('company', '=', self.company.id),
                    ('direction', '=', 'in'),
                    ('format', '=', self.format),
                    ('delivery_id', '=', delivery_id),
                    ('state', '=', 'done'),
                    ('id', '!=', self.id),
                    ]):
            try:
                key = PARSERS[earlier.format](bytes(earlier.data)).key
            except FormatError:
                continue
            if key == delivery.key:
                raise NetsImportError(gettext(
                        'receivable_collection_nets.msg_file_delivery_imported',
                        file=self.rec_name, delivery=delivery_id,
                        supplier=delivery.data_supplier, other=earlier.rec_name))

    @staticmethod
    def nets_delivery_id(delivery):
        "Nets' serial number of the delivery as stored on the file."
        return f'{delivery.delivery_id:010d}'

    def nets_set_delivery(self, delivery):
        "Keep Nets' serial number and the tolerated irregularities of the file."
        self.delivery_id = self.nets_delivery_id(delivery)
        self.errors = '\n'.join(str(w) for w in delivery.warnings) or None
