"""Errors of metric references, in a module without imports so the registry can subclass them cheaply."""


class MetricNotFound(LookupError):
    """A metric source has no metric under a reference (the registry's NotFoundError is one)."""


class MetricReferenceError(ValueError):
    """A reference that is no built-in, no registry metric and no formula; the message is one line."""
