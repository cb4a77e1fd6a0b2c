"""The README's demo command: idempotent on SQLite, and the same on PostgreSQL."""
import os
import sqlite3
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from tests.demo_server import ROOT, demo_server

MANAGE = [sys.executable, str(ROOT / 'setup' / 'manage.py')]


def run_setup(*args):
    "Run setup/manage.py without serving; return its output."
    env = {**os.environ, 'PYTHONOPTIMIZE': '1'}
    env.pop('DB_NAME', None)
    env.pop('TRYTOND_DATABASE_URI', None)
    result = subprocess.run(
        [*MANAGE, '--no-serve', *args], capture_output=True, text=True,
        env=env, cwd=ROOT)
    if result.returncode:
        raise AssertionError(
            f"setup failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout + result.stderr


COUNTS = (
    "SELECT (SELECT COUNT(*) FROM company_company), "
    "(SELECT COUNT(*) FROM account_invoice WHERE state != 'draft'), "
    "(SELECT COUNT(*) FROM account_move WHERE state = 'posted'), "
    "(SELECT COUNT(*) FROM party_party)")


class DemoSetupTestCase(unittest.TestCase):
    "Running the demo setup again changes nothing and loses nothing."

    def test_second_run_changes_nothing(self):
        "A second run on the demo database skips every step."
        server = demo_server()
        with sqlite3.connect(server.sqlite_path()) as connection:
            before = connection.execute(COUNTS).fetchone()
        output = run_setup('--var', str(server.var), '--database', 'demo')
        self.assertIn("modules are up to date", output)
        self.assertIn("Login: admin", output)
        with sqlite3.connect(server.sqlite_path()) as connection:
            after = connection.execute(COUNTS).fetchone()
        self.assertEqual(before, after)
        companies, invoices, moves, parties = after
        self.assertEqual(companies, 2)
        self.assertGreaterEqual(invoices, 900)
        self.assertGreaterEqual(moves, invoices)

    def test_postgresql_flag(self):
        "--postgresql creates a cluster under var/ and the demo in it, twice the same."
        import psycopg
        var = Path(tempfile.mkdtemp(prefix='test-pg-', dir=ROOT / 'var'))
        try:
            output = run_setup(
                '--postgresql', '--var', str(var), '--database', 'pgdemo',
                '--customers', '12', '--invoices', '30')
            self.assertIn("(postgresql)", output)
            port = int((var / 'pgport').read_text())
            dsn = f'postgresql://postgres@127.0.0.1:{port}/pgdemo'
            with psycopg.connect(dsn) as connection:
                before = connection.execute(COUNTS).fetchone()
            self.assertEqual(before[0], 2)
            self.assertGreaterEqual(before[1], 25)
            output = run_setup(
                '--postgresql', '--var', str(var), '--database', 'pgdemo',
                '--customers', '12', '--invoices', '30')
            self.assertIn("modules are up to date", output)
            with psycopg.connect(dsn) as connection:
                self.assertEqual(connection.execute(COUNTS).fetchone(), before)
        finally:
            subprocess.run([*MANAGE, 'postgresql', 'stop', str(var)])
            subprocess.run(['rm', '-rf', str(var), str((var / 'pgdata').resolve())])
