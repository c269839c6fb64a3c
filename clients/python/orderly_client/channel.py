"""orderly_channel: a grpcio channel that sends a bearer token and a default deadline with every call.

grpcio attaches call credentials only to TLS (or local) channels, so the token travels through a client interceptor
instead; that works on the plaintext loopback channels of development and tests as well as on TLS channels.
"""

from __future__ import annotations

import collections
from typing import Any, Callable, Iterator, Optional, Sequence, Tuple, Union

import grpc

__all__ = ["orderly_channel", "TokenSource", "DEFAULT_TIMEOUT_SECONDS"]

TokenSource = Union[str, Callable[[], str]]
"""A token, or a function asked for one before every call (so a refreshed token is picked up)."""

DEFAULT_TIMEOUT_SECONDS = 10.0
"""The deadline of a unary call that sets no timeout of its own (the server's own default is also 10 s)."""


def orderly_channel(
    target: str,
    *,
    token: Optional[TokenSource] = None,
    default_timeout: Optional[float] = DEFAULT_TIMEOUT_SECONDS,
    credentials: Optional[grpc.ChannelCredentials] = None,
    options: Sequence[Tuple[str, Any]] = (),
) -> grpc.Channel:
    """A channel to `target` (plaintext unless `credentials` are given) for UserServiceStub or OrderServiceStub.

    Every call carries `authorization: Bearer <token>` when a token is given. Unary calls without their own `timeout`
    get `default_timeout`; streams (StreamUsers, WatchOrders) get no default, as they may rightly last long.
    """
    channel = (
        grpc.secure_channel(target, credentials, options)
        if credentials is not None
        else grpc.insecure_channel(target, options)
    )
    return grpc.intercept_channel(channel, _CallDefaults(token, default_timeout))


class _CallDetails(
    collections.namedtuple(
        "_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")
    ),
    grpc.ClientCallDetails,
):
    """grpc.ClientCallDetails is an interface without a constructor; this is its plain implementation."""


class _CallDefaults(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds the bearer token to every call, and the default timeout to unary calls that have none."""

    def __init__(self, token: Optional[TokenSource], default_timeout: Optional[float]) -> None:
        self._token = token
        self._default_timeout = default_timeout

    def _details(self, details: grpc.ClientCallDetails, unary: bool) -> _CallDetails:
        metadata = list(details.metadata or ())
        token = self._token() if callable(self._token) else self._token
        if token and not any(key == "authorization" for key, _ in metadata):
            metadata.append(("authorization", f"Bearer {token}"))
        timeout = details.timeout
        if timeout is None and unary:
            timeout = self._default_timeout
        return _CallDetails(
            details.method,
            timeout,
            metadata,
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any) -> Any:
        return continuation(self._details(details, unary=True), request)

    def intercept_unary_stream(self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any) -> Any:
        return continuation(self._details(details, unary=False), request)

    def intercept_stream_unary(
        self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, requests: Iterator[Any]
    ) -> Any:
        return continuation(self._details(details, unary=False), requests)

    def intercept_stream_stream(
        self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, requests: Iterator[Any]
    ) -> Any:
        return continuation(self._details(details, unary=False), requests)
