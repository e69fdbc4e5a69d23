"""How soon JupyterHub notices that the grading service died, and starts it again.

JupyterHub polls a managed service's process every ``poll_interval`` seconds (30 by default)
and starts it again when it has exited; but it builds the service's spawner without the hub's
configuration, so ``c.Spawner.poll_interval`` does not reach it. :func:`poll_services_every`
puts a subclass with the interval wanted where JupyterHub looks the class up each time it
starts a service (``jupyterhub.services.service``, JupyterHub 5).
"""

from __future__ import annotations

import logging

from traitlets import Integer

log = logging.getLogger(__name__)


def poll_services_every(seconds: int) -> bool:
    """Make JupyterHub poll its managed services every ``seconds``, so that a grading service
    that died is started again within that time. Returns False, with a warning, where this
    JupyterHub does not build its services' spawners the known way (the default poll stays)."""
    try:
        from jupyterhub.services import service

        base = service._ServiceSpawner
    except (ImportError, AttributeError) as error:
        log.warning("a dead grading service is noticed at JupyterHub's default poll: %s", error)
        return False

    class PromptServiceSpawner(base):  # type: ignore[misc,valid-type]
        """A managed service's spawner that polls every ``seconds``."""

        poll_interval = Integer(seconds)

    service._ServiceSpawner = PromptServiceSpawner
    return True
