"""`/collections`: list, create, describe and drop the knowledge bases this API serves; thin routes over
`semsearch.Service`. The routes for one collection's documents and searches are the unprefixed routes again, under
`/collections/{collection}/...` (`search_api.app` mounts them twice)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from search_api.access import Action
from search_api.collection_models import (
    COLLECTION_ERRORS,
    CollectionList,
    CollectionStatus,
    CreateCollectionRequest,
    DropCollectionRequest,
    DropResponse,
)
from search_api.deps import ServiceDep, allow, collection_path
from search_api.models import ERRORS

router = APIRouter(tags=["collections"])
ERROR_ANSWERS = {**ERRORS, **COLLECTION_ERRORS}
CollectionName = Annotated[str, Depends(collection_path)]


@router.get("/collections", response_model=CollectionList, responses=ERRORS)
def list_collections(request: Request, service: ServiceDep) -> Any:
    """Every collection in this Milvus, with its model, recorded settings and state in this API."""
    return {"default": request.app.state.settings.collection, "collections": service.collections()}


@router.post(
    "/collections",
    response_model=CollectionStatus,
    status_code=201,
    responses={**ERROR_ANSWERS, 200: {"model": CollectionStatus, "description": "It exists with these settings"}},
)
def create_collection(body: CreateCollectionRequest, request: Request, response: Response, service: ServiceDep) -> Any:
    """Create a collection that records its model, prompts, chunk size, keyword window, index and tenancy (201).
    The same request again answers 200; one with other settings for an existing name, 409."""
    allow(request, body.name, Action.ADMIN)
    _, created = service.ensure(body.name, **body.chosen())
    if not created:
        response.status_code = 200
    return service.describe(body.name)


@router.get("/collections/{collection}", response_model=CollectionStatus, responses=ERROR_ANSWERS)
def describe_collection(collection: CollectionName, request: Request, service: ServiceDep) -> Any:
    """A collection's model, settings, counts, capabilities and load state (it is not opened for this)."""
    allow(request, collection, Action.READ)
    return service.describe(collection)


@router.delete("/collections/{collection}", response_model=DropResponse, responses=ERROR_ANSWERS)
def drop_collection(
    collection: CollectionName, body: DropCollectionRequest, request: Request, service: ServiceDep
) -> Any:
    """Drop a collection and all its data: needs the admin key and `{"confirm": "<name>"}`. Its routes answer 404
    from then on; the other collections are not touched. The API's default collection cannot be dropped (409)."""
    allow(request, collection, Action.ADMIN)
    if body.confirm != collection:
        raise HTTPException(
            400, f'dropping deletes every document of {collection!r}: send {{"confirm": "{collection}"}}'
        )
    return {"collection": collection, "dropped": service.drop(collection)}
