"""`flask dapp ARGS…`: run `dapp db ARGS…` with the Flask app's database.

`SQLALCHEMY_DATABASE_URI` becomes `DATABASE_URL`. With `SQLALCHEMY_BINDS`, every URL (the
default first, then the binds in name order) goes into `DAPP_DATABASES`, so `flask dapp
upgrade --all` migrates each database with the same revisions; `--bind NAME` runs on one bind.
"""

import os
import shutil
import subprocess
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

__version__ = "0.1.0"


def _url(value, where):
    """A bind is a URL string (or SQLAlchemy URL object) or a dict of engine options with "url"."""
    if isinstance(value, dict):
        value = value.get("url")
    if value is None:
        raise click.UsageError(f"{where} has no URL")
    if hasattr(value, "render_as_string"):
        value = value.render_as_string(hide_password=False)
    return _absolute_sqlite(str(value))


def _sqlite_base(_app):
    """Where Flask-SQLAlchemy puts a relative SQLite path: the instance folder (3.x, which
    creates it), else the app's root (2.x)."""
    try:
        from importlib.metadata import version

        major = int(version("flask-sqlalchemy").split(".")[0])
    except Exception:  # not installed, or an odd version: the current behaviour
        major = 3
    if major >= 3:
        os.makedirs(current_app.instance_path, exist_ok=True)
        return current_app.instance_path
    return current_app.root_path


def _absolute_sqlite(url):
    """`sqlite:///rel.db` as the app opens it: dapp reads a relative path from the working
    directory, Flask-SQLAlchemy from the instance folder."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url.startswith("sqlite:////"):
        return url
    rest = url[len(prefix):]
    path, sep, query = rest.partition("?")
    if path in ("", ":memory:") or path.startswith("file:"):
        return url
    return prefix + os.path.join(_sqlite_base(current_app), path) + sep + query


def _databases(config):
    """(default URL or None, {bind name: URL}) from the app's config."""
    default = config.get("SQLALCHEMY_DATABASE_URI")
    default = _url(default, "SQLALCHEMY_DATABASE_URI") if default is not None else None
    binds = {}
    for name, value in sorted((config.get("SQLALCHEMY_BINDS") or {}).items(), key=lambda kv: str(kv[0])):
        if name is None:
            continue
        binds[str(name)] = _url(value, f"SQLALCHEMY_BINDS[{name!r}]")
    return default, binds


def _binary():
    found = os.environ.get("DAPP_BIN") or shutil.which("dapp")
    if not found:
        raise click.ClickException(
            "the `dapp` binary is not on PATH; install it with `pip install dapp-migrate` "
            "(or set DAPP_BIN)"
        )
    return found


@click.command(
    "dapp",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []},
)
@click.option("--bind", "bind", metavar="NAME", help="Use SQLALCHEMY_BINDS[NAME] instead of SQLALCHEMY_DATABASE_URI.")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@with_appcontext
def dapp(bind, args):
    """Run `dapp db ARGS…` (upgrade, downgrade, current, check, …) on the app's database."""
    default, binds = _databases(current_app.config)
    env = dict(os.environ)
    if bind is not None:
        if bind not in binds:
            known = ", ".join(binds) or "none"
            raise click.UsageError(f"no bind named {bind!r} in SQLALCHEMY_BINDS (binds: {known})")
        env["DATABASE_URL"] = binds[bind]
        env.pop("DAPP_DATABASES", None)
    else:
        if default is None:
            raise click.UsageError("the app has no SQLALCHEMY_DATABASE_URI")
        env["DATABASE_URL"] = default
        if binds:
            env["DAPP_DATABASES"] = ",".join([default, *binds.values()])
    # Run where `flask` runs: dapp finds dapp-migrate.toml (or migrations/) from there, as
    # Flask-Migrate finds `migrations/`.
    binary = _binary()
    if os.name == "posix":
        # dapp takes flask's place (same pid), so a stop (SIGTERM) or Ctrl-C reaches dapp,
        # which cancels its statement on the server; as a child, Python would die of SIGTERM
        # and leave dapp running on, and kill it 0.25 s after a Ctrl-C.
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(binary, [binary, "db", *args], env)
    sys.exit(subprocess.call([binary, "db", *args], env=env))
