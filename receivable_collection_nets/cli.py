# This file is part of receivable_collection_nets.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and
# license terms.
"""``receivable-collection nets``: export a journal's 0601, import Nets replies.

Each command runs in one transaction as the admin user with the company of
the journal or file in the context, and commits only when it succeeded."""
import os
from pathlib import Path

from receivable_collection.cli import CommandError

ADMIN_LOGIN = 'admin'
# deliveries Nets sends back -> collection file format
REPLY_FORMATS = {
    '0602': 'nets_0602',
    '0603': 'nets_0603',
    }
# how often a command is retried to take the table and record locks it needs
LOCK_TRIES = 10


def add_parser(subparsers, name, common):
    "Register the nets subcommand and its export and import commands."
    parser = subparsers.add_parser(
        name, help="Nets Betalingsservice deliveries",
        description="Export the 0601 delivery of a collection journal and "
        "import the 0602 and 0603 replies of Nets.")
    commands = parser.add_subparsers(
        dest='nets_command', metavar='ACTION', required=True)
    export = commands.add_parser(
        'export', parents=[common], help="write the 0601 delivery of a collection journal",
        description="Export a validated collection journal and write its 0601 "
        "delivery; an exported journal writes its stored 0601 again.")
    export.add_argument('journal', metavar='JOURNAL', help="the journal's name")
    export.add_argument(
        '--out', required=True, type=Path, metavar='FILE',
        help="where to write the 0601 delivery")
    export.set_defaults(func=export_command)
    import_ = commands.add_parser(
        'import', parents=[common], help="import a 0602 or 0603 reply of Nets",
        description="Store the file as a collection file and apply it whole "
        "or not at all; the same file twice changes nothing.")
    import_.add_argument('file', type=Path, metavar='FILE')
    import_.set_defaults(func=import_command)
    return parser


def export_command(args):
    "Export the journal and write its 0601 to --out; commit only when written."
    out = args.out
    partial = out.with_name(f'.{out.name}.part')

    def export():
        data, message = export_journal(args.journal)
        try:
            partial.write_bytes(data)
        except OSError as error:
            raise CommandError(f"cannot write {out}: {error.strerror}") from error
        return message

    try:
        message = run(args.database, export)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, out)
    print(message)
    return 0


def import_command(args):
    "Store and import a Nets reply file; commit only when it was applied whole."
    path = args.file
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror}") from error
    print(run(args.database, lambda: import_file(path.name, data)))
    return 0


def run(database, func):
    """Call func as the admin user in one transaction and return its result.

    The transaction is committed when func returns and rolled back when it
    raises; a UserError becomes a CommandError with one problem per line.
    Locks are taken eagerly and the call repeated, as trytond's RPC layer does."""
    from trytond.exceptions import UserError, UserWarning
    from trytond.pool import Pool
    from trytond.transaction import Transaction, TransactionError

    try:
        Pool(database).init()
    except Exception as error:
        raise CommandError(f"cannot open database {database!r}: {error}") from error
    extras = {}
    for _ in range(LOCK_TRIES):
        with Transaction().start(database, 0, **extras) as transaction:
            try:
                with transaction.set_user(_admin_id()):
                    User = Pool().get('res.user')
                    with transaction.set_context(
                            User.get_preferences(context_only=True)):
                        return func()
            except TransactionError as error:
                transaction.rollback()
                error.fix(extras)
                continue
            except (UserError, UserWarning) as error:
                transaction.rollback()
                raise CommandError('\n'.join(filter(None, [
                                error.message, error.description]))) from error
            except BaseException:
                transaction.rollback()
                raise
    raise CommandError("could not take the database locks; try again")


def _admin_id():
    "The id of the admin user."
    from trytond.pool import Pool
    User = Pool().get('res.user')
    admins = User.search([('login', '=', ADMIN_LOGIN)], limit=1)
    if not admins:
        raise CommandError(f"the database has no {ADMIN_LOGIN!r} user")
    return admins[0].id


def _message(name, **values):
    "A message of the module, in the admin's language."
    from trytond.i18n import gettext
    return gettext(f'receivable_collection_nets.{name}', **values)


# Export ---------------------------------------------------------------------

def export_journal(name):
    """Export the named journal if validated and return its 0601 and what was done.

    A draft journal is refused with its standing errors; an exported (or
    closed) journal gives the 0601 stored when it was exported."""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool()
    Journal = pool.get('receivable.collection.journal')
    journals = Journal.search([('name', '=', name)])
    if not journals:
        raise CommandError(_message('msg_cli_journal_not_found', journal=name))
    if len(journals) > 1:
        raise CommandError(_message(
                'msg_cli_journal_ambiguous', journal=name,
                companies=', '.join(j.company.rec_name for j in journals)))
    journal, = journals
    with Transaction().set_context(company=journal.company.id):
        journal = Journal(journal.id)
        if journal.process_method != 'nets_bs':
            raise CommandError(_message(
                    'msg_cli_journal_not_nets', journal=journal.rec_name,
                    agreement=journal.payment_journal.rec_name))
        if journal.state == 'draft':
            raise CommandError(_draft_refusal(journal))
        exported = journal.state == 'validated'
        if exported:
            Journal.export([journal])
            journal = Journal(journal.id)
        file = _delivery(journal)
        message = 'msg_cli_exported' if exported else 'msg_cli_exported_again'
        return bytes(file.data), _message(
            message, journal=journal.rec_name, file=file.rec_name,
            delivery=file.delivery_id or '', count=journal.payment_count)


def _draft_refusal(journal):
    "The refusal of a draft journal, with the errors that keep it in draft."
    from trytond.pool import Pool
    Journal = Pool().get('receivable.collection.journal')
    standing = [
        e for e in Journal.check_journals([journal])
        if e.severity == 'error' or not e.accepted]
    lines = [_message(
            'msg_cli_journal_draft', journal=journal.rec_name,
            count=len(standing))]
    lines.extend(e.message for e in standing)
    return '\n'.join(lines)


def _delivery(journal):
    "The newest 0601 delivery written for the journal."
    files = sorted(
        (f for f in journal.files
            if f.direction == 'out' and f.format == 'nets_0601'),
        key=lambda f: f.id)
    if not files:
        raise CommandError(_message(
                'msg_cli_journal_no_file', journal=journal.rec_name))
    return files[-1]


# Import ---------------------------------------------------------------------

def import_file(filename, data):
    "Store the reply as a collection file of its company, import it, say what happened."
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool()
    File = pool.get('receivable.collection.file')
    format = detect_format(filename, data)
    company = _reply_company(filename, data)
    with Transaction().set_context(company=company.id):
        earlier = File.search([
                ('company', '=', company.id),
                ('direction', '=', 'in'),
                ('digest', '=', File.compute_digest(data)),
                ], limit=1)
        if earlier:
            file, = earlier
            if file.state == 'done':
                return _message(
                    'msg_cli_already_imported', filename=filename,
                    file=file.rec_name, id=file.id)
            if file.state == 'cancelled':
                raise CommandError(_message(
                        'msg_cli_file_cancelled', filename=filename,
                        file=file.rec_name, id=file.id))
        else:
            file = File(
                company=company, direction='in', format=format,
                filename=filename, data=data)
            file.save()
        if file.state == 'draft':
            File.wait([file])
        File.do([file])
        file = File(file.id)
        return _message(
            'msg_cli_imported', filename=filename, file=file.rec_name,
            id=file.id, format=file.format, delivery=file.delivery_id or '')


def _first_line(data):
    "The first record of the file as text."
    return bytes(data).split(b'\n', 1)[0].rstrip(b'\r').decode('latin-1')


def detect_format(filename, data):
    "The collection file format of a Nets reply, from the delivery type of its BS002."
    line = _first_line(data)
    if not line.startswith('BS002'):
        raise CommandError(_message(
                'msg_cli_not_nets', filename=filename, start=line[:5]))
    delivery_type = line[16:20]
    if delivery_type not in REPLY_FORMATS:
        raise CommandError(_message(
                'msg_cli_delivery_type', filename=filename,
                delivery_type=delivery_type))
    return REPLY_FORMATS[delivery_type]


def _reply_company(filename, data):
    "The company whose Nets agreement the reply is for: data supplier or PBS number."
    from trytond.pool import Pool
    PaymentJournal = Pool().get('account.payment.journal')
    lines = bytes(data).decode('latin-1').splitlines()
    supplier = lines[0][5:13]
    pbs_numbers = sorted({line[5:13] for line in lines if line.startswith('BS012')})
    agreements = PaymentJournal.search([
            ('process_method', '=', 'nets_bs'),
            ['OR',
                ('nets_data_supplier', '=', supplier),
                ('nets_creditor_number', 'in', pbs_numbers),
                ],
            ])
    companies = {a.company for a in agreements}
    if len(companies) != 1:
        raise CommandError(_message(
                'msg_cli_no_agreement' if not companies
                else 'msg_cli_agreement_ambiguous',
                filename=filename, supplier=supplier,
                pbs=', '.join(pbs_numbers) or '-',
                companies=', '.join(sorted(c.rec_name for c in companies))))
    company, = companies
    return company
