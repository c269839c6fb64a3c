"""orderly_channel against a real in-process grpcio server on 127.0.0.1:0 that echoes what each call carried."""

from __future__ import annotations

import json
import unittest
from concurrent import futures
from typing import Any, Dict, Iterator, Optional

import grpc

from orderly_client import DEFAULT_TIMEOUT_SECONDS, orderly_channel


def _seen(context: grpc.ServicerContext) -> bytes:
    """The call's authorization headers and remaining time (None without a deadline), as JSON."""
    metadata = context.invocation_metadata()
    remaining = context.time_remaining()
    return json.dumps(
        {
            "authorization": [value for key, value in metadata if key == "authorization"],
            "remaining": remaining if remaining is not None and remaining < 10**6 else None,
        }
    ).encode()


class _Echo(grpc.GenericRpcHandler):
    """/echo/Unary answers with what it saw; /echo/Stream sends it as one message."""

    def service(self, details: grpc.HandlerCallDetails) -> Optional[grpc.RpcMethodHandler]:
        if details.method == "/echo/Unary":
            return grpc.unary_unary_rpc_method_handler(lambda request, context: _seen(context))
        if details.method == "/echo/Stream":
            return grpc.unary_stream_rpc_method_handler(lambda request, context: iter([_seen(context)]))
        return None


class OrderlyChannelTest(unittest.TestCase):
    server: grpc.Server
    address: str

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=[_Echo()])
        cls.address = f"127.0.0.1:{cls.server.add_insecure_port('127.0.0.1:0')}"
        cls.server.start()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop(grace=None)

    def call(self, method: str, metadata: Any = None, **channel_options: Any) -> Dict[str, Any]:
        with orderly_channel(self.address, **channel_options) as channel:
            if method == "Unary":
                return json.loads(channel.unary_unary("/echo/Unary")(b"", metadata=metadata))  # type: ignore[no-any-return]
            stream: Iterator[bytes] = channel.unary_stream("/echo/Stream")(b"", metadata=metadata)
            return json.loads(next(stream))  # type: ignore[no-any-return]

    def test_every_call_carries_the_bearer_token(self) -> None:
        self.assertEqual(self.call("Unary", token="t1")["authorization"], ["Bearer t1"])
        self.assertEqual(self.call("Stream", token="t1")["authorization"], ["Bearer t1"])

    def test_a_token_function_is_asked_before_every_call(self) -> None:
        tokens = iter(["first", "second"])
        with orderly_channel(self.address, token=lambda: next(tokens)) as channel:
            unary = channel.unary_unary("/echo/Unary")
            seen = [json.loads(unary(b""))["authorization"] for _ in range(2)]
        self.assertEqual(seen, [["Bearer first"], ["Bearer second"]])

    def test_no_token_sends_no_authorization_and_an_explicit_one_is_kept(self) -> None:
        self.assertEqual(self.call("Unary")["authorization"], [])
        self.assertEqual(self.call("Unary", metadata=[("authorization", "Bearer mine")], token="t1")["authorization"], ["Bearer mine"])

    def test_unary_calls_get_the_default_deadline_and_streams_none(self) -> None:
        # gRPC core sends grpc-timeout with few significant digits, rounded up: the server may see a little more.
        remaining = self.call("Unary")["remaining"]
        self.assertTrue(DEFAULT_TIMEOUT_SECONDS - 2 < remaining < DEFAULT_TIMEOUT_SECONDS + 0.5, remaining)
        self.assertLess(self.call("Unary", default_timeout=3.0)["remaining"], 3.5)
        self.assertIsNone(self.call("Stream")["remaining"])
        self.assertIsNone(self.call("Unary", default_timeout=None)["remaining"])
