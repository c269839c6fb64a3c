"""Every UserService method from Python, against the running service."""

from __future__ import annotations

import uuid

import grpc
from google.protobuf import field_mask_pb2

from orderly_client import user_pb2, user_service_pb2 as us

from tests.support import InteropCase, env, unique_email


class UserServiceTest(InteropCase):
    def test_create_user_then_get_user_returns_the_same_user(self) -> None:
        users = self.admin_users()
        email = unique_email("Ada.Lovelace")
        profile = user_pb2.Profile(first_name="Ada", last_name="Lovelace", preferences={"theme": "dark"})
        created = users.CreateUser(us.CreateUserRequest(user=user_pb2.User(email=email, profile=profile))).user
        self.assertTrue(created.id.startswith("usr_"), created.id)
        self.assertEqual(created.email, email.lower())
        self.assertEqual(dict(created.profile.preferences), {"theme": "dark"})
        self.assertTrue(created.etag)
        self.assertGreater(created.create_time.seconds, 0)
        self.assertEqual(users.GetUser(us.GetUserRequest(id=created.id)).user, created)

    def test_create_user_with_bad_fields_lists_every_violation_in_bad_request(self) -> None:
        bad = user_pb2.User(email="nope", profile=user_pb2.Profile(first_name="x" * 101, avatar_url="ftp://example.com/a.png"))
        error = self.failure(lambda: self.admin_users().CreateUser(us.CreateUserRequest(user=bad)))
        self.assertError(error, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")
        assert error.bad_request is not None
        violations = {v.field: v.description for v in error.bad_request.field_violations}
        self.assertEqual(sorted(violations), ["user.email", "user.profile.avatar_url", "user.profile.first_name"])
        self.assertTrue(all(violations.values()), violations)

    def test_create_user_with_a_taken_email_in_other_case_is_already_exists(self) -> None:
        taken = self.new_user("taken")
        again = user_pb2.User(email=taken.email.upper())
        error = self.failure(lambda: self.admin_users().CreateUser(us.CreateUserRequest(user=again)))
        self.assertError(error, grpc.StatusCode.ALREADY_EXISTS, "EMAIL_ALREADY_EXISTS")
        self.assertEqual(error.metadata["email"], taken.email)

    def test_get_user_of_a_missing_id_is_not_found_with_resource_info(self) -> None:
        missing = "usr_01J00000000000000000000000"
        error = self.failure(lambda: self.admin_users().GetUser(us.GetUserRequest(id=missing)))
        self.assertError(error, grpc.StatusCode.NOT_FOUND, "USER_NOT_FOUND")
        assert error.resource_info is not None
        self.assertEqual((error.resource_info.resource_type, error.resource_info.resource_name), ("orderly.user.v1.User", missing))

    def test_list_users_pages_through_a_filter_oldest_first(self) -> None:
        tag = uuid.uuid4().hex[:10]
        created = [self.new_user(f"page{tag}").id for _ in range(5)]
        users = self.admin_users()
        pages, token = [], ""
        while True:
            page = users.ListUsers(us.ListUsersRequest(page_size=2, page_token=token, filter=us.UserFilter(email_contains=tag)))
            pages.append([u.id for u in page.users])
            token = page.next_page_token
            if not token:
                break
        self.assertEqual([len(p) for p in pages], [2, 2, 1])
        self.assertEqual([id for p in pages for id in p], created)

    def test_list_users_with_a_page_token_of_another_filter_is_invalid(self) -> None:
        tag = uuid.uuid4().hex[:10]
        self.new_user(f"mismatch{tag}")
        self.new_user(f"mismatch{tag}")
        users = self.admin_users()
        first = users.ListUsers(us.ListUsersRequest(page_size=1, filter=us.UserFilter(email_contains=tag)))
        self.assertTrue(first.next_page_token)
        changed = us.ListUsersRequest(page_size=1, page_token=first.next_page_token, filter=us.UserFilter(email_contains="other"))
        error = self.failure(lambda: users.ListUsers(changed))
        self.assertError(error, grpc.StatusCode.INVALID_ARGUMENT, "PAGE_TOKEN_FILTER_MISMATCH")
        assert error.bad_request is not None
        self.assertEqual([v.field for v in error.bad_request.field_violations], ["page_token"])

    def test_list_users_with_a_negative_page_size_is_invalid(self) -> None:
        error = self.failure(lambda: self.admin_users().ListUsers(us.ListUsersRequest(page_size=-1)))
        self.assertError(error, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")
        assert error.bad_request is not None
        self.assertEqual([v.field for v in error.bad_request.field_violations], ["page_size"])

    def test_update_user_changes_only_the_fields_in_update_mask(self) -> None:
        users = self.admin_users()
        profile = user_pb2.Profile(first_name="Ada", last_name="Byron")
        user = users.CreateUser(us.CreateUserRequest(user=user_pb2.User(email=unique_email("mask"), profile=profile))).user
        change = user_pb2.User(id=user.id, email="ignored@example.com", profile=user_pb2.Profile(first_name="Augusta", last_name="King"))
        mask = field_mask_pb2.FieldMask(paths=["profile.first_name"])
        updated = users.UpdateUser(us.UpdateUserRequest(user=change, update_mask=mask, etag=user.etag)).user
        self.assertEqual((updated.profile.first_name, updated.profile.last_name, updated.email), ("Augusta", "Byron", user.email))
        self.assertNotEqual(updated.etag, user.etag)

    def test_update_user_with_a_stale_etag_is_aborted_etag_mismatch(self) -> None:
        users = self.admin_users()
        user = self.new_user("etag")
        mask = field_mask_pb2.FieldMask(paths=["profile.last_name"])
        change = user_pb2.User(id=user.id, profile=user_pb2.Profile(last_name="First"))
        users.UpdateUser(us.UpdateUserRequest(user=change, update_mask=mask, etag=user.etag))
        stale = us.UpdateUserRequest(user=user_pb2.User(id=user.id, profile=user_pb2.Profile(last_name="Second")), update_mask=mask, etag=user.etag)
        error = self.failure(lambda: users.UpdateUser(stale))
        self.assertError(error, grpc.StatusCode.ABORTED, "ETAG_MISMATCH")
        self.assertEqual(users.GetUser(us.GetUserRequest(id=user.id)).user.profile.last_name, "First")

    def test_update_user_with_an_unknown_mask_path_is_invalid(self) -> None:
        user = self.new_user("badmask")
        request = us.UpdateUserRequest(user=user_pb2.User(id=user.id), update_mask=field_mask_pb2.FieldMask(paths=["id"]))
        error = self.failure(lambda: self.admin_users().UpdateUser(request))
        self.assertError(error, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_UPDATE_MASK")

    def test_delete_user_honours_the_etag_then_the_user_is_gone(self) -> None:
        users = self.admin_users()
        user = self.new_user("delete")
        error = self.failure(lambda: users.DeleteUser(us.DeleteUserRequest(id=user.id, etag="stale")))
        self.assertError(error, grpc.StatusCode.ABORTED, "ETAG_MISMATCH")
        users.DeleteUser(us.DeleteUserRequest(id=user.id, etag=user.etag))
        gone = self.failure(lambda: users.GetUser(us.GetUserRequest(id=user.id)))
        self.assertError(gone, grpc.StatusCode.NOT_FOUND, "USER_NOT_FOUND")

    def test_stream_users_sends_every_match_oldest_first(self) -> None:
        tag = uuid.uuid4().hex[:10]
        created = [self.new_user(f"stream{tag}").id for _ in range(3)]
        stream = self.admin_users().StreamUsers(us.StreamUsersRequest(filter=us.UserFilter(email_contains=tag)))
        self.assertEqual([message.user.id for message in stream], created)

    def test_batch_get_users_answers_in_the_order_asked_and_fails_on_a_missing_id(self) -> None:
        users = self.admin_users()
        a, b = self.new_user("batch"), self.new_user("batch")
        found = users.BatchGetUsers(us.BatchGetUsersRequest(ids=[b.id, a.id, b.id])).users
        self.assertEqual([u.id for u in found], [b.id, a.id, b.id])
        error = self.failure(lambda: users.BatchGetUsers(us.BatchGetUsersRequest(ids=[a.id, "usr_missing"])))
        self.assertError(error, grpc.StatusCode.NOT_FOUND, "USER_NOT_FOUND")

    def test_a_user_reads_themselves_but_not_another_user(self) -> None:
        alice = self.users(env("ORDERLY_ALICE_TOKEN"))
        self.assertEqual(alice.GetUser(us.GetUserRequest(id=env("ORDERLY_ALICE_ID"))).user.id, env("ORDERLY_ALICE_ID"))
        error = self.failure(lambda: alice.GetUser(us.GetUserRequest(id=env("ORDERLY_BOB_ID"))))
        self.assertError(error, grpc.StatusCode.NOT_FOUND, "USER_NOT_FOUND")
