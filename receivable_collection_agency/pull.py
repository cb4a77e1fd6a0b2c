# This file is part of receivable_collection_agency.  The COPYRIGHT file at
# the top level of this repository contains the full copyright notices and
# license terms.
"The pull pattern: the agency reads its claims from us with a key we issue."
import datetime as dt
import hashlib
import hmac
import secrets

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .case import TERMINAL
from .exceptions import ProfileValueError

SCOPES = ('claims:read', 'events:write')
# The res.user.application an agency's Tryton user key is issued for.
APPLICATION = 'collection_agency'
# What a Tryton user application key may do: read, never write events.
APPLICATION_SCOPES = SCOPES[:1]
# What the agency sees: handed over, never draft or rejected.
PULLED_STATES = ('submitted', 'accepted', 'in_progress', 'installment_plan') + tuple(
    s for s in TERMINAL if s != 'rejected')


def key_digest(key):
    "The SHA-256 hex of a pull key: only the digest is stored."
    return hashlib.sha256(key.encode('utf-8')).hexdigest()


class Profile(metaclass=PoolMeta):
    "Agency profile with the key the agency pulls its claims with."
    __name__ = 'receivable.collection.agency.profile'

    pull_key_digest = fields.Char("Pull Key Digest", readonly=True, loading='lazy')
    pull_key_hint = fields.Char(
        "Pull Key", readonly=True, help="The first characters of the key in use.")
    pull_events_write = fields.Boolean(
        "Agency May Write Events",
        help="The key also has the scope events:write: the agency reports "
        "status, payments and settlements by POST /events.")
    pull_key_last_used = fields.DateTime("Pull Key Last Used", readonly=True)
    pull_user = fields.Many2One(
        'res.user', "Pull User", ondelete='RESTRICT',
        domain=[('companies', '=', Eval('company', -1))],
        states={'invisible': Eval('pattern') != 'pull'},
        help="The Tryton user of the agency: its validated user application "
        "key (Collection Agency) reads this profile's claims, with that "
        "user's access rights. Writing events still needs the pull key.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'issue_pull_key': {
                    'invisible': Eval('pattern') != 'pull',
                    'icon': 'tryton-launch',
                    'depends': ['pattern'],
                    },
                'revoke_pull_key': {
                    'invisible': (Eval('pattern') != 'pull') | ~Eval('pull_key_hint'),
                    'icon': 'tryton-cancel',
                    'depends': ['pattern', 'pull_key_hint'],
                    },
                })

    @classmethod
    @ModelView.button_action('receivable_collection_agency.wizard_pull_key')
    def issue_pull_key(cls, profiles):
        "Issue a new key for the agency, shown once."

    @classmethod
    @ModelView.button
    def revoke_pull_key(cls, profiles):
        "The agency's key stops working at once."
        with without_check_access():
            cls.write(profiles, {'pull_key_digest': None, 'pull_key_hint': None})

    @classmethod
    def copy(cls, profiles, default=None):
        "Copies have no pull key."
        default = default.copy() if default else {}
        for name in ['pull_key_digest', 'pull_key_hint', 'pull_key_last_used',
                'pull_user']:
            default.setdefault(name, None)
        return super().copy(profiles, default=default)

    @property
    def pull_scopes(self):
        "The scopes of the profile's key."
        return SCOPES if self.pull_events_write else SCOPES[:1]

    @classmethod
    def for_pull_key(cls, key):
        "The active or paused pull profile whose key this is, or None."
        if not key:
            return None
        digest = key_digest(key)
        with without_check_access():
            for profile in cls.search([
                        ('pattern', '=', 'pull'),
                        ('state', 'in', ['active', 'paused']),
                        ('pull_key_digest', '=', digest),
                        ]):
                if hmac.compare_digest(profile.pull_key_digest, digest):
                    return profile
        return None

    @classmethod
    def for_pull_application(cls, key):
        """The user of a validated application key and its pull profiles.

        None when the key is not a validated Collection Agency key; the
        profiles are the active or paused pull profiles of the user.
        """
        pool = Pool()
        UserApplication = pool.get('res.user.application')
        if not key:
            return None
        with without_check_access():
            application = UserApplication.check(key, APPLICATION)
            if not application or not application.user or not application.user.active:
                return None
            user = application.user
            return user, cls.search([
                    ('pattern', '=', 'pull'),
                    ('state', 'in', ['active', 'paused']),
                    ('pull_user', '=', user.id),
                    ])

    @classmethod
    def validate_fields(cls, profiles, field_names):
        "A user pulls for at most one active or paused pull profile."
        super().validate_fields(profiles, field_names)
        if not set(field_names) & {'pull_user', 'pattern', 'state'}:
            return
        for profile in profiles:
            if (not profile.pull_user or profile.pattern != 'pull'
                    or profile.state not in {'active', 'paused'}):
                continue
            with without_check_access():
                others = cls.search([
                        ('id', '!=', profile.id),
                        ('pattern', '=', 'pull'),
                        ('state', 'in', ['active', 'paused']),
                        ('pull_user', '=', profile.pull_user.id),
                        ], limit=1)
            if others:
                raise ProfileValueError(gettext(
                        'receivable_collection_agency.msg_profile_pull_user_unique',
                        profile=profile.rec_name, user=profile.pull_user.rec_name,
                        other=others[0].rec_name))

    def touch_pull_key(self):
        """Note when the key was used, without changing the profile's timestamp.

        An admin editing the profile while the agency pulls must not get a
        concurrency error.
        """
        table = self.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.update(
                [table.pull_key_last_used], [dt.datetime.now()],
                where=table.id == self.id))

    def pulled_cases(self, after=0, limit=100):
        "The cases the agency may read, after the case id of the cursor."
        pool = Pool()
        Case = pool.get('receivable.collection.agency.case')
        return Case.search([
                ('profile', '=', self.id),
                ('state', 'in', list(PULLED_STATES)),
                ('id', '>', after),
                ], order=[('id', 'ASC')], limit=limit)


class UserApplication(metaclass=PoolMeta):
    "Tryton user application keys, also issued to collection agencies."
    __name__ = 'res.user.application'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        if (APPLICATION, "Collection Agency") not in cls.application.selection:
            cls.application.selection.append((APPLICATION, "Collection Agency"))


class PullKeyShow(ModelView):
    "The new key, shown this once."
    __name__ = 'receivable.collection.agency.pull_key.show'

    key = fields.Char("Key", readonly=True,
        help="Give it to the agency now: it is stored only as a digest.")


class PullKey(Wizard):
    "Issue a pull key for an agency profile."
    __name__ = 'receivable.collection.agency.pull_key'

    start = StateTransition()
    show = StateView('receivable.collection.agency.pull_key.show',
        'receivable_collection_agency.pull_key_show_view_form', [
            Button("Done", 'end', 'tryton-ok', default=True),
            ])

    def transition_start(self):
        "Make the key and store its digest."
        pool = Pool()
        Profile = pool.get('receivable.collection.agency.profile')
        key = 'rcpull_' + secrets.token_urlsafe(32)
        with without_check_access():
            Profile.write([self.record], {
                    'pull_key_digest': key_digest(key),
                    'pull_key_hint': key[:11] + '…',
                    })
        self.show.key = key
        return 'show'

    def default_show(self, fields):
        "The key just made."
        return {'key': self.show.key}
