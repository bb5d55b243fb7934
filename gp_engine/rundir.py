"""The layout of a run directory and the checkpoint document."""
from __future__ import annotations

import contextlib
import logging
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from gp_engine.checkpoint import CHECKPOINT_FORMAT, CheckpointError, read_json, write_json_atomic
from gp_engine.config import SearchConfig

log = logging.getLogger(__name__)

CONFIG_FORMAT = "metricforge.gp-run/1"


@dataclass(frozen=True)
class RunDir:
    """Paths inside one run directory."""

    path: Path

    @property
    def config(self) -> Path:
        return self.path / "config.json"

    @property
    def checkpoint(self) -> Path:
        return self.path / "checkpoint.json"

    @property
    def log(self) -> Path:
        return self.path / "search.log"

    @property
    def results(self) -> Path:
        return self.path / "results"

    def exists(self) -> bool:
        """A run was started here (its config is written)."""
        return self.config.exists()

    def read_config(self) -> dict[str, Any]:
        """The recorded run config, checked for its format tag."""
        data = read_json(self.config)
        if not isinstance(data, dict) or data.get("format") != CONFIG_FORMAT:
            raise CheckpointError(f"{self.config} is not a metricforge run config")
        return data

    def write_config(self, data: dict[str, Any]) -> None:
        """Write config.json atomically."""
        write_json_atomic(self.config, {"format": CONFIG_FORMAT, **data})

    def read_checkpoint(self) -> dict[str, Any] | None:
        """The last checkpoint, or None before the first generation finished."""
        if not self.checkpoint.exists():
            return None
        data = read_json(self.checkpoint)
        if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(f"{self.checkpoint} is not a metricforge checkpoint")
        return data

    def write_checkpoint(self, data: dict[str, Any]) -> None:
        """Write checkpoint.json atomically."""
        write_json_atomic(self.checkpoint, {"format": CHECKPOINT_FORMAT, **data})

    def open(self, config: SearchConfig, record: dict[str, Any]) -> str:
        """Check that an existing run is this search (generations may grow), or start one; the run id."""
        if not self.exists():
            run_id = uuid.uuid4().hex
            self.write_config({**record, "run_id": run_id, "search": config.to_dict(),
                               "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
            return run_id
        old = self.read_config()
        before = SearchConfig.from_dict(old["search"]).search_identity()
        diff = sorted(k for k, v in config.search_identity().items() if before.get(k) != v)
        if diff or old.get("settings_key") != record["settings_key"]:
            raise CheckpointError(f"{self.path} holds a different search (differs in "
                                  f"{diff or ['task settings']}); pick another run name")
        if old.get("registry_url") != record["registry_url"]:
            log.warning("run %s moves from registry %s to %s: evaluations recorded in the old one are "
                        "not reused", self.path, old.get("registry_url"), record["registry_url"])
        run_id = str(old["run_id"])
        self.write_config({**old, **record, "run_id": run_id, "search": config.to_dict()})
        return run_id


@contextlib.contextmanager
def discarded_if_unstarted(path: str | Path) -> Iterator[None]:
    """Remove a run folder this block created when the block fails before the first checkpoint.

    A start that fails (bad task option, missing extra, unreadable model, interrupted model load)
    leaves nothing behind, so rerunning the fixed command is a fresh start, not a broken resume.
    """
    path = Path(path)
    existed = path.exists()
    try:
        yield
    except BaseException:
        if not existed and path.is_dir() and not RunDir(path).checkpoint.exists():
            shutil.rmtree(path, ignore_errors=True)
        raise
