"""File fallback of the agency contract (section g): outgoing zips, returned event files.

``build_claims_zip`` and ``build_updates_zip`` write byte-identical zips for the same input and
clock; ``read_events_file`` reads the agency's ``events_….json`` or ``events.csv`` strictly and
raises one ``FileFormatError`` listing every problem with its file, row and field (an import is
all or nothing). The readers of our own zips (``read_claims_zip``, ``read_updates_zip``) serve the
reference agency and round-trip tests. No Tryton import, no I/O: bytes in, bytes out.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import timezone

from . import protocol

FORMAT = 'rc-agency-file'
VERSION = 1
CLAIM_COLUMNS = (
    'external_id', 'customer_no', 'debtor_type', 'name', 'first_name', 'last_name', 'street',
    'house_no', 'postal_code', 'city', 'country', 'email', 'phone', 'registration_no', 'vat_id',
    'birth_date', 'language', 'currency', 'reason', 'line_number', 'invoice_date', 'due_date',
    'original_amount', 'open_amount', 'first_reminder_date', 'default_date', 'disputed', 'notes')
SIDE_CLAIM_COLUMNS = (
    'external_id', 'line_number', 'type', 'amount', 'date', 'level', 'rate',
    'reference_rate_name', 'margin', 'from', 'to')
EVENT_COLUMNS = (
    'id', 'sequence', 'type', 'occurred_at', 'external_id', 'agency_case_id', 'data_json')


@dataclass(frozen=True)
class FileProblem:
    "One rejected spot of a file: file name, row (1-based, 0 for the whole file), field."

    file: str
    row: int
    field: str
    message: str

    def __str__(self):
        return f"{self.file}, row {self.row}, {self.field}: {self.message}"


class FileFormatError(ValueError):
    "A file that cannot be imported; problems lists every FileProblem found."

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__('; '.join(str(p) for p in self.problems[:20]))


@dataclass
class ClaimsFile:
    "What an outgoing claims zip holds, read back."

    name: str
    manifest: dict
    claims: list
    documents: dict = field(default_factory=dict)


def file_sha256(content):
    "The lower-case hex SHA-256 of a file's bytes (import idempotency and manifests)."
    return hashlib.sha256(content).hexdigest()


def _utc(created_at):
    if created_at.tzinfo is None:
        raise ValueError("created_at needs a time zone")
    return created_at.astimezone(timezone.utc).replace(microsecond=0)


def zip_name(prefix, creditor_id, created_at, seq):
    "The file name <prefix>_<creditor_id>_<YYYYMMDDTHHMMSSZ>_<seq>.zip."
    stamp = _utc(created_at).strftime('%Y%m%dT%H%M%SZ')
    return f'{prefix}_{creditor_id}_{stamp}_{seq}.zip'


def _zip(files, created_at):
    "Deterministic zip bytes of [(name, bytes)] with every entry dated created_at."
    stamp = _utc(created_at).timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w') as archive:
        for name, content in files:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def _json_file(value):
    return (json.dumps(value, ensure_ascii=False, indent=2) + '\n').encode('utf-8')


def _csv_file(columns, rows):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=';', quotechar='"', lineterminator='\r\n')
    writer.writerow(columns)
    for row in rows:
        writer.writerow(['' if row.get(c) is None else row.get(c) for c in columns])
    return out.getvalue().encode('utf-8')


def _text(value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return value


def claim_rows(claims):
    "The claims.csv rows (dicts by column): one per line, claim and debtor repeated."
    for claim in claims:
        debtor = claim.get('debtor') or {}
        address = debtor.get('address') or {}
        for line in claim['lines']:
            yield {
                'external_id': claim['external_id'],
                'customer_no': debtor.get('customer_no'),
                'debtor_type': debtor.get('type'),
                'name': debtor.get('name'),
                'first_name': debtor.get('first_name'),
                'last_name': debtor.get('last_name'),
                'street': address.get('street'),
                'house_no': address.get('house_no'),
                'postal_code': address.get('postal_code'),
                'city': address.get('city'),
                'country': address.get('country'),
                'email': debtor.get('email'),
                'phone': debtor.get('phone'),
                'registration_no': debtor.get('registration_no'),
                'vat_id': debtor.get('vat_id'),
                'birth_date': debtor.get('birth_date'),
                'language': debtor.get('language'),
                'currency': claim['currency'],
                'reason': claim.get('reason'),
                'line_number': line['number'],
                'invoice_date': line['invoice_date'],
                'due_date': line['due_date'],
                'original_amount': line['original_amount'],
                'open_amount': line['open_amount'],
                'first_reminder_date': line.get('first_reminder_date'),
                'default_date': line.get('default_date'),
                'disputed': _text(line.get('disputed')),
                'notes': claim.get('notes'),
                }


def side_claim_rows(claims):
    "The side_claims.csv rows (dicts by column): one per side claim."
    for claim in claims:
        for side in claim.get('side_claims') or ():
            yield {
                'external_id': claim['external_id'],
                **{c: _text(side.get(c)) for c in SIDE_CLAIM_COLUMNS[1:]},
                }


def _document_path(external_id, filename):
    safe = filename.replace('/', '_').replace('\\', '_')
    if not safe.lower().endswith('.pdf'):
        safe += '.pdf'
    return f'documents/{external_id.replace("/", "_")}/{safe}'


def build_claims_zip(claims, creditor_id, created_at, seq=1, documents=None, with_csv=True):
    "The outgoing claims zip: (file name, bytes); documents maps (external_id, doc id) to PDFs."
    documents = dict(documents or {})
    files = [('claims.json', _json_file(list(claims)))]
    if with_csv:
        files.append(('claims.csv', _csv_file(CLAIM_COLUMNS, claim_rows(claims))))
        files.append(
            ('side_claims.csv', _csv_file(SIDE_CLAIM_COLUMNS, side_claim_rows(claims))))
    listed = {}
    for claim in claims:
        for document in claim.get('documents') or ():
            listed[(claim['external_id'], document['id'])] = document
    pdfs = []
    for key, content in documents.items():
        if key not in listed:
            raise ValueError(f"claim {key[0]}: document {key[1]!r} is not in its documents[]")
        document = listed[key]
        if file_sha256(content) != document['sha256'] or len(content) != document['size']:
            raise ValueError(
                f"claim {key[0]}: document {key[1]!r} does not match its sha256/size")
        pdfs.append((_document_path(key[0], document['filename']), content))
    files.extend(sorted(pdfs))
    name = zip_name('claims', creditor_id, created_at, seq)
    return name, _with_manifest(files, creditor_id, created_at, claims=len(claims))


def _with_manifest(files, creditor_id, created_at, **counts):
    manifest = {
        'format': FORMAT, 'version': VERSION, 'creditor_id': creditor_id,
        'created_at': _utc(created_at).isoformat(), **counts,
        'files': [{'name': n, 'sha256': file_sha256(c)} for n, c in files],
        }
    return _zip([('manifest.json', _json_file(manifest))] + files, created_at)


def build_updates_zip(events, creditor_id, created_at, seq=1):
    "The outgoing updates zip (payments, credit notes, recalls as envelopes): (name, bytes)."
    events = list(events)
    for i, envelope in enumerate(events):
        event = protocol.parse_event(envelope)
        if event.type not in protocol.UPDATE_EVENT_TYPES:
            raise ValueError(f"events[{i}]: {event.type!r} is not an update event type")
    name = zip_name('updates', creditor_id, created_at, seq)
    files = [('events.json', _json_file(events))]
    return name, _with_manifest(files, creditor_id, created_at, events=len(events))


def _open_zip(name, content):
    "The members of a zip checked against its manifest: (manifest, {member: bytes})."
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    except (zipfile.BadZipFile, OSError) as exception:
        raise FileFormatError([FileProblem(name, 0, 'file', f"not a zip: {exception}")]) \
            from None
    if 'manifest.json' not in members:
        raise FileFormatError([FileProblem(name, 0, 'manifest.json', "is missing")])
    try:
        manifest = protocol.loads(members['manifest.json'])
    except protocol.JSONError as exception:
        raise FileFormatError([FileProblem(name, 0, 'manifest.json', str(exception))]) \
            from None
    problems = []
    where = f'{name}/manifest.json'
    if not isinstance(manifest, dict) or manifest.get('format') != FORMAT \
            or manifest.get('version') != VERSION:
        raise FileFormatError([FileProblem(
            where, 0, 'format', f"must be {FORMAT!r} version {VERSION}")])
    files = manifest.get('files')
    if not isinstance(files, list):
        raise FileFormatError([FileProblem(where, 0, 'files', "must be an array")])
    named = set()
    for i, entry in enumerate(files, 1):
        member = entry.get('name') if isinstance(entry, dict) else None
        if member not in members:
            problems.append(FileProblem(where, i, 'name', f"{member!r} is not in the zip"))
        elif file_sha256(members[member]) != entry.get('sha256'):
            problems.append(FileProblem(where, i, 'sha256', f"{member} does not match"))
        named.add(member)
    for member in sorted(set(members) - named - {'manifest.json'}):
        problems.append(FileProblem(name, 0, member, "is not listed in the manifest"))
    if problems:
        raise FileFormatError(problems)
    return manifest, members


def read_claims_zip(name, content):
    "Read a claims zip back (the agency's side), checking manifest hashes and count."
    manifest, members = _open_zip(name, content)
    if 'claims.json' not in members:
        raise FileFormatError([FileProblem(name, 0, 'claims.json', "is missing")])
    try:
        claims = protocol.loads(members['claims.json'])
    except protocol.JSONError as exception:
        raise FileFormatError([FileProblem(f'{name}/claims.json', 0, 'file', str(exception))]) \
            from None
    if not isinstance(claims, list) or manifest.get('claims') != len(claims):
        raise FileFormatError([FileProblem(
            f'{name}/manifest.json', 0, 'claims', "does not match the claims in claims.json")])
    documents = {m: c for m, c in members.items() if m.startswith('documents/')}
    return ClaimsFile(name=name, manifest=manifest, claims=claims, documents=documents)


def read_updates_zip(name, content):
    "Read an updates zip back (the agency's side): the update events."
    manifest, members = _open_zip(name, content)
    if 'events.json' not in members:
        raise FileFormatError([FileProblem(name, 0, 'events.json', "is missing")])
    events = read_events_file(f'{name}/events.json', members['events.json'])
    if manifest.get('events') != len(events):
        raise FileFormatError([FileProblem(
            f'{name}/manifest.json', 0, 'events', "does not match events.json")])
    return events


def read_csv(name, content, columns):
    "Rows of a strict ;-separated UTF-8 CSV with exactly these header columns: [(row, dict)]."
    if content.startswith(b'\xef\xbb\xbf'):
        raise FileFormatError([FileProblem(name, 1, 'file', "UTF-8 byte order mark")])
    try:
        text = content.decode('utf-8')
    except UnicodeDecodeError as exception:
        raise FileFormatError([FileProblem(name, 0, 'file', f"not UTF-8: {exception}")]) \
            from None
    reader = csv.reader(io.StringIO(text, newline=''), delimiter=';', quotechar='"',
        strict=True)
    try:
        rows = list(reader)
    except csv.Error as exception:
        raise FileFormatError([FileProblem(
            name, reader.line_num, 'file', f"bad CSV: {exception}")]) from None
    if not rows or tuple(rows[0]) != tuple(columns):
        raise FileFormatError([FileProblem(
            name, 1, 'header', f"must be {';'.join(columns)}")])
    result, problems = [], []
    for number, row in enumerate(rows[1:], 2):
        if not row:
            continue
        if len(row) != len(columns):
            problems.append(FileProblem(
                name, number, 'row', f"has {len(row)} fields, expected {len(columns)}"))
            continue
        result.append((number, dict(zip(columns, row))))
    if problems:
        raise FileFormatError(problems)
    return result


def read_events_file(name, content):
    "The events of the agency's events_….json or events.csv, strictly; FileFormatError."
    if name.lower().endswith('.csv'):
        envelopes = _csv_envelopes(name, content)
    elif name.lower().endswith('.json'):
        try:
            value = protocol.loads(content)
        except protocol.JSONError as exception:
            raise FileFormatError([FileProblem(name, 0, 'file', str(exception))]) from None
        if not isinstance(value, list):
            raise FileFormatError([FileProblem(name, 0, 'file', "must be a JSON array")])
        envelopes = list(enumerate(value, 1))
    else:
        raise FileFormatError([FileProblem(name, 0, 'file', "must be .json or .csv")])
    events, problems, seen, last = [], [], set(), 0
    for row, envelope in envelopes:
        if isinstance(envelope, FileProblem):
            problems.append(envelope)
            continue
        try:
            event = protocol.parse_event(envelope)
        except protocol.EventError as exception:
            problems.append(FileProblem(name, row, exception.path, exception.message))
            continue
        if event.id in seen:
            problems.append(FileProblem(name, row, 'id', f"{event.id!r} appears twice"))
        elif event.sequence <= last:
            problems.append(FileProblem(
                name, row, 'sequence', f"{event.sequence} does not follow {last}"))
        seen.add(event.id)
        last = max(last, event.sequence)
        events.append(event)
    if problems:
        raise FileFormatError(problems)
    return events


def _csv_envelopes(name, content):
    for row, values in read_csv(name, content, EVENT_COLUMNS):
        sequence = values['sequence']
        if not sequence.isdigit():
            yield row, FileProblem(name, row, 'sequence', f"{sequence!r} is not an integer")
            continue
        try:
            data = protocol.loads(values['data_json']) if values['data_json'] else {}
        except protocol.JSONError as exception:
            yield row, FileProblem(name, row, 'data_json', str(exception))
            continue
        yield row, {
            'id': values['id'], 'sequence': int(sequence), 'type': values['type'],
            'occurred_at': values['occurred_at'], 'external_id': values['external_id'],
            'agency_case_id': values['agency_case_id'] or None, 'data': data,
            }


def build_events_file(events, created_at, fmt='json'):
    "The agency's return file of event envelopes as (events_<stamp>.json|.csv, bytes)."
    stamp = _utc(created_at).strftime('%Y%m%dT%H%M%SZ')
    if fmt == 'json':
        return f'events_{stamp}.json', _json_file(list(events))
    if fmt == 'csv':
        rows = [{
                **{c: e.get(c) for c in EVENT_COLUMNS[:-1]},
                'data_json': json.dumps(e.get('data') or {}, ensure_ascii=False,
                    sort_keys=True, separators=(',', ':')),
                } for e in events]
        return f'events_{stamp}.csv', _csv_file(EVENT_COLUMNS, rows)
    raise ValueError(f"unknown format {fmt!r}")
