"""`python -m registry {upgrade,current,revision} [URL]`: schema tools for developers."""
from __future__ import annotations

import argparse

from alembic import command

from registry.engine import check_sqlite_file, make_engine, resolve_url
from registry.migrate import alembic_config, current_revision, open_engine


def main(argv: list[str] | None = None) -> None:
    """Upgrade a registry, print its revision, or autogenerate a new migration."""
    parser = argparse.ArgumentParser(prog="python -m registry")
    parser.add_argument("action", choices=["upgrade", "current", "revision"])
    parser.add_argument("url", nargs="?", default=None, help="URL or path (default: as Registry.open)")
    parser.add_argument("-m", "--message", default="change", help="message of a new revision")
    args = parser.parse_args(argv)
    if args.action == "upgrade":
        engine = open_engine(args.url)
    else:
        url = resolve_url(args.url)
        check_sqlite_file(url)
        engine = make_engine(url)
    with engine.begin() as conn:
        if args.action == "revision":
            command.revision(alembic_config(conn), message=args.message, autogenerate=True)
        print(current_revision(conn))
    engine.dispose()


if __name__ == "__main__":
    main()
