# This file is part of receivable_collection_agency.  The COPYRIGHT file at
# the top level of this repository contains the full copyright notices and
# license terms.
"The file pattern: claims and updates go out as zips, events come back as files."
import datetime as dt

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .agency import filefmt, protocol
from .exceptions import AgencyFileError
from .profile import ProfileRecordMixin

UPDATE_TYPES = {
    'payment': 'direct_payment.reported',
    'credit_note': 'credit_note.reported',
    'recall': 'recall.requested',
    }


class File(ProfileRecordMixin, ModelSQL, ModelView):
    "A file exchanged with an agency, kept with its hash."
    __name__ = 'receivable.collection.agency.file'

    profile = fields.Many2One(
        'receivable.collection.agency.profile', "Profile", required=True,
        readonly=True, ondelete='CASCADE')
    direction = fields.Selection([
            ('out', "Outgoing"),
            ('in', "Incoming"),
            ], "Direction", required=True, readonly=True)
    kind = fields.Selection([
            ('claims', "Claims"),
            ('updates', "Updates"),
            ('events', "Events"),
            ], "Kind", required=True, readonly=True)
    name = fields.Char("Name", required=True, readonly=True)
    data = fields.Binary("File", filename='name', readonly=True)
    sha256 = fields.Char("SHA-256", required=True, readonly=True)
    count = fields.Integer("Records", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('id', 'DESC')]

    @classmethod
    def export(cls, profiles, now=None):
        """Write the claims and updates not sent yet of the file profiles as zips.

        Return the new files; nothing new gives no file.
        """
        pool = Pool()
        Case = pool.get('receivable.collection.agency.case')
        Action = pool.get('receivable.collection.agency.action')
        now = now or dt.datetime.now(dt.timezone.utc)
        files = []
        for profile in profiles:
            if profile.pattern != 'file':
                continue
            seq = cls.search_count([('profile', '=', profile.id), ('direction', '=', 'out')])
            cases = Case.search([
                    ('profile', '=', profile.id), ('state', '=', 'submitted'),
                    ('agency_file', '=', None)], order=[('id', 'ASC')])
            if cases:
                claims = [c.claim() for c in cases]
                documents = {(c.external_id, d.doc_id): bytes(d.data)
                    for c in cases for d in c.documents}
                seq += 1
                name, content = filefmt.build_claims_zip(
                    claims, profile.agency_creditor_id, now, seq=seq, documents=documents)
                file = cls._out(profile, 'claims', name, content, len(claims))
                Case.write(cases, {'agency_file': file.id})
                files.append(file)
            actions = Action.search([
                    ('case.profile', '=', profile.id),
                    ('kind', 'in', list(UPDATE_TYPES)),
                    ('state', '=', 'done'),
                    ('agency_file', '=', None)], order=[('id', 'ASC')])
            if actions:
                events = [protocol.make_event(
                        f'upd_{a.id}', a.id, UPDATE_TYPES[a.kind],
                        a.create_date.replace(tzinfo=dt.timezone.utc, microsecond=0),
                        a.case.external_id, a.body)
                    for a in actions]
                seq += 1
                name, content = filefmt.build_updates_zip(
                    events, profile.agency_creditor_id, now, seq=seq)
                file = cls._out(profile, 'updates', name, content, len(events))
                Action.write(actions, {'agency_file': file.id})
                files.append(file)
        return files

    @classmethod
    def _out(cls, profile, kind, name, content, count):
        "Store an outgoing file."
        file = cls(profile=profile, direction='out', kind=kind, name=name,
            data=content, sha256=filefmt.file_sha256(content), count=count)
        file.save()
        return file

    @classmethod
    def import_events(cls, profile, name, content):
        """Import the agency's events file: all or nothing, never twice.

        Raise AgencyFileError naming file, row and field of every problem,
        or the earlier import of the same bytes.
        """
        pool = Pool()
        Event = pool.get('receivable.collection.agency.event')
        sha256 = filefmt.file_sha256(content)
        earlier = cls.search([
                ('profile', '=', profile.id), ('direction', '=', 'in'),
                ('sha256', '=', sha256)], limit=1)
        if earlier:
            raise AgencyFileError(gettext(
                    'receivable_collection_agency.msg_file_duplicate',
                    file=name, earlier=earlier[0].name))
        try:
            events = filefmt.read_events_file(name, content)
        except filefmt.FileFormatError as error:
            raise AgencyFileError(gettext(
                    'receivable_collection_agency.msg_file_invalid',
                    file=name, problems='\n'.join(str(p) for p in error.problems))) from None
        file = cls(profile=profile, direction='in', kind='events', name=name,
            data=content, sha256=sha256, count=len(events))
        file.save()
        Event.store(profile, [e.to_json() for e in events], 'file')
        Event.apply_pending(profile)
        return file


class Case(metaclass=PoolMeta):
    "Case with the claims file it went out in."
    __name__ = 'receivable.collection.agency.case'

    agency_file = fields.Many2One(
        'receivable.collection.agency.file', "Claims File", readonly=True,
        states={'invisible': ~Eval('agency_file')})


class Action(metaclass=PoolMeta):
    "Report with the updates file it went out in."
    __name__ = 'receivable.collection.agency.action'

    agency_file = fields.Many2One(
        'receivable.collection.agency.file', "Updates File", readonly=True)


class Profile(metaclass=PoolMeta):
    "Agency profile exchanging files."
    __name__ = 'receivable.collection.agency.profile'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'export_files': {
                    'invisible': (Eval('pattern') != 'file') | (Eval('state') == 'draft'),
                    'icon': 'tryton-export',
                    'depends': ['pattern', 'state'],
                    },
                'import_events': {
                    'invisible': (Eval('pattern') != 'file') | (Eval('state') == 'draft'),
                    'icon': 'tryton-import',
                    'depends': ['pattern', 'state'],
                    },
                })

    @classmethod
    @ModelView.button
    def export_files(cls, profiles):
        "Write the claims and updates not sent yet as files for the agency."
        pool = Pool()
        File = pool.get('receivable.collection.agency.file')
        File.export(profiles)

    @classmethod
    @ModelView.button_action('receivable_collection_agency.wizard_import_events')
    def import_events(cls, profiles):
        "Import an events file the agency returned."


class ImportEventsStart(ModelView):
    "The events file the agency returned."
    __name__ = 'receivable.collection.agency.import_events.start'

    data = fields.Binary("File", filename='name', required=True)
    name = fields.Char("Name", required=True)


class ImportEvents(Wizard):
    "Import an agency's events file."
    __name__ = 'receivable.collection.agency.import_events'

    start = StateView('receivable.collection.agency.import_events.start',
        'receivable_collection_agency.import_events_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Import", 'import_', 'tryton-ok', default=True),
            ])
    import_ = StateTransition()

    def transition_import_(self):
        "Import the file into the profile."
        pool = Pool()
        File = pool.get('receivable.collection.agency.file')
        File.import_events(self.record, self.start.name, bytes(self.start.data))
        return 'end'
