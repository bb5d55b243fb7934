"""Files a team can share: temporary files made for atomic writes get the process umask's mode."""
from __future__ import annotations

import os


def umask_mode(fd: int, mode: int = 0o666) -> None:
    """Give a file made by ``tempfile.mkstemp`` (always 0600) the mode a plain ``open`` would: ``mode``
    less the umask (0644 under the usual umask 022), so an atomic rename does not make it private."""
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, mode & ~umask)
