"""The caller's key against what a route touches: routes get their knowledge base through `Scoped.kb(tenant)` only,
which checks the key's collections, access and tenant first (`semsearch.scoped_keys.Principal`).

`ApiKeyGuard` lets a scoped key onto the paths it `reaches` and puts its principal on the request; here each route
says what it does (read or write) by the dependency it takes, and names the tenant its request carries. A route that
forgot the tenant cannot read past it either: on a multi-tenant collection the store refuses every call without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from search_api.access import principal_of
from search_api.deps import KnowledgeBaseDep
from semsearch.errors import Forbidden, TenantRequired
from semsearch.knowledge_base import KnowledgeBase
from semsearch.scoped_keys import Action, Principal


async def get_principal(request: Request) -> Principal:
    """Who the request speaks for (set by `ApiKeyGuard`); an app without the guard is open, as before keys."""
    return principal_of(request)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


@dataclass(frozen=True)
class Scoped:
    """A knowledge base behind its caller's key, already checked for the collection and the action."""

    base: KnowledgeBase
    principal: Principal

    def kb(self, tenant: str | None) -> KnowledgeBase:
        """The knowledge base the request may use: confined to `tenant` where it names one. TenantRequired (400) if
        the key is a tenant's and the request names none, Forbidden (403) if it names another."""
        self.principal.confine(tenant)
        if tenant is None and self.base.multi_tenant:  # the store would refuse it too: say so before any work
            raise TenantRequired(f"collection {self.base.engine.store.collection!r} is multi-tenant: send `tenant`")
        return self.base.for_tenant(tenant) if tenant is not None else self.base

    def whole(self) -> KnowledgeBase:
        """The whole collection across tenants (listing them): Forbidden for a key confined to one tenant."""
        if self.principal.tenant is not None:
            raise Forbidden(f"this key is confined to tenant {self.principal.tenant!r}: it cannot list tenants")
        return self.base


def _scoped(action: Action):
    async def dependency(kb: KnowledgeBaseDep, principal: PrincipalDep) -> Scoped:
        principal.check(kb.engine.store.collection, action)
        return Scoped(kb, principal)

    return dependency


ReadScope = Annotated[Scoped, Depends(_scoped("read"))]
WriteScope = Annotated[Scoped, Depends(_scoped("write"))]
