"""Recording changes in the audit log from request handlers.

Every change made through the server is recorded: a middleware records each successful
state-changing request (who, when, from where, what), and handlers that know the before and after
values of what they changed call :func:`audit` themselves (the middleware then skips that request).

>>> audit(request, "model.alias.set", "models/iris-clf@champion", before={"version": 1},
...       after={"version": 2})
"""

from __future__ import annotations

from typing import Any

from fastapi import Request


def audit(
    request: Request,
    action: str,
    target: str,
    *,
    before: Any = None,
    after: Any = None,
) -> None:
    """Append one record for this request's caller and address (see the module docstring)."""
    request.state.audited = True
    store = request.app.state.store
    record = getattr(store, "record_audit", None)
    if record is None:  # a store without an audit log (e.g. a test double of the RunStore)
        return
    caller = getattr(request.state, "caller", None)
    actor = getattr(caller, "user", "") or ""
    address = request.client.host if request.client else ""
    record(actor=actor, action=action, target=target, address=address, before=before, after=after)
