"""Library versions and hardware, recorded with a run and its evaluations."""
from __future__ import annotations

import os
import platform
import socket
import sys
from importlib import metadata
from typing import Any

_PACKAGES = ("metricforge", "deap", "sympy", "numpy", "torch", "sqlalchemy", "transformers", "ray")


def library_versions() -> dict[str, str]:
    """Installed versions of the packages that can change a score (absent ones omitted)."""
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def hardware() -> dict[str, Any]:
    """Host, OS, CPU count and, if torch is already loaded, its intra-op threads and the CUDA devices."""
    info: dict[str, Any] = {"host": socket.gethostname(), "platform": platform.platform(),
                            "machine": platform.machine(), "cpus": os.cpu_count()}
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch_threads"] = torch.get_num_threads()
        try:
            if torch.cuda.is_available():
                info["cuda"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        except Exception:  # a broken driver must not stop a run
            pass
    return info
