from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
ORDER_EVENT_TYPE_CANCELLED: OrderEventType
ORDER_EVENT_TYPE_CONFIRMED: OrderEventType
ORDER_EVENT_TYPE_CREATED: OrderEventType
ORDER_EVENT_TYPE_DELIVERED: OrderEventType
ORDER_EVENT_TYPE_SHIPPED: OrderEventType
ORDER_EVENT_TYPE_UNSPECIFIED: OrderEventType
ORDER_EVENT_TYPE_UPDATED: OrderEventType
ORDER_STATE_CANCELLED: OrderState
ORDER_STATE_CONFIRMED: OrderState
ORDER_STATE_DELIVERED: OrderState
ORDER_STATE_PENDING: OrderState
ORDER_STATE_SHIPPED: OrderState
ORDER_STATE_UNSPECIFIED: OrderState

class LineItem(_message.Message):
    __slots__ = ["quantity", "sku", "unit_price_minor"]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_MINOR_FIELD_NUMBER: _ClassVar[int]
    quantity: int
    sku: str
    unit_price_minor: int
    def __init__(self, sku: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_price_minor: _Optional[int] = ...) -> None: ...

class Order(_message.Message):
    __slots__ = ["create_time", "currency_code", "etag", "id", "items", "shipping_address", "state", "total_minor", "update_time", "user_id"]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_CODE_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MINOR_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    currency_code: str
    etag: str
    id: str
    items: _containers.RepeatedCompositeFieldContainer[LineItem]
    shipping_address: ShippingAddress
    state: OrderState
    total_minor: int
    update_time: _timestamp_pb2.Timestamp
    user_id: str
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[LineItem, _Mapping]]] = ..., total_minor: _Optional[int] = ..., currency_code: _Optional[str] = ..., shipping_address: _Optional[_Union[ShippingAddress, _Mapping]] = ..., state: _Optional[_Union[OrderState, str]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class OrderEvent(_message.Message):
    __slots__ = ["actor", "from_state", "order_id", "reason", "revision", "time", "to_state", "type", "user_id"]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    FROM_STATE_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    TO_STATE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    actor: str
    from_state: OrderState
    order_id: str
    reason: str
    revision: int
    time: _timestamp_pb2.Timestamp
    to_state: OrderState
    type: OrderEventType
    user_id: str
    def __init__(self, revision: _Optional[int] = ..., order_id: _Optional[str] = ..., user_id: _Optional[str] = ..., type: _Optional[_Union[OrderEventType, str]] = ..., from_state: _Optional[_Union[OrderState, str]] = ..., to_state: _Optional[_Union[OrderState, str]] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ShippingAddress(_message.Message):
    __slots__ = ["city", "country_code", "line1", "line2", "postal_code", "recipient", "region"]
    CITY_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_CODE_FIELD_NUMBER: _ClassVar[int]
    LINE1_FIELD_NUMBER: _ClassVar[int]
    LINE2_FIELD_NUMBER: _ClassVar[int]
    POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    city: str
    country_code: str
    line1: str
    line2: str
    postal_code: str
    recipient: str
    region: str
    def __init__(self, recipient: _Optional[str] = ..., line1: _Optional[str] = ..., line2: _Optional[str] = ..., city: _Optional[str] = ..., region: _Optional[str] = ..., postal_code: _Optional[str] = ..., country_code: _Optional[str] = ...) -> None: ...

class OrderState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class OrderEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
