"""Every unary OrderService method from Python, against the running services (OrderService asks UserService)."""

from __future__ import annotations

from typing import Iterable, List

import grpc
from google.protobuf import field_mask_pb2

from orderly_client import OrderServiceStub, order_pb2, order_service_pb2 as os_

from tests.support import InteropCase, address, create_order_request, env

PENDING, CONFIRMED, SHIPPED, DELIVERED, CANCELLED = (
    order_pb2.ORDER_STATE_PENDING,
    order_pb2.ORDER_STATE_CONFIRMED,
    order_pb2.ORDER_STATE_SHIPPED,
    order_pb2.ORDER_STATE_DELIVERED,
    order_pb2.ORDER_STATE_CANCELLED,
)


def event_types(events: Iterable[order_pb2.OrderEvent]) -> List[str]:
    """The names of the events' types, e.g. ["ORDER_EVENT_TYPE_CREATED", ...]."""
    return [order_pb2.OrderEventType.Name(e.type) for e in events]


def deliver(orders: OrderServiceStub, order_id: str) -> order_pb2.Order:
    """Confirms, ships and delivers a pending order."""
    orders.ConfirmOrder(os_.ConfirmOrderRequest(id=order_id))
    orders.ShipOrder(os_.ShipOrderRequest(id=order_id))
    return orders.DeliverOrder(os_.DeliverOrderRequest(id=order_id)).order


class OrderServiceTest(InteropCase):
    def test_create_order_computes_the_total_in_minor_units_and_starts_pending(self) -> None:
        user = self.new_user("order")
        items = [order_pb2.LineItem(sku="A", quantity=3, unit_price_minor=199), order_pb2.LineItem(sku="B", quantity=1, unit_price_minor=1)]
        order = self.new_order(user.id, items=items, currency_code="EUR")
        self.assertTrue(order.id.startswith("ord_"), order.id)
        self.assertEqual((order.total_minor, order.currency_code, order.state, order.user_id), (598, "EUR", PENDING, user.id))

    def test_create_order_twice_with_one_request_id_returns_the_first_order(self) -> None:
        user = self.new_user("idem")
        orders = self.admin_orders()
        request = create_order_request(user.id)
        first = orders.CreateOrder(request).order
        again = orders.CreateOrder(request).order
        self.assertEqual((again.id, again.etag), (first.id, first.etag))
        listed = orders.ListOrders(os_.ListOrdersRequest(filter=os_.OrderFilter(user_id=user.id))).orders
        self.assertEqual([o.id for o in listed], [first.id])

    def test_create_order_reusing_a_request_id_for_other_content_is_request_id_reused(self) -> None:
        user = self.new_user("reuse")
        orders = self.admin_orders()
        request = create_order_request(user.id)
        first = orders.CreateOrder(request).order
        request.order.items[0].quantity = 3
        error = self.failure(lambda: orders.CreateOrder(request))
        self.assertError(error, grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_REUSED")
        self.assertEqual(error.metadata["order_id"], first.id)

    def test_create_order_with_bad_fields_lists_every_violation_in_bad_request(self) -> None:
        user = self.new_user("badorder")
        request = create_order_request(
            user.id, items=[order_pb2.LineItem(sku="", quantity=0, unit_price_minor=-1)], currency_code="XXX", shipping_address=None
        )
        error = self.failure(lambda: self.admin_orders().CreateOrder(request))
        self.assertError(error, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")
        assert error.bad_request is not None
        self.assertEqual(
            sorted(v.field for v in error.bad_request.field_violations),
            ["order.currency_code", "order.items[0].quantity", "order.items[0].sku", "order.items[0].unit_price_minor", "order.shipping_address"],
        )

    def test_create_order_for_a_user_userservice_does_not_know_is_user_not_found(self) -> None:
        error = self.failure(lambda: self.new_order("usr_01J00000000000000000000000"))
        self.assertError(error, grpc.StatusCode.NOT_FOUND, "USER_NOT_FOUND")
        assert error.resource_info is not None
        self.assertEqual(error.resource_info.resource_type, "orderly.user.v1.User")

    def test_get_order_returns_its_audit_trail_when_asked(self) -> None:
        orders = self.admin_orders()
        order = self.new_order(self.new_user("get").id)
        orders.ConfirmOrder(os_.ConfirmOrderRequest(id=order.id))
        plain = orders.GetOrder(os_.GetOrderRequest(id=order.id))
        self.assertEqual((plain.order.state, len(plain.events)), (CONFIRMED, 0))
        events = orders.GetOrder(os_.GetOrderRequest(id=order.id, include_events=True)).events
        self.assertEqual(event_types(events), ["ORDER_EVENT_TYPE_CREATED", "ORDER_EVENT_TYPE_CONFIRMED"])
        self.assertLess(events[0].revision, events[1].revision)
        self.assertEqual((events[1].from_state, events[1].to_state, events[1].order_id), (PENDING, CONFIRMED, order.id))

    def test_list_orders_pages_newest_first_and_filters_by_user_and_state(self) -> None:
        orders = self.admin_orders()
        user = self.new_user("list")
        created = [self.new_order(user.id).id for _ in range(3)]
        orders.ConfirmOrder(os_.ConfirmOrderRequest(id=created[1]))
        pages, token = [], ""
        while True:
            page = orders.ListOrders(os_.ListOrdersRequest(page_size=2, page_token=token, filter=os_.OrderFilter(user_id=user.id)))
            pages.append([o.id for o in page.orders])
            token = page.next_page_token
            if not token:
                break
        self.assertEqual(pages, [[created[2], created[1]], [created[0]]])
        confirmed = orders.ListOrders(os_.ListOrdersRequest(filter=os_.OrderFilter(user_id=user.id, state=CONFIRMED))).orders
        self.assertEqual([o.id for o in confirmed], [created[1]])

    def test_update_order_changes_the_masked_fields_and_refuses_a_stale_etag(self) -> None:
        orders = self.admin_orders()
        order = self.new_order(self.new_user("update").id)
        change = order_pb2.Order(id=order.id, shipping_address=address(city="Bath"), items=[order_pb2.LineItem(sku="IGNORED", quantity=1)])
        mask = field_mask_pb2.FieldMask(paths=["shipping_address"])
        updated = orders.UpdateOrder(os_.UpdateOrderRequest(order=change, update_mask=mask, etag=order.etag)).order
        self.assertEqual((updated.shipping_address.city, list(updated.items)), ("Bath", list(order.items)))
        error = self.failure(lambda: orders.UpdateOrder(os_.UpdateOrderRequest(order=change, update_mask=mask, etag=order.etag)))
        self.assertError(error, grpc.StatusCode.ABORTED, "ETAG_MISMATCH")

    def test_update_order_after_confirmation_is_order_not_pending(self) -> None:
        orders = self.admin_orders()
        order = self.new_order(self.new_user("notpending").id)
        orders.ConfirmOrder(os_.ConfirmOrderRequest(id=order.id))
        change = os_.UpdateOrderRequest(order=order_pb2.Order(id=order.id, shipping_address=address()), update_mask=field_mask_pb2.FieldMask(paths=["shipping_address"]))
        error = self.failure(lambda: orders.UpdateOrder(change))
        self.assertError(error, grpc.StatusCode.FAILED_PRECONDITION, "ORDER_NOT_PENDING")

    def test_confirm_ship_deliver_take_an_order_through_its_life(self) -> None:
        support = self.orders(env("ORDERLY_SUPPORT_TOKEN"))
        order = self.new_order(self.new_user("life").id)
        confirmed = support.ConfirmOrder(os_.ConfirmOrderRequest(id=order.id, etag=order.etag)).order
        shipped = support.ShipOrder(os_.ShipOrderRequest(id=order.id, etag=confirmed.etag)).order
        delivered = support.DeliverOrder(os_.DeliverOrderRequest(id=order.id)).order
        self.assertEqual([confirmed.state, shipped.state, delivered.state], [CONFIRMED, SHIPPED, DELIVERED])

    def test_a_forbidden_transition_is_failed_precondition_naming_the_state(self) -> None:
        orders = self.admin_orders()
        order = self.new_order(self.new_user("forbidden").id)
        error = self.failure(lambda: orders.ShipOrder(os_.ShipOrderRequest(id=order.id)))
        self.assertError(error, grpc.StatusCode.FAILED_PRECONDITION, "INVALID_STATE_TRANSITION")
        assert error.precondition_failure is not None
        [violation] = error.precondition_failure.violations
        self.assertEqual((violation.type, violation.subject), ("STATE", order.id))
        self.assertIn("PENDING", violation.description)
        self.assertEqual(error.metadata["state"], "PENDING")
        deliver(orders, order.id)
        cancel = self.failure(lambda: orders.CancelOrder(os_.CancelOrderRequest(id=order.id)))
        self.assertError(cancel, grpc.StatusCode.FAILED_PRECONDITION, "INVALID_STATE_TRANSITION")
        self.assertEqual(cancel.metadata["state"], "DELIVERED")

    def test_cancel_order_by_its_owner_twice_succeeds_and_is_audited_once(self) -> None:
        alice = self.orders(env("ORDERLY_ALICE_TOKEN"))
        order = self.new_order(env("ORDERLY_ALICE_ID"), stub=alice)
        first = alice.CancelOrder(os_.CancelOrderRequest(id=order.id, reason="changed my mind")).order
        second = alice.CancelOrder(os_.CancelOrderRequest(id=order.id, reason="again")).order
        self.assertEqual((first.state, second.state, second.etag), (CANCELLED, CANCELLED, first.etag))
        events = alice.GetOrder(os_.GetOrderRequest(id=order.id, include_events=True)).events
        self.assertEqual(event_types(events), ["ORDER_EVENT_TYPE_CREATED", "ORDER_EVENT_TYPE_CANCELLED"])
        self.assertEqual((events[1].reason, events[1].actor), ("changed my mind", env("ORDERLY_ALICE_ID")))

    def test_list_order_events_pages_the_audit_trail_oldest_first(self) -> None:
        orders = self.admin_orders()
        order = self.new_order(self.new_user("events").id)
        deliver(orders, order.id)
        first = orders.ListOrderEvents(os_.ListOrderEventsRequest(order_id=order.id, page_size=3))
        rest = orders.ListOrderEvents(os_.ListOrderEventsRequest(order_id=order.id, page_size=3, page_token=first.next_page_token))
        self.assertEqual((len(first.events), len(rest.events), rest.next_page_token), (3, 1, ""))
        events = list(first.events) + list(rest.events)
        self.assertEqual(
            event_types(events),
            ["ORDER_EVENT_TYPE_CREATED", "ORDER_EVENT_TYPE_CONFIRMED", "ORDER_EVENT_TYPE_SHIPPED", "ORDER_EVENT_TYPE_DELIVERED"],
        )
        revisions = [e.revision for e in events]
        self.assertEqual(revisions, sorted(set(revisions)))

    def test_a_user_cannot_see_or_touch_another_users_order(self) -> None:
        bobs = self.new_order(env("ORDERLY_BOB_ID"))
        alice = self.orders(env("ORDERLY_ALICE_TOKEN"))
        error = self.failure(lambda: alice.GetOrder(os_.GetOrderRequest(id=bobs.id)))
        self.assertError(error, grpc.StatusCode.NOT_FOUND, "ORDER_NOT_FOUND")
        assert error.resource_info is not None
        self.assertEqual((error.resource_info.resource_type, error.resource_info.resource_name), ("orderly.order.v1.Order", bobs.id))
        cancel = self.failure(lambda: alice.CancelOrder(os_.CancelOrderRequest(id=bobs.id)))
        self.assertError(cancel, grpc.StatusCode.NOT_FOUND, "ORDER_NOT_FOUND")
        listed = alice.ListOrders(os_.ListOrdersRequest(filter=os_.OrderFilter(user_id=env("ORDERLY_BOB_ID")))).orders
        self.assertEqual(list(listed), [])
        other = self.failure(lambda: self.new_order(env("ORDERLY_BOB_ID"), stub=alice))
        self.assertEqual(other.code, grpc.StatusCode.PERMISSION_DENIED)

