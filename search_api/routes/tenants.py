"""`/tenants`: the tenants of a multi-tenant collection, listed, counted and deleted whole (docs/tenants-and-keys.md).

Listing every tenant needs a key that is not confined to one; a tenant's own key may count and delete its tenant.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from search_api.deps import WriteLockDep
from search_api.models import ERRORS, ErrorResponse, TenantList, TenantRemoval, TenantStatus
from search_api.scopes import ReadScope, WriteScope
from semsearch.store.tenants import TENANT_PATTERN

router = APIRouter(tags=["tenants"])
RESPONSES = {**ERRORS, 403: {"model": ErrorResponse, "description": "Outside the key's tenant"}}
TenantPath = Annotated[str, Path(pattern=TENANT_PATTERN, description="The tenant's name.")]


@router.get("/tenants", response_model=TenantList, responses=RESPONSES)
def list_tenants(scope: ReadScope) -> TenantList:
    """Every tenant with at least one document (a multi-tenant collection; [] for another)."""
    return TenantList(tenants=scope.whole().tenants())


@router.get("/tenants/{tenant}", response_model=TenantStatus, responses=RESPONSES)
def tenant_status(scope: ReadScope, tenant: TenantPath) -> TenantStatus:
    """How many documents and chunks one tenant has (0 for a tenant with none)."""
    status = scope.kb(tenant).status()
    return TenantStatus(tenant=tenant, documents=status["documents"], chunks=status["chunks"])


@router.delete("/tenants/{tenant}", response_model=TenantRemoval, responses=RESPONSES)
def delete_tenant(scope: WriteScope, tenant: TenantPath, lock: WriteLockDep) -> TenantRemoval:
    """Delete every document of one tenant."""
    kb = scope.kb(tenant)
    with lock:
        return TenantRemoval(tenant=tenant, deleted=kb.delete_tenant(tenant))
