"""The demo, set up by the README's command, served by a real Tryton server.

Shared by the end-to-end tests: ``setup/manage.py`` builds the demo database
in its own folder under ``var/`` (reused while the module sources, the demo
data and the setup code are unchanged) and starts ``trytond`` on a free port.
"""
import atexit
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location('manage', ROOT / 'setup' / 'manage.py')
manage = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(manage)
DATABASE = 'demo'


def _digest():
    "A hash of everything the demo database is built from."
    setup = ROOT / 'setup'
    return manage.modules_digest(
        [setup / 'manage.py', setup / 'demo_data.py'])[:16]


def free_port():
    "A TCP port nobody listens on right now."
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class DemoServer:
    "The demo database and a trytond process serving it with the web client."

    def __init__(self):
        self.var = ROOT / 'var' / f'test-demo-{_digest()}'
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}/'
        self.process = None
        self.log_path = self.var / 'server.log'

    def start(self, timeout=900):
        "Build the demo database if needed, start the server, wait for it."
        for old in self.var.parent.glob('test-demo-*'):
            if old != self.var and time.time() - old.stat().st_mtime > 86400:
                shutil.rmtree(old, ignore_errors=True)
        self.var.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, 'PYTHONOPTIMIZE': '1'}
        env.pop('DB_NAME', None)
        env.pop('TRYTOND_DATABASE_URI', None)
        log = self.log_path.open('ab')
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / 'setup' / 'manage.py'),
                '--var', str(self.var), '--port', str(self.port),
                '--database', DATABASE],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the demo exited with {self.process.returncode}:\n"
                    + self.log_path.read_text()[-4000:])
            try:
                with urllib.request.urlopen(self.url, timeout=5) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(1)
        self.stop()
        raise RuntimeError(
            f"the demo did not answer on {self.url} within {timeout} s:\n"
            + self.log_path.read_text()[-4000:])

    def stop(self):
        "Stop the server."
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def sqlite_path(self):
        "The demo database file, for tests that read what the user should see."
        return self.var / 'db' / f'{DATABASE}.sqlite'


_server = None


def demo_server():
    "The one demo server of this test run, started on first use."
    global _server
    if _server is None:
        _server = DemoServer().start()
        atexit.register(stop_demo_server)
    return _server


def stop_demo_server():
    "Stop the demo server if a test started it."
    global _server
    if _server is not None:
        _server.stop()
        _server = None
