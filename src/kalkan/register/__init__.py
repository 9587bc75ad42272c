"""The mission's incident register: reports, verification, evidence, access control, exports.

Library use::

    from kalkan.register import open_register, service, Actor
    register = open_register()                      # SQLite under the user's data dir, migrated
    with register.write() as session:
        incident, created = service.create_incident(session, actor, report)

The HTTP service is :func:`kalkan.register.app.create_app`; the CLI is ``kalkan serve``,
``kalkan users`` and ``kalkan register``. See ``docs/register.md``.
"""

from __future__ import annotations

from kalkan.register import service
from kalkan.register.auth import Actor, Role, add_user, authenticate
from kalkan.register.context import Register, open_register
from kalkan.register.schemas import IncidentFilter, IncidentIn, IncidentOut

__all__ = [
    "Actor",
    "IncidentFilter",
    "IncidentIn",
    "IncidentOut",
    "Register",
    "Role",
    "add_user",
    "authenticate",
    "open_register",
    "service",
]
