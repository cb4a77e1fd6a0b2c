# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"Mail notification: tell each customer when and what will be collected."
import datetime as dt
from email.message import EmailMessage
from email.utils import formataddr

from trytond import config
from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.report import Report
from trytond.sendmail import SMTPDataManager, send_message_transactional
from trytond.transaction import Transaction


class InvoiceCopy(Report):
    "A PDF copy of a customer invoice attached to collection notifications."
    __name__ = 'receivable.collection.invoice'


def invoice_pdf(invoice, language):
    "Render the invoice as PDF; return (file name, bytes)."
    pool = Pool()
    Data = pool.get('ir.model.data')
    Report_ = pool.get('receivable.collection.invoice', type='report')
    action_id = Data.get_id('receivable_collection', 'report_invoice_copy')
    with Transaction().set_context(language=language):
        ext, content, _, title = Report_.execute(
            [invoice.id], {'action_id': action_id})
    name = (invoice.number or str(invoice.id)).replace('/', '-')
    return f'{name}.{ext}', bytes(content)


def send_notifications(notifications):
    """Queue one e-mail per notification; they leave when the transaction commits.

    A customer without an e-mail address is logged on the journal and the
    others are still sent; an SMTP failure at commit rolls everything back."""
    pool = Pool()
    Email = pool.get('ir.email')
    Event = pool.get('receivable.collection.journal.event')
    Journal = pool.get('receivable.collection.journal')
    Notification = pool.get('receivable.collection.notification')
    datamanager = Transaction().join(SMTPDataManager(strict=True))
    events, emails = [], []
    for notification in notifications:
        journal, party = notification.journal, notification.party
        template = journal.template
        contact = party.contact_mechanism_get('email')
        if not contact or not contact.email:
            events.append(Journal.new_event(journal, 'notify', gettext(
                        'receivable_collection.msg_notification_no_email',
                        party=party.rec_name), code='no_email'))
            continue
        msg = EmailMessage()
        msg.set_content(notification.text or '')
        msg['From'] = config.get('email', 'from')
        msg['To'] = formataddr((contact.name or party.rec_name, contact.email))
        msg['Subject'] = template.mail_subject or journal.name
        msg['Auto-Submitted'] = 'auto-generated'
        names = []
        if template.attach_invoice:
            language = party.lang.code if party.lang else None
            invoices = {
                p.collection_invoice for p in journal.payments
                if p.party == party and p.collection_invoice}
            for invoice in sorted(invoices, key=lambda i: i.number or ''):
                name, data = invoice_pdf(invoice, language)
                msg.add_attachment(
                    data, maintype='application', subtype='pdf', filename=name)
                names.append(name)
        send_message_transactional(msg, datamanager=datamanager)
        notification.email = contact.email
        notification.sent = dt.datetime.now()
        notification.attachments = ', '.join(names) or None
        emails.append((notification, msg))
        events.append(Journal.new_event(journal, 'notify', gettext(
                    'receivable_collection.msg_notification_sent',
                    party=party.rec_name, email=contact.email,
                    attachments=notification.attachments or '-')))
    Notification.save([n for n, _ in emails])
    Email.save([Email.from_message(msg, resource=n) for n, msg in emails])
    Event.save(events)
