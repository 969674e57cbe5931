from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.measurement_tags_bulk import MeasurementTagsBulk
from ...models.measurement_tags_bulk_result import MeasurementTagsBulkResult
from ...types import Response


def _get_kwargs(
    *,
    body: MeasurementTagsBulk,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/cell_measurements/tags/bulk",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | MeasurementTagsBulkResult | None:
    if response.status_code == 200:
        response_200 = MeasurementTagsBulkResult.from_dict(response.json())

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

    if response.status_code == 415:
        response_415 = Error.from_dict(response.json())

        return response_415

    if response.status_code == 500:
        response_500 = Error.from_dict(response.json())

        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | MeasurementTagsBulkResult]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: MeasurementTagsBulk,
) -> Response[Error | MeasurementTagsBulkResult]:
    """Add and remove tags on up to 1000 measurements at once, all or nothing.

     Unlike `PATCH /cell_measurements/{id}` (whose `tags` replaces the whole set), this leaves every
    other tag in place. Only measurements whose tag set changes get a new `updated_at`. Any id that is
    not a measurement visible to the caller makes the whole request a 404 naming the ids; a measurement
    that would carry more than 50 tags makes it a 400. Nothing is changed in either case.

    Args:
        body (MeasurementTagsBulk): Tags to add to and remove from many measurements at once, in
            one transaction (all or nothing). Tags are trimmed and matched ignoring case; an added tag
            takes the spelling its project already uses.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | MeasurementTagsBulkResult]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: MeasurementTagsBulk,
) -> Error | MeasurementTagsBulkResult | None:
    """Add and remove tags on up to 1000 measurements at once, all or nothing.

     Unlike `PATCH /cell_measurements/{id}` (whose `tags` replaces the whole set), this leaves every
    other tag in place. Only measurements whose tag set changes get a new `updated_at`. Any id that is
    not a measurement visible to the caller makes the whole request a 404 naming the ids; a measurement
    that would carry more than 50 tags makes it a 400. Nothing is changed in either case.

    Args:
        body (MeasurementTagsBulk): Tags to add to and remove from many measurements at once, in
            one transaction (all or nothing). Tags are trimmed and matched ignoring case; an added tag
            takes the spelling its project already uses.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | MeasurementTagsBulkResult
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: MeasurementTagsBulk,
) -> Response[Error | MeasurementTagsBulkResult]:
    """Add and remove tags on up to 1000 measurements at once, all or nothing.

     Unlike `PATCH /cell_measurements/{id}` (whose `tags` replaces the whole set), this leaves every
    other tag in place. Only measurements whose tag set changes get a new `updated_at`. Any id that is
    not a measurement visible to the caller makes the whole request a 404 naming the ids; a measurement
    that would carry more than 50 tags makes it a 400. Nothing is changed in either case.

    Args:
        body (MeasurementTagsBulk): Tags to add to and remove from many measurements at once, in
            one transaction (all or nothing). Tags are trimmed and matched ignoring case; an added tag
            takes the spelling its project already uses.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | MeasurementTagsBulkResult]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: MeasurementTagsBulk,
) -> Error | MeasurementTagsBulkResult | None:
    """Add and remove tags on up to 1000 measurements at once, all or nothing.

     Unlike `PATCH /cell_measurements/{id}` (whose `tags` replaces the whole set), this leaves every
    other tag in place. Only measurements whose tag set changes get a new `updated_at`. Any id that is
    not a measurement visible to the caller makes the whole request a 404 naming the ids; a measurement
    that would carry more than 50 tags makes it a 400. Nothing is changed in either case.

    Args:
        body (MeasurementTagsBulk): Tags to add to and remove from many measurements at once, in
            one transaction (all or nothing). Tags are trimmed and matched ignoring case; an added tag
            takes the spelling its project already uses.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | MeasurementTagsBulkResult
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
