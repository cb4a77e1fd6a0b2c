"""Run every test of the project; the last line says how many passed and failed.

ruff, then with unittest in one process: the plain codec tests and each
module's ModuleTestCase and scenario doctests (found in ``<module>/tests``),
then the cross-module, end-to-end and browser tests in ``tests/``.  Tryton's
test database cache (``DB_CACHE``) is kept under ``var/test-cache/<digest of
the module sources>`` so modules are installed once per change, not per test.
SQLite by default; PostgreSQL when ``TRYTOND_DATABASE_URI`` is set (see
``setup/test --postgresql``).
"""
import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import time
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location('manage', ROOT / 'setup' / 'manage.py')
manage = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(manage)
MODULES = manage.MODULES


def prepare_cache():
    "Point DB_CACHE at the cache of the current sources and drop older ones."
    if os.environ.get('DB_CACHE'):
        return os.environ['DB_CACHE']
    uri = os.environ.get('TRYTOND_DATABASE_URI', 'sqlite://')
    kind = uri.split(':', 1)[0]
    base = ROOT / 'var' / 'test-cache'
    cache = base / f'{kind}-{manage.modules_digest()[:16]}'
    if base.exists():
        # Caches of older sources go after a day (not at once: another run
        # may still be using its own).
        for old in base.iterdir():
            if old != cache and time.time() - old.stat().st_mtime > 86400:
                shutil.rmtree(old, ignore_errors=True)
    cache.mkdir(parents=True, exist_ok=True)
    os.environ['DB_CACHE'] = str(cache)
    return str(cache)


def run_ruff():
    "ruff over the repository; True when clean."
    result = subprocess.run(
        [str(Path(sys.executable).parent / 'ruff'), 'check', str(ROOT)],
        capture_output=True, text=True)
    print(result.stdout + result.stderr, end='', flush=True)
    return result.returncode == 0


def build_suite(loader):
    "Every test of the modules and of tests/."
    suite = unittest.TestSuite()
    for module in MODULES:
        suite.addTests(loader.discover(
                str(ROOT / module / 'tests'), top_level_dir=str(ROOT)))
    suite.addTests(loader.discover(str(ROOT / 'tests'), top_level_dir=str(ROOT)))
    return suite


def main(argv=None):
    "Run ruff and all tests; exit non-zero on any failure or when nothing ran."
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-k', dest='patterns', action='append',
        help="only tests whose name matches this pattern (unittest -k)")
    parser.add_argument('-v', '--verbose', action='store_true')
    parser.add_argument('--no-ruff', action='store_true')
    args = parser.parse_args(argv)

    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    cache = prepare_cache()
    print(f"tests: database {os.environ.get('TRYTOND_DATABASE_URI', 'sqlite://')}, "
        f"cache {cache}", flush=True)
    start = time.monotonic()
    passed = failed = skipped = 0
    if not args.no_ruff and not args.patterns:
        if run_ruff():
            passed += 1
            print("ruff: passed", flush=True)
        else:
            failed += 1
            print("ruff: FAILED", flush=True)

    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = [
            p if '*' in p else f'*{p}*' for p in args.patterns]
    suite = build_suite(loader)
    runner = unittest.TextTestRunner(
        verbosity=2 if args.verbose else 1, stream=sys.stdout)
    result = runner.run(suite)
    bad = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped += len(result.skipped)
    failed += bad
    passed += result.testsRun - bad - len(result.skipped)
    print(f"tests: {time.monotonic() - start:.0f} s")
    print(f"{passed} passed, {failed} failed, {skipped} skipped", flush=True)
    if failed or not result.testsRun:
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
