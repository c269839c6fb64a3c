"""OrderlyError: a failed Orderly call with its google.rpc.Status details decoded (AIP-193).

Orderly sends a serialized google.rpc.Status in the `grpc-status-details-bin` trailer of every error: always an
ErrorInfo (reason, domain "orderly", metadata), plus BadRequest, PreconditionFailure, ResourceInfo, RetryInfo or
QuotaFailure where they apply. grpcio reads that trailer only through the separate grpcio-status package (which
Debian does not ship), so this module decodes it itself with the generated google.rpc messages.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Dict, Iterable, Iterator, Optional, Tuple, Type, TypeVar, Union

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError, Message

if TYPE_CHECKING:
    from orderly_client.gen.google.rpc import error_details_pb2, status_pb2
else:
    try:
        # googleapis-common-protos (which grpcio-status pulls in) registers google/rpc/*.proto in the default
        # descriptor pool; registering our copy beside it fails at least under protobuf's pure-Python backend.
        from google.rpc import error_details_pb2, status_pb2
    except ImportError:
        from orderly_client.gen.google.rpc import error_details_pb2, status_pb2

__all__ = ["OrderlyError", "orderly_errors", "STATUS_DETAILS_KEY", "ERROR_DOMAIN"]

STATUS_DETAILS_KEY = "grpc-status-details-bin"
"""The trailing-metadata key that carries a serialized google.rpc.Status."""

ERROR_DOMAIN = "orderly"
"""The domain of every ErrorInfo Orderly sends."""

_DETAIL_TYPES: Tuple[Type[Message], ...] = (
    error_details_pb2.ErrorInfo,
    error_details_pb2.BadRequest,
    error_details_pb2.PreconditionFailure,
    error_details_pb2.ResourceInfo,
    error_details_pb2.RetryInfo,
    error_details_pb2.QuotaFailure,
    error_details_pb2.RequestInfo,
)
_DETAIL_TYPE_BY_NAME: Dict[str, Type[Message]] = {t.DESCRIPTOR.full_name: t for t in _DETAIL_TYPES}

_M = TypeVar("_M", bound=Message)


class OrderlyError(Exception):
    """A failed call: the gRPC code and message, ErrorInfo's reason, domain and metadata, and the decoded details."""

    code: grpc.StatusCode
    message: str
    reason: str
    domain: str
    metadata: Dict[str, str]
    details: Tuple[Message, ...]

    def __init__(self, code: grpc.StatusCode, message: str, details: Tuple[Message, ...] = ()) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.details = details
        info = self._find(error_details_pb2.ErrorInfo)
        self.reason = info.reason if info else ""
        self.domain = info.domain if info else ""
        self.metadata = dict(info.metadata) if info else {}

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> "OrderlyError":
        """Reads code, message and `grpc-status-details-bin` from a failed call (unary or streaming)."""
        code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
        text = (error.details() if hasattr(error, "details") else None) or ""
        trailers = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
        return cls(code, text, _decode_details(trailers or ()))

    @property
    def bad_request(self) -> Optional[error_details_pb2.BadRequest]:
        """The invalid fields (one violation per broken rule), if the server sent them."""
        return self._find(error_details_pb2.BadRequest)

    @property
    def precondition_failure(self) -> Optional[error_details_pb2.PreconditionFailure]:
        """Why the resource's state forbids the call (e.g. type "STATE", subject the order's state)."""
        return self._find(error_details_pb2.PreconditionFailure)

    @property
    def resource_info(self) -> Optional[error_details_pb2.ResourceInfo]:
        """The resource that was not found."""
        return self._find(error_details_pb2.ResourceInfo)

    @property
    def retry_info(self) -> Optional[error_details_pb2.RetryInfo]:
        """Present when the call may be retried, after retry_info.retry_delay."""
        return self._find(error_details_pb2.RetryInfo)

    @property
    def quota_failure(self) -> Optional[error_details_pb2.QuotaFailure]:
        """Which quota the call exceeded."""
        return self._find(error_details_pb2.QuotaFailure)

    @property
    def retry_delay(self) -> Optional[float]:
        """RetryInfo's delay in seconds, or None when the server did not say the call may be retried."""
        info = self.retry_info
        return info.retry_delay.ToTimedelta().total_seconds() if info else None

    def _find(self, kind: Type[_M]) -> Optional[_M]:
        for detail in self.details:
            if isinstance(detail, kind):
                return detail
        return None


@contextlib.contextmanager
def orderly_errors() -> Iterator[None]:
    """Re-raises every grpc.RpcError of the block (calls and stream reads) as an OrderlyError, chained to it."""
    try:
        yield
    except grpc.RpcError as error:
        raise OrderlyError.from_rpc_error(error) from error


def _decode_details(trailers: Iterable[Tuple[str, Union[str, bytes]]]) -> Tuple[Message, ...]:
    """The known details of the google.rpc.Status in `trailers`; a detail that does not decode is skipped."""
    raw = next((value for key, value in trailers if key == STATUS_DETAILS_KEY), None)
    if not isinstance(raw, bytes):
        return ()
    try:
        status = status_pb2.Status.FromString(raw)
    except DecodeError:
        return ()
    return tuple(detail for detail in map(_unpack, status.details) if detail is not None)


def _unpack(packed: any_pb2.Any) -> Optional[Message]:
    kind = _DETAIL_TYPE_BY_NAME.get(packed.TypeName())
    if kind is None:
        return None
    try:
        return kind.FromString(packed.value)
    except DecodeError:
        return None
