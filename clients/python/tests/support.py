"""What the interop cases share: the addresses and tokens the harness passes in, stubs, and request builders.

test/python-interop.e2e.test.ts starts UserService and OrderService as processes and sets these variables; a person can
set them by hand against `npm start` (tokens from `npm run --silent token -- --sub ... --roles ...`).
"""

from __future__ import annotations

import os
import unittest
import uuid
from typing import Any, Callable, Optional

import grpc

from orderly_client import (
    OrderlyError,
    OrderServiceStub,
    TokenSource,
    UserServiceStub,
    order_pb2,
    order_service_pb2,
    orderly_channel,
    orderly_errors,
    user_pb2,
    user_service_pb2,
)


def env(name: str) -> str:
    """One ORDERLY_* variable; a missing one fails the case with a message naming it."""
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run this suite through test/python-interop.e2e.test.ts")
    return value


class InteropCase(unittest.TestCase):
    """A case against the running services; channels it opens are closed after it."""

    def channel(self, address: str, token: Optional[TokenSource], **options: Any) -> grpc.Channel:
        """A channel with orderly_channel's defaults, closed when the case ends."""
        channel = orderly_channel(address, token=token, **options)
        self.addCleanup(channel.close)
        return channel

    def users(self, token: Optional[str] = None) -> UserServiceStub:
        """A UserService stub that sends `token` (None: no token at all)."""
        return UserServiceStub(self.channel(env("ORDERLY_USERS_ADDRESS"), token))

    def orders(self, token: Optional[str] = None, address_variable: str = "ORDERLY_ORDERS_ADDRESS") -> OrderServiceStub:
        """An OrderService stub that sends `token`, at the address in `address_variable`."""
        return OrderServiceStub(self.channel(env(address_variable), token))

    def admin_users(self) -> UserServiceStub:
        """UserService as the admin."""
        return self.users(env("ORDERLY_ADMIN_TOKEN"))

    def admin_orders(self) -> OrderServiceStub:
        """OrderService as the admin."""
        return self.orders(env("ORDERLY_ADMIN_TOKEN"))

    def failure(self, call: Callable[[], Any]) -> OrderlyError:
        """The OrderlyError that `call` raises (the case fails if it succeeds); streams are read to the end."""
        with self.assertRaises(OrderlyError) as caught:
            with orderly_errors():
                result = call()
                if hasattr(result, "__next__"):
                    list(result)
        return caught.exception

    def assertError(self, error: OrderlyError, code: grpc.StatusCode, reason: str) -> None:
        """`error` has this code and ErrorInfo reason, in domain "orderly"."""
        self.assertEqual((error.code, error.reason, error.domain), (code, reason, "orderly"), str(error))

    def new_user(self, prefix: str = "py") -> user_pb2.User:
        """A user created by the admin, with a unique email."""
        return self.admin_users().CreateUser(user_service_pb2.CreateUserRequest(user=user_pb2.User(email=unique_email(prefix)))).user

    def new_order(self, user_id: str, stub: Optional[OrderServiceStub] = None, **order_fields: Any) -> order_pb2.Order:
        """An order for `user_id` made with a fresh request_id (by the admin unless `stub` is given)."""
        return (stub or self.admin_orders()).CreateOrder(create_order_request(user_id, **order_fields)).order


def unique_email(prefix: str) -> str:
    """An email no other case uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def create_order_request(user_id: str, request_id: Optional[str] = None, **order_fields: Any) -> order_service_pb2.CreateOrderRequest:
    """A valid CreateOrder request (two books in GBP) for `user_id`; order_fields override the order's fields."""
    fields: dict[str, Any] = dict(
        user_id=user_id,
        currency_code="GBP",
        items=[order_pb2.LineItem(sku="BOOK-1", quantity=2, unit_price_minor=1250)],
        shipping_address=address(),
    )
    fields.update(order_fields)
    return order_service_pb2.CreateOrderRequest(request_id=request_id or str(uuid.uuid4()), order=order_pb2.Order(**fields))


def address(city: str = "London") -> order_pb2.ShippingAddress:
    """A valid shipping address."""
    return order_pb2.ShippingAddress(
        recipient="Ada Lovelace", line1="12 St James's Square", city=city, postal_code="SW1Y 4JH", country_code="GB"
    )
