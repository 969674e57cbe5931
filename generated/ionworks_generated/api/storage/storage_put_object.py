from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.storage_put_object_area import StoragePutObjectArea
from ...models.storage_put_object_method import StoragePutObjectMethod
from ...models.stored_object import StoredObject
from ...types import UNSET, File, Response


def _get_kwargs(
    area: StoragePutObjectArea,
    object_id: str,
    filename: str,
    *,
    body: File,
    expires: int,
    method: StoragePutObjectMethod,
    signature: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    params: dict[str, Any] = {}

    params["expires"] = expires

    json_method = method.value
    params["method"] = json_method

    params["signature"] = signature

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/storage/{area}/{object_id}/{filename}".format(
            area=quote(str(area), safe=""),
            object_id=quote(str(object_id), safe=""),
            filename=quote(str(filename), safe=""),
        ),
        "params": params,
    }

    _kwargs["content"] = body.payload
    headers["Content-Type"] = "application/octet-stream"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | StoredObject | None:
    if response.status_code == 200:
        response_200 = StoredObject.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if response.status_code == 413:
        response_413 = Error.from_dict(response.json())

        return response_413

    if response.status_code == 500:
        response_500 = Error.from_dict(response.json())

        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | StoredObject]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    area: StoragePutObjectArea,
    object_id: str,
    filename: str,
    *,
    client: AuthenticatedClient | Client,
    body: File,
    expires: int,
    method: StoragePutObjectMethod,
    signature: str,
) -> Response[Error | StoredObject]:
    """Write an object through a signed URL (the upload flow's PUT step).

    Args:
        area (StoragePutObjectArea):
        object_id (str):
        filename (str):
        expires (int):
        method (StoragePutObjectMethod):
        signature (str):
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | StoredObject]
    """

    kwargs = _get_kwargs(
        area=area,
        object_id=object_id,
        filename=filename,
        body=body,
        expires=expires,
        method=method,
        signature=signature,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    area: StoragePutObjectArea,
    object_id: str,
    filename: str,
    *,
    client: AuthenticatedClient | Client,
    body: File,
    expires: int,
    method: StoragePutObjectMethod,
    signature: str,
) -> Error | StoredObject | None:
    """Write an object through a signed URL (the upload flow's PUT step).

    Args:
        area (StoragePutObjectArea):
        object_id (str):
        filename (str):
        expires (int):
        method (StoragePutObjectMethod):
        signature (str):
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | StoredObject
    """

    return sync_detailed(
        area=area,
        object_id=object_id,
        filename=filename,
        client=client,
        body=body,
        expires=expires,
        method=method,
        signature=signature,
    ).parsed


async def asyncio_detailed(
    area: StoragePutObjectArea,
    object_id: str,
    filename: str,
    *,
    client: AuthenticatedClient | Client,
    body: File,
    expires: int,
    method: StoragePutObjectMethod,
    signature: str,
) -> Response[Error | StoredObject]:
    """Write an object through a signed URL (the upload flow's PUT step).

    Args:
        area (StoragePutObjectArea):
        object_id (str):
        filename (str):
        expires (int):
        method (StoragePutObjectMethod):
        signature (str):
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | StoredObject]
    """

    kwargs = _get_kwargs(
        area=area,
        object_id=object_id,
        filename=filename,
        body=body,
        expires=expires,
        method=method,
        signature=signature,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    area: StoragePutObjectArea,
    object_id: str,
    filename: str,
    *,
    client: AuthenticatedClient | Client,
    body: File,
    expires: int,
    method: StoragePutObjectMethod,
    signature: str,
) -> Error | StoredObject | None:
    """Write an object through a signed URL (the upload flow's PUT step).

    Args:
        area (StoragePutObjectArea):
        object_id (str):
        filename (str):
        expires (int):
        method (StoragePutObjectMethod):
        signature (str):
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | StoredObject
    """

    return (
        await asyncio_detailed(
            area=area,
            object_id=object_id,
            filename=filename,
            client=client,
            body=body,
            expires=expires,
            method=method,
            signature=signature,
        )
    ).parsed
