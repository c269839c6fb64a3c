"""WatchOrders from Python: replay, SYNC, live events, and resuming from the last revision seen."""

from __future__ import annotations

from typing import Iterator, List

import grpc

from orderly_client import OrderServiceStub, order_pb2, order_service_pb2 as os_

from tests.support import InteropCase, env

WATCH_TIMEOUT_SECONDS = 20.0


def next_event(stream: Iterator[os_.WatchOrdersResponse]) -> order_pb2.OrderEvent:
    """The next event of a watch, skipping heartbeats; fails on a SYNC."""
    for item in stream:
        kind = item.WhichOneof("kind")
        if kind == "event":
            return item.event
        if kind == "sync":
            raise AssertionError(f"expected an event, got SYNC at {item.sync.head_revision}")
    raise AssertionError("the watch ended")


def events_until_sync(stream: Iterator[os_.WatchOrdersResponse]) -> tuple[List[order_pb2.OrderEvent], int]:
    """The replayed events of a watch and the head revision of its SYNC marker."""
    replayed: List[order_pb2.OrderEvent] = []
    for item in stream:
        kind = item.WhichOneof("kind")
        if kind == "sync":
            return replayed, item.sync.head_revision
        if kind == "event":
            replayed.append(item.event)
    raise AssertionError("the watch ended before SYNC")


def audit_trail(orders: OrderServiceStub, *order_ids: str) -> List[order_pb2.OrderEvent]:
    """Every event of the orders, by revision (ListOrderEvents, one page each)."""
    events = [e for id in order_ids for e in orders.ListOrderEvents(os_.ListOrderEventsRequest(order_id=id, page_size=100)).events]
    return sorted(events, key=lambda e: e.revision)


class WatchOrdersTest(InteropCase):
    def test_watch_replays_after_since_revision_then_syncs_then_streams_live_events(self) -> None:
        orders = self.admin_orders()
        user = self.new_user("watch")
        order = self.new_order(user.id)
        created_revision = audit_trail(orders, order.id)[0].revision
        orders.ConfirmOrder(os_.ConfirmOrderRequest(id=order.id))
        stream = orders.WatchOrders(os_.WatchOrdersRequest(user_id=user.id, since_revision=created_revision), timeout=WATCH_TIMEOUT_SECONDS)
        self.addCleanup(stream.cancel)
        replayed, head = events_until_sync(stream)
        self.assertEqual([(e.order_id, e.type) for e in replayed], [(order.id, order_pb2.ORDER_EVENT_TYPE_CONFIRMED)])
        self.assertGreaterEqual(head, replayed[0].revision)
        orders.ShipOrder(os_.ShipOrderRequest(id=order.id))
        live = next_event(stream)
        self.assertEqual((live.order_id, live.type, live.to_state), (order.id, order_pb2.ORDER_EVENT_TYPE_SHIPPED, order_pb2.ORDER_STATE_SHIPPED))
        self.assertGreater(live.revision, head)

    def test_a_watch_resumed_from_its_last_revision_misses_nothing_and_repeats_nothing(self) -> None:
        orders = self.admin_orders()
        user = self.new_user("resume")
        first = self.new_order(user.id)
        start = audit_trail(orders, first.id)[-1].revision
        watch = orders.WatchOrders(os_.WatchOrdersRequest(user_id=user.id, since_revision=start), timeout=WATCH_TIMEOUT_SECONDS)
        self.assertEqual(events_until_sync(watch)[0], [])
        orders.ConfirmOrder(os_.ConfirmOrderRequest(id=first.id))
        second = self.new_order(user.id)
        orders.ShipOrder(os_.ShipOrderRequest(id=first.id))
        seen = [next_event(watch), next_event(watch)]
        watch.cancel()  # the connection drops here: one live event is still unread
        orders.CancelOrder(os_.CancelOrderRequest(id=second.id))
        orders.DeliverOrder(os_.DeliverOrderRequest(id=first.id))

        resumed = orders.WatchOrders(os_.WatchOrdersRequest(user_id=user.id, since_revision=seen[-1].revision), timeout=WATCH_TIMEOUT_SECONDS)
        self.addCleanup(resumed.cancel)
        replayed, _ = events_until_sync(resumed)
        everything = [e.revision for e in audit_trail(orders, first.id, second.id) if e.revision > start]
        self.assertEqual([e.revision for e in seen + replayed], everything)
        self.assertEqual(len(everything), 5)

    def test_a_users_watch_carries_only_their_own_orders(self) -> None:
        alice = self.orders(env("ORDERLY_ALICE_TOKEN"))
        admin = self.admin_orders()
        head = audit_trail(admin, self.new_order(env("ORDERLY_ALICE_ID")).id)[-1].revision
        stream = alice.WatchOrders(os_.WatchOrdersRequest(since_revision=head), timeout=WATCH_TIMEOUT_SECONDS)
        self.addCleanup(stream.cancel)
        events_until_sync(stream)
        self.new_order(env("ORDERLY_BOB_ID"))
        mine = self.new_order(env("ORDERLY_ALICE_ID"))
        self.assertEqual(next_event(stream).order_id, mine.id)

    def test_watch_from_a_revision_ahead_of_the_log_is_out_of_range(self) -> None:
        request = os_.WatchOrdersRequest(since_revision=10**15)
        error = self.failure(lambda: self.admin_orders().WatchOrders(request, timeout=WATCH_TIMEOUT_SECONDS))
        self.assertError(error, grpc.StatusCode.OUT_OF_RANGE, "REVISION_AHEAD")
