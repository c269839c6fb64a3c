"""Unit tests of orderly_client.errors: google.rpc.Status in trailing metadata -> OrderlyError (no server needed)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tempfile
import unittest
from typing import Sequence, Tuple, Union

import grpc
from google.protobuf import any_pb2, duration_pb2, wrappers_pb2

from orderly_client import STATUS_DETAILS_KEY, OrderlyError, orderly_errors
from orderly_client.errors import error_details_pb2 as details, status_pb2


class FailedCall(grpc.RpcError):
    """What grpcio raises for a failed call: an RpcError that is also a grpc.Call."""

    def __init__(self, code: grpc.StatusCode, message: str, trailers: Sequence[Tuple[str, Union[str, bytes]]] = ()) -> None:
        super().__init__()
        self._code, self._message, self._trailers = code, message, tuple(trailers)

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._message

    def trailing_metadata(self) -> Tuple[Tuple[str, Union[str, bytes]], ...]:
        return self._trailers


def packed(*messages: object) -> bytes:
    """A serialized google.rpc.Status carrying `messages` as details."""
    status = status_pb2.Status(code=9, message="from the status")
    for message in messages:
        status.details.add().Pack(message)
    return status.SerializeToString()


class OrderlyErrorTest(unittest.TestCase):
    def test_decodes_error_info_and_every_detail_kind(self) -> None:
        trailers = [
            ("x-request-id", "r1"),
            (
                STATUS_DETAILS_KEY,
                packed(
                    details.ErrorInfo(reason="INVALID_STATE_TRANSITION", domain="orderly", metadata={"state": "PENDING"}),
                    details.BadRequest(field_violations=[details.BadRequest.FieldViolation(field="order.items", description="empty")]),
                    details.PreconditionFailure(violations=[details.PreconditionFailure.Violation(type="STATE", subject="ord_1")]),
                    details.ResourceInfo(resource_type="orderly.order.v1.Order", resource_name="ord_1"),
                    details.RetryInfo(retry_delay=duration_pb2.Duration(seconds=1, nanos=500_000_000)),
                    details.QuotaFailure(violations=[details.QuotaFailure.Violation(subject="user:u1", description="too many")]),
                    wrappers_pb2.StringValue(value="a detail of a type we do not know"),
                ),
            ),
        ]
        error = OrderlyError.from_rpc_error(FailedCall(grpc.StatusCode.FAILED_PRECONDITION, "cannot ship", trailers))
        self.assertEqual((error.code, error.message), (grpc.StatusCode.FAILED_PRECONDITION, "cannot ship"))
        self.assertEqual((error.reason, error.domain, error.metadata), ("INVALID_STATE_TRANSITION", "orderly", {"state": "PENDING"}))
        assert error.bad_request and error.precondition_failure and error.resource_info and error.quota_failure
        self.assertEqual(error.bad_request.field_violations[0].field, "order.items")
        self.assertEqual(error.precondition_failure.violations[0].subject, "ord_1")
        self.assertEqual(error.resource_info.resource_name, "ord_1")
        self.assertEqual(error.quota_failure.violations[0].subject, "user:u1")
        self.assertEqual(error.retry_delay, 1.5)
        self.assertEqual(len(error.details), 6)
        self.assertEqual(str(error), "FAILED_PRECONDITION: cannot ship")

    def test_a_call_without_status_details_keeps_its_code_and_message(self) -> None:
        error = OrderlyError.from_rpc_error(FailedCall(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"))
        self.assertEqual((error.code, error.message, error.reason, error.details), (grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded", "", ()))
        self.assertIsNone(error.retry_delay)
        self.assertIsNone(error.bad_request)

    def test_undecodable_status_bytes_are_ignored_not_raised(self) -> None:
        error = OrderlyError.from_rpc_error(FailedCall(grpc.StatusCode.INTERNAL, "boom", [(STATUS_DETAILS_KEY, b"\xff\xff\xff")]))
        self.assertEqual((error.code, error.details), (grpc.StatusCode.INTERNAL, ()))

    def test_one_undecodable_detail_does_not_hide_the_others(self) -> None:
        broken = any_pb2.Any(type_url="type.googleapis.com/google.rpc.BadRequest", value=b"\x0a\xff")
        status = status_pb2.Status(code=3, details=[broken])
        status.details.add().Pack(details.ErrorInfo(reason="INVALID_ARGUMENT", domain="orderly"))
        error = OrderlyError.from_rpc_error(FailedCall(grpc.StatusCode.INVALID_ARGUMENT, "bad", [(STATUS_DETAILS_KEY, status.SerializeToString())]))
        self.assertEqual((error.reason, error.bad_request), ("INVALID_ARGUMENT", None))

    def test_an_error_without_the_call_interface_still_converts(self) -> None:
        error = OrderlyError.from_rpc_error(grpc.RpcError("transport failure"))
        self.assertEqual((error.code, error.message), (grpc.StatusCode.UNKNOWN, ""))

    def test_orderly_errors_re_raises_rpc_errors_chained_and_leaves_others_alone(self) -> None:
        failed = FailedCall(grpc.StatusCode.NOT_FOUND, "no such user", [(STATUS_DETAILS_KEY, packed(details.ErrorInfo(reason="USER_NOT_FOUND", domain="orderly")))])
        with self.assertRaises(OrderlyError) as caught:
            with orderly_errors():
                raise failed
        self.assertIs(caught.exception.__cause__, failed)
        self.assertEqual(caught.exception.reason, "USER_NOT_FOUND")
        with self.assertRaises(KeyError):
            with orderly_errors():
                raise KeyError("not a call failure")


class GoogleapisCommonProtosTest(unittest.TestCase):
    def test_google_rpc_of_googleapis_common_protos_is_used_when_installed(self) -> None:
        # A stand-in for googleapis-common-protos: our generated google.rpc modules as top-level google.rpc, which
        # joins protobuf's `google` namespace exactly as the real distribution does.
        package_root = pathlib.Path(__file__).resolve().parents[1]
        generated = package_root / "orderly_client" / "gen" / "google" / "rpc"
        script = (
            "import sys, grpc, orderly_client.errors as e\n"
            "error = e.OrderlyError(grpc.StatusCode.NOT_FOUND, 'x', (e.error_details_pb2.ErrorInfo(reason='R'),))\n"
            "print(e.status_pb2.__name__, 'orderly_client.gen.google.rpc.status_pb2' in sys.modules, error.reason)"
        )
        with tempfile.TemporaryDirectory() as fake:
            rpc = pathlib.Path(fake, "google", "rpc")
            rpc.mkdir(parents=True)
            for module in ("status_pb2.py", "error_details_pb2.py"):
                (rpc / module).write_text((generated / module).read_text().replace("orderly_client.gen.google.rpc", "google.rpc"))
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([fake, str(package_root)])}
            run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(run.stdout.split(), ["google.rpc.status_pb2", "False", "R"])
