"""Optuna's study storage in the registry's own database (an SQLite file or a PostgreSQL URL).

Optuna's tables (``studies``, ``trials``, ... and its ``alembic_version``) share no name with the
registry's (``metrics``, ``evaluations``, ``runs``, ``lineage``, ``metricforge_version``), so both
live side by side. The registry is always opened first; an SQLite file that holds only Optuna's
tables (a study created elsewhere first) gets the registry schema added, since the registry
otherwise refuses SQLite files it does not recognise.
"""
from __future__ import annotations

import logging
import os
import warnings
from typing import TYPE_CHECKING, Any

from gp_engine.tuning_space import TuningError

if TYPE_CHECKING:
    from registry.store import Registry

log = logging.getLogger(__name__)
OPTUNA_TABLES = ("studies", "study_directions", "study_system_attributes", "study_user_attributes",
                 "trial_heartbeats", "trial_intermediate_values", "trial_params", "trial_system_attributes",
                 "trial_user_attributes", "trial_values", "trials", "version_info", "alembic_version")
HEARTBEAT_S = 60  # a trial whose process died is marked failed after two silent heartbeats


def require_optuna() -> Any:
    """The optuna module, or a TuningError saying how to install it."""
    try:
        import optuna
    except ImportError:
        raise TuningError("tuning needs optuna: pip install 'metricforge[tune]'") from None
    return optuna


def optuna_tables() -> set[str]:
    """Every table Optuna's storage creates (read from its models when they are importable)."""
    try:
        from optuna.storages._rdb import models
    except ImportError:  # a private module: fall back to the tables of optuna 3 to 5
        return set(OPTUNA_TABLES)
    return set(models.BaseModel.metadata.tables) | {"alembic_version"}


def adopt_study_file(url_or_path: str | os.PathLike[str] | None) -> bool:
    """Add the registry schema to an SQLite file holding only an Optuna study; True if it did."""
    from alembic import command
    from sqlalchemy import inspect

    from registry.engine import WRITE_OPTION, check_sqlite_file, make_engine, resolve_url, sqlite_path
    from registry.migrate import alembic_config
    from registry.models import VERSION_TABLE

    url = resolve_url(url_or_path)
    path = sqlite_path(url)
    if path is None or not path.exists():
        return False
    check_sqlite_file(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
        if not tables or VERSION_TABLE in tables or not tables <= optuna_tables():
            return False
        with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
            command.upgrade(alembic_config(conn), "head")
    finally:
        engine.dispose()
    log.info("added the registry schema to the Optuna study file %s", path)
    return True


def study_storage(registry: Registry, heartbeat_s: int | None = HEARTBEAT_S) -> Any:
    """An Optuna RDBStorage on the database of an open Registry (its full URL, password included)."""
    optuna = require_optuna()
    url = registry.engine.url
    is_sqlite = url.get_backend_name() == "sqlite"
    engine_kwargs: dict[str, Any] = {"connect_args": {"timeout": 30}} if is_sqlite else {"pool_pre_ping": True}
    heartbeat = {"heartbeat_interval": heartbeat_s, "grace_period": 2 * heartbeat_s} if heartbeat_s else {}
    with warnings.catch_warnings():  # heartbeats are marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(url.render_as_string(hide_password=False), engine_kwargs=engine_kwargs,
                                          **heartbeat)
