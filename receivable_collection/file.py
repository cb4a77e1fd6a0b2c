# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"Files exchanged with banks, Nets and agencies, stored before use."
import hashlib
from collections import defaultdict

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, Workflow, fields
from trytond.model.exceptions import AccessError
from trytond.modules.company.model import employee_field, set_employee
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

from .exceptions import DuplicateFileError, FileFormatError

_READONLY = {'readonly': Eval('state') != 'draft'}
# Fields that make up the stored file: frozen once it leaves draft.
_CONTENT = {'company', 'direction', 'format', 'filename', 'data'}


class File(Workflow, ModelSQL, ModelView):
    "A file going out or coming in, kept with its hash before anything is done with it."
    __name__ = 'receivable.collection.file'

    company = fields.Many2One(
        'company.company', "Company", required=True, states=_READONLY)
    direction = fields.Selection([
            ('in', "Incoming"),
            ('out', "Outgoing"),
            ], "Direction", required=True, states=_READONLY)
    format = fields.Selection([
            (None, ''),
            ('sepa_pain008', "SEPA pain.008 Direct Debit Initiation"),
            ('sepa_pain002', "SEPA pain.002 Payment Status Report"),
            ('sepa_camt054', "SEPA camt.054 Debit/Credit Notification"),
            ], "Format", states=_READONLY,
        help="The file format; it decides how an incoming file is read.")
    filename = fields.Char("File Name", states=_READONLY)
    data = fields.Binary(
        "Data", filename='filename', required=True, states=_READONLY)
    digest = fields.Char(
        "SHA-256", readonly=True,
        help="The SHA-256 hash of the data, in hexadecimal.")
    delivery_id = fields.Char(
        "Delivery ID", states=_READONLY,
        help="The identification of the delivery inside the file, "
        "such as the Nets delivery identification.")
    origin = fields.Reference(
        "Origin", selection='get_origin', states=_READONLY)
    errors = fields.Text("Errors", readonly=True)
    state = fields.Selection([
            ('draft', "Draft"),
            ('waiting', "Waiting"),
            ('done', "Done"),
            ('cancelled', "Cancelled"),
            ], "State", readonly=True, required=True, sort=False)
    done_by = employee_field("Done by", states=['done', 'cancelled'])
    cancelled_by = employee_field("Cancelled by", states=['done', 'cancelled'])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('digest_unique', Unique(t, t.company, t.direction, t.digest),
                'receivable_collection.msg_file_digest_unique'),
            ]
        cls._sql_indexes.add(
            Index(
                t, (t.state, Index.Equality(cardinality='low')),
                where=t.state.in_(['draft', 'waiting'])))
        cls._order.insert(0, ('create_date', 'DESC'))
        cls._transitions |= {
            ('draft', 'waiting'),
            ('waiting', 'done'),
            ('waiting', 'cancelled'),
            ('draft', 'cancelled'),
            }
        cls._buttons.update({
                'wait': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                'do': {
                    'invisible': Eval('state') != 'waiting',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': ~Eval('state').in_(['draft', 'waiting']),
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_company(cls):
        "The company of the context."
        return Transaction().context.get('company')

    @classmethod
    def default_direction(cls):
        "Files are mostly imported by hand."
        return 'in'

    @classmethod
    def default_state(cls):
        "New files start in draft."
        return 'draft'

    @classmethod
    def _get_origin(cls):
        "Return the names of the models a file can come from."
        return ['account.payment.group']

    @classmethod
    def get_origin(cls):
        "Selection of the origin models."
        pool = Pool()
        IrModel = pool.get('ir.model')
        get_name = IrModel.get_name
        return [(None, '')] + [(m, get_name(m)) for m in cls._get_origin()]

    def get_rec_name(self, name):
        "The file name, or the id when there is none."
        return self.filename or f'({self.id})'

    @classmethod
    def search_rec_name(cls, name, clause):
        "Search on the file name and the delivery id."
        if clause[1].startswith('!') or clause[1].startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        return [bool_op,
            ('filename',) + tuple(clause[1:]),
            ('delivery_id',) + tuple(clause[1:]),
            ]

    @classmethod
    def compute_digest(cls, data):
        "Return the SHA-256 hex digest of data."
        return hashlib.sha256(bytes(data)).hexdigest()

    @classmethod
    def preprocess_values(cls, mode, values):
        "Compute the digest from the data."
        values = super().preprocess_values(mode, values)
        if values.get('data') is not None:
            values['digest'] = cls.compute_digest(values['data'])
        return values

    @classmethod
    def create(cls, vlist):
        "Store new files after refusing any that were stored before."
        cls.check_duplicates(vlist)
        return super().create(vlist)

    @classmethod
    def check_duplicates(cls, vlist):
        "Raise DuplicateFileError when a file of vlist was already stored."
        keys = {}
        for values in vlist:
            if values.get('data') is None:
                continue
            key = (
                values.get('company', cls.default_company()),
                values.get('direction', cls.default_direction()),
                cls.compute_digest(values['data']))
            if key in keys:
                raise DuplicateFileError(gettext(
                        'receivable_collection.msg_file_duplicate_batch',
                        filename=values.get('filename') or '',
                        other=keys[key].get('filename') or ''))
            keys[key] = values
        by_digest = defaultdict(list)
        for company, direction, digest in keys:
            by_digest[digest].append((company, direction))
        with without_check_access():
            for digests in grouped_slice(list(by_digest), backend.MAX_QUERY_PARAMS):
                for earlier in cls.search([('digest', 'in', list(digests))]):
                    key = (earlier.company.id, earlier.direction, earlier.digest)
                    if key in keys:
                        raise earlier._duplicate_error(keys[key])

    def _duplicate_error(self, values):
        "The error that names this earlier copy of the file in values."
        pool = Pool()
        Lang = pool.get('ir.lang')
        lang = Lang.get()
        return DuplicateFileError(gettext(
                'receivable_collection.msg_file_duplicate_%s' % self.direction,
                filename=values.get('filename') or '',
                date=lang.strftime(self.create_date, lang.date + ' %H:%M'),
                file=self.rec_name, id=self.id))

    @classmethod
    def copy(cls, files, default=None):
        "Refuse to copy: a copy would be the same file stored twice."
        if files:
            raise AccessError(gettext(
                    'receivable_collection.msg_file_copy',
                    file=files[0].rec_name))
        return super().copy(files, default=default)

    @classmethod
    def check_modification(cls, mode, files, values=None, external=False):
        "Keep the content of sent or received files and refuse deleting them."
        super().check_modification(
            mode, files, values=values, external=external)
        if mode == 'write' and values.keys() & _CONTENT:
            for file in files:
                if file.state != 'draft':
                    raise AccessError(gettext(
                            'receivable_collection.msg_file_modify_draft',
                            file=file.rec_name))
        elif mode == 'delete':
            for file in files:
                if file.state not in {'draft', 'cancelled'}:
                    raise AccessError(gettext(
                            'receivable_collection.msg_file_delete_draft',
                            file=file.rec_name))

    @classmethod
    def _get_handlers(cls):
        "Map (direction, format) to the classmethod that handles done files."
        return {}

    def check_problems(self, problems):
        "Refuse the file when a line cannot be applied, listing every such line."
        if problems:
            lines = '\n'.join(
                gettext('receivable_collection.msg_file_problem_line',
                    line=line, problem=problem)
                for line, problem in sorted(problems, key=lambda p: p[0]))
            raise FileFormatError(gettext(
                    'receivable_collection.msg_file_problems',
                    file=self.rec_name, count=len(problems), lines=lines))

    @classmethod
    def handle(cls, files):
        "Dispatch the files to the handler of their direction and format."
        handlers = cls._get_handlers()
        by_key = defaultdict(list)
        for file in files:
            key = (file.direction, file.format)
            if key not in handlers and file.direction == 'in':
                raise FileFormatError(gettext(
                        'receivable_collection.msg_file_no_handler',
                        file=file.rec_name,
                        format=file.format or ''))
            by_key[key].append(file)
        for key, key_files in by_key.items():
            if key in handlers:
                getattr(cls, handlers[key])(key_files)

    @classmethod
    @ModelView.button
    @Workflow.transition('waiting')
    def wait(cls, files):
        "Mark the files as ready to be sent or read."

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    @set_employee('done_by')
    def do(cls, files):
        "Read incoming files and mark outgoing files as sent."
        cls.handle(files)

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    @set_employee('cancelled_by')
    def cancel(cls, files):
        "Set the files aside without using them."
