"""Set up and run the receivable collection demo on Tryton.

Writes ``trytond.conf``, creates or refreshes the database (SQLite file under
``var/`` by default, a PostgreSQL cluster under ``var/`` with ``--postgresql``
or any server with ``--database-uri``), loads the demo data and starts the
server.  Every step is idempotent: a second run only starts the server.
Run through ``setup/demo``, which installs the pinned packages first.
"""
import argparse
import datetime
import hashlib
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
MODULES = [
    'receivable_collection',
    'receivable_collection_nets',
    'receivable_collection_agency',
    ]
ADMIN_LOGIN = 'admin'
ADMIN_PASSWORD = 'admin'
ADMIN_EMAIL = 'admin@example.com'
PG_PORT = 5433


class SetupError(Exception):
    "A setup step failed; the message says which and what to do."


def log(message):
    "Print a progress line."
    print(f"setup: {message}", file=sys.stderr, flush=True)


def run(args, **kwargs):
    "Run a command, failing with its output when it fails."
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, **kwargs)
    if result.returncode:
        raise SetupError(
            f"{' '.join(map(str, args))} failed ({result.returncode}):\n"
            f"{result.stdout}{result.stderr}")
    return result.stdout


# PostgreSQL -----------------------------------------------------------------

def _pg_bin():
    "The bin folder of the newest installed PostgreSQL server."
    versions = sorted(
        Path('/usr/lib/postgresql').glob('*/bin/initdb'),
        key=lambda p: int(p.parent.parent.name))
    return versions[-1].parent if versions else None


def ensure_postgresql_installed():
    "Install Debian's postgresql package when no server is installed."
    if _pg_bin():
        return _pg_bin()
    if os.geteuid() != 0:
        raise SetupError(
            "PostgreSQL is not installed: run 'sudo apt-get install -y postgresql' "
            "and try again")
    log("installing Debian's postgresql package")
    env = {**os.environ, 'DEBIAN_FRONTEND': 'noninteractive'}
    run(['apt-get', 'update', '-qq'], env=env)
    run(['apt-get', 'install', '-y', '-qq', 'postgresql'], env=env)
    return _pg_bin()


def _as_postgres(args):
    "Prefix a command so it runs as the postgres user when we are root."
    if os.geteuid() == 0:
        return ['runuser', '-u', 'postgres', '--', *args]
    return args


def _postgres_can_reach(path):
    "Whether the postgres user can reach path (always true when we are not root)."
    if os.geteuid() != 0:
        return True
    return subprocess.run(
        ['runuser', '-u', 'postgres', '--', 'test', '-x', str(path)]).returncode == 0


def _cluster_folder(var):
    "The cluster folder var/pgdata, linked to a postgres-owned folder when needed."
    data = var / 'pgdata'
    if data.exists() or data.is_symlink():
        return data.resolve()
    if _postgres_can_reach(var):
        data.mkdir()
    else:
        # As root, the server runs as postgres, which cannot reach a private
        # checkout (e.g. under mktemp -d): keep the files where it can and
        # link them into var/.
        key = hashlib.sha256(str(var).encode()).hexdigest()[:12]
        target = Path('/var/lib/postgresql') / f'receivable-collection-{key}'
        target.mkdir(parents=True, exist_ok=True)
        data.symlink_to(target)
    if os.geteuid() == 0:
        shutil.chown(data.resolve(), 'postgres', 'postgres')
    return data.resolve()


def _cluster_port(var):
    "The port of the cluster of var/: 5433 or the next free one, kept in var/pgport."
    saved = var / 'pgport'
    if saved.exists():
        return int(saved.read_text())
    for port in range(PG_PORT, PG_PORT + 100):
        with socket.socket() as sock:
            if sock.connect_ex(('127.0.0.1', port)) != 0:
                saved.write_text(str(port))
                return port
    raise SetupError(f"no free port from {PG_PORT} for PostgreSQL")


def start_postgresql(var):
    "Create (once) and start the cluster under var/pgdata; return its URI."
    pg_bin = ensure_postgresql_installed()
    port = _cluster_port(var)
    data = _cluster_folder(var)
    if not (data / 'PG_VERSION').exists():
        log(f"creating a PostgreSQL cluster in {var / 'pgdata'}")
        run(_as_postgres([
                    pg_bin / 'initdb', '-D', data, '-U', 'postgres',
                    '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8']))
    status = subprocess.run(
        _as_postgres([str(pg_bin / 'pg_ctl'), 'status', '-D', str(data)]),
        capture_output=True)
    if status.returncode != 0:
        log(f"starting PostgreSQL on 127.0.0.1:{port}")
        run(_as_postgres([
                    pg_bin / 'pg_ctl', 'start', '-w', '-D', data,
                    '-l', data / 'server.log',
                    '-o', f"-p {port} -k {data} -c listen_addresses=127.0.0.1"]))
    return f'postgresql://postgres@127.0.0.1:{port}/'


def stop_postgresql(var):
    "Stop the cluster under var/pgdata if it runs."
    pg_bin = _pg_bin()
    data = (var / 'pgdata').resolve()
    if pg_bin and (data / 'postmaster.pid').exists():
        run(_as_postgres([pg_bin / 'pg_ctl', 'stop', '-w', '-D', data]))


# Configuration and database ---------------------------------------------------

def write_config(var, uri, port):
    "Write var/trytond.conf and return its path."
    db_path = var / 'db'
    db_path.mkdir(parents=True, exist_ok=True)
    config = var / 'trytond.conf'
    config.write_text(
        "# Written by setup/manage.py: edit the command line, not this file.\n"
        "[database]\n"
        f"uri = {uri}\n"
        f"path = {db_path}\n"
        "\n[web]\n"
        f"listen = 127.0.0.1:{port}\n"
        f"root = {ROOT / 'var' / 'sao'}\n"
        "\n[session]\n"
        "timeout = 86400\n")
    return config


def database_exists(uri, name, var):
    "Whether the database already exists."
    if uri.startswith('sqlite'):
        path = var / 'db' / f'{name}.sqlite'
        return path.exists() and path.stat().st_size > 0
    import psycopg
    with psycopg.connect(_pg_dsn(uri, 'postgres'), autocommit=True) as conn:
        return bool(conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s",
                (name,)).fetchone())


def _pg_dsn(uri, dbname):
    "A psycopg connection string for a database on the server of uri."
    parts = urlsplit(uri)
    return parts._replace(path=f'/{dbname}').geturl()


def create_database(uri, name, var):
    "Create an empty database."
    if uri.startswith('sqlite'):
        (var / 'db' / f'{name}.sqlite').touch()
        return
    import psycopg
    from psycopg import sql
    with psycopg.connect(_pg_dsn(uri, 'postgres'), autocommit=True) as conn:
        conn.execute(sql.SQL(
                "CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(
                sql.Identifier(name)))


def modules_digest(extra=()):
    "A hash of the module sources (not their tests), the pins and extra files."
    digest = hashlib.sha256()
    paths = []
    for module in MODULES:
        paths.extend(sorted(
                path for path in (ROOT / module).rglob('*')
                if path.is_file() and '__pycache__' not in path.parts
                and 'tests' not in path.relative_to(ROOT / module).parts))
    paths.append(ROOT / 'setup' / 'constraints.txt')
    for path in [*paths, *extra]:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def install_modules(config, uri, name, var, fresh):
    "Activate (or update) the three modules with trytond-admin."
    stamp = var / f'.modules-{urlsplit(uri).scheme}-{name}'
    digest = modules_digest()
    if not fresh and stamp.exists() and stamp.read_text() == digest:
        log("modules are up to date")
        return
    log("activating the modules (trytond-admin)" if fresh
        else "updating the modules (trytond-admin)")
    password = var / '.admin-password'
    password.write_text(ADMIN_PASSWORD)
    env = {**os.environ, 'TRYTONPASSFILE': str(password), 'PYTHONOPTIMIZE': '1'}
    try:
        run([VENV_BIN / 'trytond-admin', '-c', config, '-d', name,
                '-u', *MODULES, '--activate-dependencies',
                '--email', ADMIN_EMAIL], env=env)
    finally:
        password.unlink()
    stamp.write_text(digest)


def load_demo_data(config, name, today, customers, invoices):
    "Create the demo data (skipped when it exists) and close the first-login wizard."
    from trytond import config as tconfig
    tconfig.update_etc(str(config))
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    spec = importlib.util.spec_from_file_location(
        'demo_data', ROOT / 'setup' / 'demo_data.py')
    demo_data = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo_data)

    Pool(name).init()
    with Transaction().start(name, 0, context={'language': 'en'}) as transaction:
        pool = Pool()
        User = pool.get('res.user')
        ConfigItem = pool.get('ir.module.config_wizard.item')
        admin, = User.search([('login', '=', ADMIN_LOGIN)])
        with transaction.set_user(admin.id), \
                transaction.set_context(User.get_preferences(context_only=True)):
            summary = demo_data.create_demo_data(
                today, customers=customers, invoices=invoices,
                log=lambda m: log(f"demo: {m}"))
        ConfigItem.write(ConfigItem.search([]), {'state': 'done'})
        transaction.commit()
    return summary


def wait_for_port(port, timeout=60):
    "Wait until something listens on 127.0.0.1:port."
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as sock:
            if sock.connect_ex(('127.0.0.1', port)) == 0:
                return True
        time.sleep(0.2)
    return False


def parse_args(argv):
    "The command line of setup/demo."
    parser = argparse.ArgumentParser(
        prog='setup/demo',
        description="Set up the receivable collection demo and start Tryton on it.")
    db = parser.add_mutually_exclusive_group()
    db.add_argument('--postgresql', action='store_true',
        help="use a PostgreSQL cluster under var/ (installed with apt-get if missing) "
        "instead of SQLite")
    db.add_argument('--database-uri', metavar='URI',
        default=os.environ.get('RC_DATABASE_URI'),
        help="use this database server, e.g. postgresql://user:pw@host:5432/ "
        "(or set RC_DATABASE_URI)")
    parser.add_argument('--database', default='demo', help="database name (demo)")
    parser.add_argument('--port', type=int, default=8000, help="web port (8000)")
    parser.add_argument('--var', type=Path, default=ROOT / 'var',
        help="folder for the configuration and databases (var/)")
    parser.add_argument('--today', type=datetime.date.fromisoformat,
        default=datetime.date.today(),
        help="date the demo invoices are aged against (today)")
    parser.add_argument('--customers', type=int, default=200)
    parser.add_argument('--invoices', type=int, default=1000)
    parser.add_argument('--no-serve', action='store_true',
        help="set up only, do not start the server")
    return parser.parse_args(argv)


def postgresql_command(argv):
    "setup/manage.py postgresql start|stop [VAR]: the project's cluster alone."
    action = argv[0] if argv else 'start'
    var = (Path(argv[1]) if len(argv) > 1 else ROOT / 'var').resolve()
    var.mkdir(parents=True, exist_ok=True)
    if action == 'start':
        print(start_postgresql(var))
    elif action == 'stop':
        stop_postgresql(var)
    else:
        raise SetupError(f"unknown action {action!r}: use start or stop")
    return 0


def main(argv=None):
    "Set up the demo, then replace this process with the Tryton server."
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ['postgresql']:
        return postgresql_command(argv[1:])
    args = parse_args(argv)
    var = args.var.resolve()
    var.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    if args.postgresql:
        uri = start_postgresql(var)
    elif args.database_uri:
        uri = args.database_uri
    else:
        uri = 'sqlite://'
    config = write_config(var, uri, args.port)
    fresh = not database_exists(uri, args.database, var)
    if fresh:
        log(f"creating database {args.database!r} on {urlsplit(uri).scheme}")
        create_database(uri, args.database, var)
    install_modules(config, uri, args.database, var, fresh)
    summary = load_demo_data(
        config, args.database, args.today, args.customers, args.invoices)
    log("demo data: " + ", ".join(f"{k} {v}" for k, v in summary.items()
            if not isinstance(v, dict)))
    log(f"ready in {time.monotonic() - start:.0f} s")
    url = f"http://127.0.0.1:{args.port}/#{args.database}"
    print(
        f"\n  Web client: {url}\n"
        f"  Login: {ADMIN_LOGIN}   Password: {ADMIN_PASSWORD}\n"
        f"  Database: {args.database} ({uri.split('://')[0]}), config {config}\n",
        flush=True)
    if args.no_serve:
        return 0
    with socket.socket() as sock:
        if sock.connect_ex(('127.0.0.1', args.port)) == 0:
            raise SetupError(
                f"port {args.port} is already in use: stop the other server "
                "or pass --port")
    log("starting the Tryton server (Ctrl-C stops it)")
    env = {**os.environ, 'PYTHONOPTIMIZE': '1'}
    trytond = str(VENV_BIN / 'trytond')
    os.execve(trytond, [trytond, '-c', str(config), '-d', args.database], env)


if __name__ == '__main__':
    try:
        sys.exit(main())
    except SetupError as error:
        print(f"setup: error: {error}", file=sys.stderr)
        sys.exit(1)
