"""The ``receivable-collection`` console script on a copy of the demo database.

The demo database is the one the suite shares (``tests/demo_server.py``); the
commands run on a copy of it, so the export does not change what the other
end-to-end tests see.
"""
import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest
from decimal import Decimal
from pathlib import Path

from receivable_collection_nets.betalingsservice import (
    Collection,
    DeliveryStart,
    PaymentEvent,
    ReplySectionStart,
    SectionStart,
    parse,
    render,
    with_totals,
)
from tests.demo_server import ROOT, demo_server

SCRIPT = Path(sys.executable).parent / 'receivable-collection'
JOURNAL = 'DEMO-NETS'


class NetsCommandLineTestCase(unittest.TestCase):
    "nets export and nets import, as an admin's script runs them."

    @classmethod
    def setUpClass(cls):
        "Copy the demo database and point a configuration at the copy."
        super().setUpClass()
        if not SCRIPT.exists():
            raise AssertionError(
                f"{SCRIPT} is missing: run setup/bootstrap (or pip install -e .)")
        server = demo_server()
        cls.folder = Path(tempfile.mkdtemp(prefix='test-cli-', dir=ROOT / 'var'))
        (cls.folder / 'db').mkdir()
        cls.database = cls.folder / 'db' / 'demo.sqlite'
        with sqlite3.connect(server.sqlite_path()) as source, \
                sqlite3.connect(cls.database) as target:
            source.backup(target)
        cls.config = cls.folder / 'trytond.conf'
        cls.config.write_text(
            f"[database]\nuri = sqlite://\npath = {cls.folder / 'db'}\n")
        cls.out = cls.folder / 'BS0601.txt'
        cls.exported = cls.cli('nets', 'export', JOURNAL, '--out', str(cls.out))

    @classmethod
    def tearDownClass(cls):
        "Remove the copy."
        shutil.rmtree(cls.folder, ignore_errors=True)
        super().tearDownClass()

    @classmethod
    def cli(cls, *args):
        "Run the console script on the copy; return the finished process."
        env = {**os.environ, 'PYTHONOPTIMIZE': '1'}
        for name in list(env):
            if name.startswith('TRYTOND_') or name in {'DB_NAME', 'DB_CACHE'}:
                env.pop(name)
        return subprocess.run(
            [str(SCRIPT), '--config', str(cls.config), '--database', 'demo', *args],
            capture_output=True, text=True, env=env, cwd=cls.folder, timeout=300)

    def query(self, sql, *params):
        "Rows of the copied database."
        with sqlite3.connect(self.database) as connection:
            return connection.execute(sql, params).fetchall()

    def journal_payments(self):
        "(state, nets_status) of each payment of the demo journal."
        return self.query(
            "SELECT p.state, p.nets_status FROM account_payment p "
            "JOIN receivable_collection_journal j ON p.collection_journal = j.id "
            "WHERE j.name = ? ORDER BY p.id", JOURNAL)

    def reply(self, events, serial):
        "A 0602 of Nets answering the exported collections with the events."
        records = list(parse(self.out.read_bytes()))
        start = records[0]
        section = next(r for r in records if isinstance(r, SectionStart))
        created = dt.date.today()
        return render(with_totals([
                    DeliveryStart(start.data_supplier, 'BS1', '0602', serial, created),
                    ReplySectionStart(
                        section.pbs_number, '0211', section.debtor_group, 'DEMO',
                        created),
                    *events]))

    @staticmethod
    def event(collection, code, paid=True):
        "The 0602 event of a 0601 collection."
        return PaymentEvent(
            collection.pbs_number, code, collection.debtor_group,
            collection.customer_number.rjust(15, '0'), collection.mandate_number,
            collection.payment_date, 1, collection.amount, collection.reference,
            None, None, collection.amount if paid else Decimal(0))

    def test_export_writes_0601(self):
        "The validated demo journal is exported and its 0601 written and valid."
        self.assertEqual(self.exported.returncode, 0, self.exported.stderr)
        self.assertIn(f'Exported collection journal "{JOURNAL}"', self.exported.stdout)
        records = list(parse(self.out.read_bytes()))
        collections = [r for r in records if isinstance(r, Collection)]
        payments = self.journal_payments()
        self.assertGreaterEqual(len(collections), 15)
        self.assertGreaterEqual(len(payments), len(collections))
        self.assertEqual({state for state, _ in payments}, {'processing'})
        self.assertEqual(
            self.query("SELECT state FROM receivable_collection_journal WHERE name = ?",
                JOURNAL), [('exported',)])
        total, = self.query(
            "SELECT SUM(p.amount) FROM account_payment p "
            "JOIN receivable_collection_journal j ON p.collection_journal = j.id "
            "WHERE j.name = ?", JOURNAL)[0]
        self.assertEqual(
            sum(c.amount for c in collections),
            Decimal(str(total)).quantize(Decimal('0.01')))

    def test_export_again_writes_same_bytes(self):
        "An exported journal writes its stored 0601 again, byte for byte."
        again = self.folder / 'again.txt'
        result = self.cli('nets', 'export', JOURNAL, '--out', str(again))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn('was already exported', result.stdout)
        self.assertEqual(again.read_bytes(), self.out.read_bytes())

    def test_unknown_journal(self):
        "An unknown journal: exit 1, one error line, nothing written."
        missing = self.folder / 'missing.txt'
        result = self.cli('nets', 'export', 'NO-SUCH-JOURNAL', '--out', str(missing))
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr.splitlines(), [
                'receivable-collection: error: There is no collection journal '
                'named "NO-SUCH-JOURNAL".'])
        self.assertFalse(missing.exists())

    def test_broken_file_names_line(self):
        "A 0602 with an impossible date: exit 1 naming the line, nothing stored."
        collections = [
            r for r in parse(self.out.read_bytes()) if isinstance(r, Collection)]
        data = bytearray(self.reply([self.event(collections[0], '0236')], 90001))
        lines = data.split(b'\r\n')
        # line 3 is the payment event: payment date (positions 050-055) 31 February
        lines[2] = lines[2][:49] + b'310226' + lines[2][55:]
        broken = self.folder / 'broken.txt'
        broken.write_bytes(b'\r\n'.join(lines))
        result = self.cli('nets', 'import', str(broken))
        self.assertEqual(result.returncode, 1)
        errors = result.stderr.splitlines()
        self.assertEqual(len(errors), 1, result.stderr)
        self.assertIn('"broken.txt"', errors[0])
        self.assertIn('line 3', errors[0])
        self.assertEqual(self.query(
                "SELECT COUNT(*) FROM receivable_collection_file "
                "WHERE filename = 'broken.txt'"), [(0,)])

    def test_not_a_nets_file(self):
        "A file that is no Nets delivery: exit 1 with one line."
        other = self.folder / 'other.txt'
        other.write_text("Date;Amount\n2026-02-01;100.00\n")
        result = self.cli('nets', 'import', str(other))
        self.assertEqual(result.returncode, 1)
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
        self.assertIn('not a Nets Betalingsservice delivery', result.stderr)

    def test_import_0602(self):
        "A 0602 completes and rejects collections; the same file again changes nothing."
        collections = [
            r for r in parse(self.out.read_bytes()) if isinstance(r, Collection)]
        rejected, completed = collections[0], collections[1:]
        data = self.reply(
            [self.event(rejected, '0237', paid=False)]
            + [self.event(c, '0236') for c in completed], 90002)
        reply = self.folder / 'BS0602-90002.txt'
        reply.write_bytes(data)
        result = self.cli('nets', 'import', str(reply))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn('Imported "BS0602-90002.txt" as nets_0602', result.stdout)
        payments = self.journal_payments()
        self.assertEqual({s for s in payments}, {
                ('failed', 'rejected'), ('succeeded', 'completed')})
        events = self.query(
            "SELECT e.kind, e.code, COUNT(*) FROM receivable_collection_journal_event e "
            "JOIN receivable_collection_file f ON e.file = f.id "
            "WHERE f.filename = 'BS0602-90002.txt' GROUP BY e.kind, e.code "
            "ORDER BY e.kind")
        self.assertEqual(events, [
                ('receipt', '0236', payments.count(('succeeded', 'completed'))),
                ('rejection', '0237', payments.count(('failed', 'rejected')))])

        again = self.cli('nets', 'import', str(reply))
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn('was already imported', again.stdout)
        self.assertIn('nothing changed', again.stdout)
        self.assertEqual(self.journal_payments(), payments)
        self.assertEqual(self.query(
                "SELECT COUNT(*) FROM receivable_collection_file "
                "WHERE direction = 'in'"), [(1,)])
