"""Claims: a search takes a row (metric hash, settings key) before scoring a metric, and the row goes
when the evaluation is recorded. Another search that wants the same metric at the same moment
waits for that evaluation instead of scoring it again.

A claim is stale, and is taken over, when it belongs to a dead process on this host, or is older
than ``CLAIM_TTL_S`` (a process on another host that died); claims of the same run id are the
run's own (a resumed run takes back what it held when it was killed).
"""
from __future__ import annotations

import os
import socket
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from registry.models import Claim, utcnow

CLAIM_TTL_S = 6 * 3600.0


def owner() -> str:
    """This process as "host:pid"."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(who: str) -> bool:
    """False only for a process of this host that no longer exists."""
    host, _, pid = who.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, OverflowError):  # no such process (or no such pid at all)
        return False
    except PermissionError:
        return True
    return True


def claim(session: Session, hashes: list[str], key: str, run_id: str, ttl_s: float = CLAIM_TTL_S) -> set[str]:
    """Claim metrics for ``run_id``; the hashes now held by it (taken, its own, or stale and taken over)."""
    me, now = owner(), utcnow()
    held = {c.metric_hash: c for c in session.scalars(
        select(Claim).where(Claim.settings_key == key, Claim.metric_hash.in_(hashes)))}
    granted = set()
    for metric_hash in dict.fromkeys(hashes):
        found = held.get(metric_hash)
        if found is None:
            session.add(Claim(metric_hash=metric_hash, settings_key=key, run_id=run_id, owner=me, claimed_at=now))
        elif found.run_id == run_id or not _alive(found.owner) or \
                found.claimed_at.replace(tzinfo=now.tzinfo) < now - timedelta(seconds=ttl_s):
            found.run_id, found.owner, found.claimed_at = run_id, me, now
        else:
            continue
        granted.add(metric_hash)
    session.flush()
    return granted


def release(session: Session, metric_hash: str, key: str, run_id: str) -> None:
    """Drop a run's claim (its evaluation is recorded, or it gave up)."""
    session.execute(delete(Claim).where(Claim.metric_hash == metric_hash, Claim.settings_key == key,
                                        Claim.run_id == run_id))
