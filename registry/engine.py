"""Resolve a registry location to a SQLAlchemy engine, refusing what is not a registry."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from registry.errors import RegistryError
from registry.models import VERSION_TABLE

ENV_VAR = "METRICFORGE_REGISTRY"
DEFAULT_PATH = "metricforge.db"
SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 30_000
WRITE_OPTION = "metricforge_write"


def resolve_url(url_or_path: str | os.PathLike[str] | None) -> URL:
    """None -> $METRICFORGE_REGISTRY or ./metricforge.db; a path -> sqlite; else a URL."""
    if url_or_path is None:
        url_or_path = os.environ.get(ENV_VAR) or DEFAULT_PATH
    text = os.fspath(url_or_path)
    if "://" not in text:
        path = Path(text).expanduser().resolve()
        return URL.create("sqlite", database=str(path))
    try:
        url = make_url(text)
    except ArgumentError as exc:
        raise RegistryError(f"not a database URL: {text!r} ({exc})") from None
    return _pick_pg_driver(url)


def safe_url(url: URL | str) -> str:
    """The URL as text with any password hidden (a read-only SQLite file as its path, marked so)."""
    if isinstance(url, str):
        try:
            url = make_url(url)
        except ArgumentError:
            return "<unparseable URL>"
    if is_read_only(url):
        return f"sqlite:///{(url.database or '').removeprefix('file:')} (read-only storage)"
    return url.render_as_string(hide_password=True)


def _pick_pg_driver(url: URL) -> URL:
    """Plain postgresql:// means psycopg2; use psycopg 3 when only it is installed."""
    if url.drivername == "postgresql" and importlib.util.find_spec("psycopg2") is None \
            and importlib.util.find_spec("psycopg") is not None:
        return url.set(drivername="postgresql+psycopg")
    return url


def sqlite_path(url: URL) -> Path | None:
    """The file of a file-backed SQLite URL, else None (memory or other dialects)."""
    if url.get_backend_name() != "sqlite":
        return None
    db = url.database or ""
    if db in ("", ":memory:") or db.startswith("file:") or url.query.get("mode") == "memory":
        return None
    return Path(db)


def check_sqlite_file(url: URL) -> None:
    """Refuse a path that is a directory or a non-empty file without the SQLite header."""
    path = sqlite_path(url)
    if path is None:
        return
    where = safe_url(url)
    if path.is_dir():
        raise RegistryError(f"registry path is a directory, not a database file: {where}")
    if path.exists():
        try:
            with path.open("rb") as fh:
                head = fh.read(len(SQLITE_HEADER))
        except OSError as exc:
            raise RegistryError(f"cannot read registry file {where}: {exc.strerror}") from None
        if head and head != SQLITE_HEADER:
            raise RegistryError(f"not an SQLite database (refusing to touch it): {where}")
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RegistryError(f"cannot create the folder of {where}: {exc.strerror}") from None


def read_only_url(url: URL) -> URL:
    """A SQLite registry on storage we cannot write: the same file opened read-only and immutable.

    A WAL database needs its ``-shm`` file to be writable even for reading; ``immutable=1`` reads the
    main file without it (changes still in an uncheckpointed ``-wal`` file are not seen). Any other
    URL is returned unchanged."""
    path = sqlite_path(url)
    if path is None or not path.exists():
        return url
    if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK):
        return url
    return URL.create("sqlite", database=f"file:{path}", query={"mode": "ro", "immutable": "1", "uri": "true"})


def is_read_only(url: URL) -> bool:
    """True for a SQLite URL opened by ``read_only_url``."""
    return url.get_backend_name() == "sqlite" and url.query.get("mode") == "ro"


def _sqlite_events(engine: Engine) -> None:
    """WAL, a 30 s busy timeout, foreign keys, and BEGIN IMMEDIATE for writes."""
    read_only = is_read_only(engine.url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        tables = {r[0] for r in cur.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not read_only and (not tables or VERSION_TABLE in tables):  # WAL rewrites the header: only on our files
            cur.execute("PRAGMA journal_mode = WAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_engine(url: URL) -> Engine:
    """Create the engine for a resolved URL; errors become RegistryError."""
    where = safe_url(url)
    is_sqlite = url.get_backend_name() == "sqlite"
    kwargs: dict[str, object] = {}
    if is_sqlite:
        kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(url, **kwargs)
    except NoSuchModuleError:
        raise RegistryError(f"unknown database dialect {url.drivername!r}: {where}") from None
    except ImportError as exc:
        raise RegistryError(
            f"database driver not installed ({exc.name or exc}) for {where}"
            " (PostgreSQL: pip install 'metricforge[postgres]')") from None
    except ArgumentError as exc:
        raise RegistryError(f"bad database URL {where}: {exc}") from None
    if is_sqlite:
        _sqlite_events(engine)
    return engine
