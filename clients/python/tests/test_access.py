"""Cross-cutting behaviour from Python: tokens, roles, deadlines, RetryInfo, and the public health and reflection."""

from __future__ import annotations

import pathlib
import time
from typing import Any, Iterator, Type

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from orderly_client import UserServiceStub, order_service_pb2 as os_, user_pb2, user_service_pb2 as us

from tests.support import InteropCase, create_order_request, env

# The buf image the services serve by reflection; health and reflection messages are read from it into a pool of
# their own, so they never clash with grpcio-health-checking or grpcio-reflection in the default pool.
DESCRIPTOR_SET = pathlib.Path(__file__).resolve().parents[3] / "proto" / "gen" / "orderly.binpb"


def public_message(full_name: str) -> Type[Any]:
    """The message class of `full_name` (e.g. grpc.health.v1.HealthCheckRequest) from DESCRIPTOR_SET."""
    pool = descriptor_pool.DescriptorPool()
    for file in descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTOR_SET.read_bytes()).file:
        pool.Add(file)
    descriptor = pool.FindMessageTypeByName(full_name)
    if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.24
        return message_factory.GetMessageClass(descriptor)  # type: ignore[no-any-return]
    return message_factory.MessageFactory(pool).GetPrototype(descriptor)  # type: ignore[no-any-return]


class AccessTest(InteropCase):
    def test_a_call_without_a_token_is_unauthenticated_token_missing(self) -> None:
        error = self.failure(lambda: self.users(None).GetUser(us.GetUserRequest(id=env("ORDERLY_ALICE_ID"))))
        self.assertError(error, grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MISSING")
        orders = self.failure(lambda: self.orders(None).ListOrders(os_.ListOrdersRequest()))
        self.assertError(orders, grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MISSING")

    def test_a_malformed_or_tampered_token_is_unauthenticated_token_invalid(self) -> None:
        signed, signature = env("ORDERLY_ADMIN_TOKEN").rsplit(".", 1)
        tampered = f"{signed}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"  # the first character is all signature
        for token in ("not-a-jwt", tampered):
            error = self.failure(lambda: self.users(token).ListUsers(us.ListUsersRequest()))
            self.assertError(error, grpc.StatusCode.UNAUTHENTICATED, "TOKEN_INVALID")

    def test_the_token_source_is_asked_before_every_call(self) -> None:
        tokens = iter(["not-a-jwt", env("ORDERLY_ADMIN_TOKEN")])
        users = UserServiceStub(self.channel(env("ORDERLY_USERS_ADDRESS"), lambda: next(tokens)))
        error = self.failure(lambda: users.ListUsers(us.ListUsersRequest(page_size=1)))
        self.assertError(error, grpc.StatusCode.UNAUTHENTICATED, "TOKEN_INVALID")
        self.assertEqual(len(users.ListUsers(us.ListUsersRequest(page_size=1)).users), 1)

    def test_a_role_without_the_permission_is_permission_denied(self) -> None:
        support = self.users(env("ORDERLY_SUPPORT_TOKEN"))
        self.assertTrue(support.GetUser(us.GetUserRequest(id=env("ORDERLY_BOB_ID"))).user.email)
        error = self.failure(lambda: support.CreateUser(us.CreateUserRequest(user=user_pb2.User(email="support@example.com"))))
        self.assertError(error, grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED")
        self.assertEqual(error.metadata["permission"], "users:create")

    def test_a_tiny_timeout_is_deadline_exceeded(self) -> None:
        error = self.failure(lambda: self.admin_users().GetUser(us.GetUserRequest(id=env("ORDERLY_ALICE_ID")), timeout=0.000001))
        self.assertEqual(error.code, grpc.StatusCode.DEADLINE_EXCEEDED)

    def test_a_quiet_watch_ends_with_deadline_exceeded_at_its_timeout(self) -> None:
        started = time.monotonic()
        watch = lambda: self.admin_orders().WatchOrders(os_.WatchOrdersRequest(user_id="usr_nobody"), timeout=0.5)  # noqa: E731
        error = self.failure(watch)
        self.assertEqual(error.code, grpc.StatusCode.DEADLINE_EXCEEDED)
        self.assertLess(time.monotonic() - started, 5)

    def test_createorder_without_userservice_is_unavailable_with_retry_info_and_writes_nothing(self) -> None:
        orphan = self.orders(env("ORDERLY_ADMIN_TOKEN"), address_variable="ORDERLY_ORDERS_WITHOUT_USERS_ADDRESS")
        error = self.failure(lambda: orphan.CreateOrder(create_order_request(env("ORDERLY_ALICE_ID")), timeout=5))
        self.assertError(error, grpc.StatusCode.UNAVAILABLE, "USER_SERVICE_UNAVAILABLE")
        self.assertEqual(error.retry_delay, 1.0)
        self.assertEqual(list(orphan.ListOrders(os_.ListOrdersRequest()).orders), [])

    def test_health_needs_no_token(self) -> None:
        request_type = public_message("grpc.health.v1.HealthCheckRequest")
        response_type = public_message("grpc.health.v1.HealthCheckResponse")
        for variable in ("ORDERLY_USERS_ADDRESS", "ORDERLY_ORDERS_ADDRESS"):
            check = self.channel(env(variable), None).unary_unary(
                "/grpc.health.v1.Health/Check", request_serializer=request_type.SerializeToString, response_deserializer=response_type.FromString
            )
            status = check(request_type(), timeout=5).status
            self.assertEqual(response_type.ServingStatus.Name(status), "SERVING", variable)

    def test_reflection_needs_no_token_and_lists_every_service(self) -> None:
        request_type = public_message("grpc.reflection.v1.ServerReflectionRequest")
        response_type = public_message("grpc.reflection.v1.ServerReflectionResponse")
        expected = {"ORDERLY_USERS_ADDRESS": "orderly.user.v1.UserService", "ORDERLY_ORDERS_ADDRESS": "orderly.order.v1.OrderService"}
        for variable, service in expected.items():
            reflect = self.channel(env(variable), None).stream_stream(
                "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                request_serializer=request_type.SerializeToString,
                response_deserializer=response_type.FromString,
            )
            requests: Iterator[Any] = iter([request_type(list_services=""), request_type(file_containing_symbol=service)])
            listing, file = list(reflect(requests, timeout=5))
            names = {s.name for s in listing.list_services_response.service}
            self.assertTrue({service, "grpc.health.v1.Health"} <= names, names)
            files = [descriptor_pb2.FileDescriptorProto.FromString(b) for b in file.file_descriptor_response.file_descriptor_proto]
            declared = {f"{f.package}.{s.name}" for f in files for s in f.service}
            self.assertIn(service, declared)
