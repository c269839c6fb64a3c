"""orderly_client: Python code generated from Orderly's protos, plus typed errors and a channel helper.

    from orderly_client import UserServiceStub, orderly_channel, orderly_errors, user_pb2, user_service_pb2

    users = UserServiceStub(orderly_channel("127.0.0.1:50051", token=my_token))
    with orderly_errors():  # grpc.RpcError -> OrderlyError (code, reason, decoded details)
        ada = users.CreateUser(user_service_pb2.CreateUserRequest(user=user_pb2.User(email="ada@example.com"))).user
"""

from orderly_client.channel import DEFAULT_TIMEOUT_SECONDS, TokenSource, orderly_channel
from orderly_client.errors import ERROR_DOMAIN, STATUS_DETAILS_KEY, OrderlyError, orderly_errors
from orderly_client.gen.orderly.order.v1 import order_pb2, order_service_pb2
from orderly_client.gen.orderly.order.v1.order_service_pb2_grpc import OrderServiceStub
from orderly_client.gen.orderly.user.v1 import user_pb2, user_service_pb2
from orderly_client.gen.orderly.user.v1.user_service_pb2_grpc import UserServiceStub

__all__ = [
    "UserServiceStub",
    "OrderServiceStub",
    "user_pb2",
    "user_service_pb2",
    "order_pb2",
    "order_service_pb2",
    "orderly_channel",
    "TokenSource",
    "DEFAULT_TIMEOUT_SECONDS",
    "OrderlyError",
    "orderly_errors",
    "ERROR_DOMAIN",
    "STATUS_DETAILS_KEY",
]
