"""Tests of the internal status model and the Kuaidi100, 17TRACK and AfterShip mapping tables."""
from __future__ import annotations

import pytest

from logistics.shipments.statuses import (
    AFTERSHIP_TAGS,
    FAMILIES,
    FAMILY,
    KUAIDI100_STATES,
    TERMINAL,
    TRACK17_STATUSES,
    Status,
    UnknownStatusCode,
    from_17track,
    from_aftership,
    from_kuaidi100,
    is_active,
)

EXPECTED_VALUES = {
    "created", "picked_up", "in_transit", "arrived_hub", "departed_hub", "at_outlet", "out_for_delivery",
    "in_locker", "at_station", "delivered", "delivery_failed", "refused", "returning", "returned",
    "customs_pending", "customs_processing", "customs_cleared", "customs_exception", "exception", "lost",
}


def _rows(table):
    return pytest.mark.parametrize(("key", "expected"), list(table.items()), ids=[repr(key) for key in table])


# --- the model ---


def test_status_has_exactly_the_agreed_values():
    assert {status.value for status in Status} == EXPECTED_VALUES


def test_status_compares_equal_to_its_string_value():
    assert Status.DELIVERED == "delivered"
    assert Status("in_locker") is Status.IN_LOCKER


def test_every_status_belongs_to_one_known_family():
    assert set(FAMILY) == set(Status)
    assert set(FAMILY.values()) <= set(FAMILIES)


def test_every_family_is_used():
    assert set(FAMILY.values()) == set(FAMILIES)


@pytest.mark.parametrize(
    ("status", "family"),
    [
        (Status.CREATED, "pre_transit"),
        (Status.ARRIVED_HUB, "in_transit"),
        (Status.OUT_FOR_DELIVERY, "last_mile"),
        (Status.IN_LOCKER, "pickup"),
        (Status.AT_STATION, "pickup"),
        (Status.DELIVERED, "delivered"),
        (Status.LOST, "problem"),
        (Status.DELIVERY_FAILED, "problem"),
        (Status.RETURNING, "return"),
        (Status.CUSTOMS_EXCEPTION, "customs"),
    ],
)
def test_family_of_representative_statuses(status, family):
    assert FAMILY[status] == family


def test_terminal_statuses_are_delivered_returned_and_lost():
    assert TERMINAL == {Status.DELIVERED, Status.RETURNED, Status.LOST}


@pytest.mark.parametrize("status", list(Status))
def test_is_active_is_the_negation_of_terminal(status):
    assert is_active(status) is (status not in TERMINAL)


def test_is_active_accepts_the_string_value():
    assert is_active("in_transit") is True
    assert is_active("delivered") is False


def test_is_active_rejects_an_unknown_value():
    with pytest.raises(ValueError):
        is_active("teleported")


# --- Kuaidi100 ---


@_rows(KUAIDI100_STATES)
def test_every_kuaidi100_row_maps_to_its_status(key, expected):
    state, sub_state = key
    result = from_kuaidi100(state, sub_state)
    assert isinstance(result, Status)
    assert result is expected


@_rows(KUAIDI100_STATES)
def test_every_kuaidi100_row_accepts_numeric_strings(key, expected):
    state, sub_state = key
    assert from_kuaidi100(str(state), None if sub_state is None else str(sub_state)) is expected


@pytest.mark.parametrize(
    ("state", "sub_state", "expected"),
    [
        (0, None, Status.IN_TRANSIT),
        (1, None, Status.PICKED_UP),
        (1, 101, Status.CREATED),
        (1, 102, Status.CREATED),
        (1, 103, Status.PICKED_UP),
        (0, 1001, Status.ARRIVED_HUB),
        (0, 1002, Status.IN_TRANSIT),
        (5, None, Status.OUT_FOR_DELIVERY),
        (5, 501, Status.IN_LOCKER),
        (3, None, Status.DELIVERED),
        (3, 301, Status.DELIVERED),
        (3, 302, Status.DELIVERED),
        (3, 303, Status.DELIVERED),
        (3, 304, Status.DELIVERED),
        (4, None, Status.RETURNED),
        (4, 14, Status.REFUSED),
        (14, None, Status.REFUSED),
        (6, None, Status.RETURNING),
        (7, None, Status.IN_TRANSIT),
        (2, None, Status.EXCEPTION),
        (2, 203, Status.REFUSED),
        (2, 204, Status.DELIVERY_FAILED),
        (2, 205, Status.IN_LOCKER),
        (2, 209, Status.EXCEPTION),
        (8, None, Status.CUSTOMS_PROCESSING),
        (8, 10, Status.CUSTOMS_PENDING),
        (8, 11, Status.CUSTOMS_PROCESSING),
        (8, 12, Status.CUSTOMS_CLEARED),
        (8, 13, Status.CUSTOMS_EXCEPTION),
        (10, None, Status.CUSTOMS_PENDING),
        (11, None, Status.CUSTOMS_PROCESSING),
        (12, None, Status.CUSTOMS_CLEARED),
        (13, None, Status.CUSTOMS_EXCEPTION),
    ],
)
def test_kuaidi100_known_codes(state, sub_state, expected):
    assert from_kuaidi100(state, sub_state) is expected


def test_kuaidi100_locker_signature_304_is_delivered_not_in_locker():
    assert from_kuaidi100(3, 304) is Status.DELIVERED


def test_kuaidi100_every_customs_code_lands_in_the_customs_family():
    for state, sub_state in [(8, None), (8, 10), (8, 11), (8, 12), (8, 13), (10, None), (13, None)]:
        assert FAMILY[from_kuaidi100(state, sub_state)] == "customs"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("1002", Status.IN_TRANSIT),
        (1001, Status.ARRIVED_HUB),
        ("501", Status.IN_LOCKER),
        (304, Status.DELIVERED),
        ("401", Status.RETURNED),
        (206, Status.DELIVERY_FAILED),
    ],
)
def test_kuaidi100_advanced_code_reported_as_state_resolves_through_its_main_state(code, expected):
    assert from_kuaidi100(code) is expected


def test_kuaidi100_no_sub_state_is_filed_under_two_main_states():
    parents: dict[int, set[int]] = {}
    for state, sub_state in KUAIDI100_STATES:
        if sub_state is not None:
            parents.setdefault(sub_state, set()).add(state)
    assert all(len(owners) == 1 for owners in parents.values())


def test_kuaidi100_every_sub_state_has_a_main_state_row():
    for state, sub_state in KUAIDI100_STATES:
        assert (state, None) in KUAIDI100_STATES, (state, sub_state)


@pytest.mark.parametrize(
    ("state", "sub_state", "expected"),
    [
        (3, 999, Status.DELIVERED),
        (0, 501, Status.IN_TRANSIT),  # a real sub-state, but of another main state
        ("5", "abc", Status.OUT_FOR_DELIVERY),
        (5, "", Status.OUT_FOR_DELIVERY),
        (5, "  ", Status.OUT_FOR_DELIVERY),
        (2, 2999, Status.EXCEPTION),
        (8, 14, Status.CUSTOMS_PROCESSING),
    ],
)
def test_kuaidi100_unknown_sub_state_falls_back_to_the_main_state(state, sub_state, expected):
    assert from_kuaidi100(state, sub_state) is expected


def test_kuaidi100_tolerates_whitespace_around_codes():
    assert from_kuaidi100(" 3 ", "\t304\n") is Status.DELIVERED
    assert from_kuaidi100(" 1002 ") is Status.IN_TRANSIT


@pytest.mark.parametrize("state", [9, 15, 99, 9999, -1, "9", "abc", "", "  ", None, True, 3.0, "3.0", "３"])
def test_kuaidi100_unknown_main_state_raises(state):
    with pytest.raises(UnknownStatusCode):
        from_kuaidi100(state)


def test_unknown_status_code_is_a_value_error_naming_provider_and_code():
    with pytest.raises(ValueError) as caught:
        from_kuaidi100(42)
    assert caught.value.provider == "kuaidi100"
    assert caught.value.code == 42
    assert "42" in str(caught.value)


# --- 17TRACK ---


@_rows(TRACK17_STATUSES)
def test_every_17track_row_maps_to_its_status(key, expected):
    status, sub_status = key
    result = from_17track(status, sub_status)
    assert isinstance(result, Status)
    assert result is expected


def test_17track_every_sub_status_is_prefixed_by_its_status():
    for status, sub_status in TRACK17_STATUSES:
        assert sub_status is None or sub_status.startswith(status)


@pytest.mark.parametrize(
    "status",
    ["NotFound", "InfoReceived", "InTransit", "Expired", "AvailableForPickup", "OutForDelivery",
     "DeliveryFailure", "Delivered", "Exception"],
)
def test_17track_every_main_status_has_a_default_row(status):
    assert (status, None) in TRACK17_STATUSES


@pytest.mark.parametrize(
    ("status", "sub_status", "expected"),
    [
        ("InTransit", "InTransit_PickedUp", Status.PICKED_UP),
        ("InTransit", "InTransit_CustomsProcessing", Status.CUSTOMS_PROCESSING),
        ("InTransit", "InTransit_CustomsReleased", Status.CUSTOMS_CLEARED),
        ("InTransit", "InTransit_CustomsRequiringInformation", Status.CUSTOMS_EXCEPTION),
        ("AvailableForPickup", None, Status.AT_STATION),
        ("OutForDelivery", "OutForDelivery_Other", Status.OUT_FOR_DELIVERY),
        ("DeliveryFailure", "DeliveryFailure_NoBody", Status.DELIVERY_FAILED),
        ("DeliveryFailure", "DeliveryFailure_Rejected", Status.REFUSED),
        ("Delivered", "Delivered_Other", Status.DELIVERED),
        ("Exception", "Exception_Returning", Status.RETURNING),
        ("Exception", "Exception_Returned", Status.RETURNED),
        ("Exception", "Exception_Lost", Status.LOST),
        ("Exception", "Exception_Rejected", Status.REFUSED),
        ("NotFound", None, Status.CREATED),
        ("InfoReceived", "InfoReceived", Status.CREATED),
    ],
)
def test_17track_known_codes(status, sub_status, expected):
    assert from_17track(status, sub_status) is expected


@pytest.mark.parametrize(
    ("status", "sub_status", "expected"),
    [
        ("InTransit", "InTransit_TransportArrived", Status.IN_TRANSIT),
        ("Exception", "exception_lost", Status.EXCEPTION),  # case-sensitive: not the Lost row
        ("Delivered", "Exception_Lost", Status.DELIVERED),  # sub-status of another status
        ("OutForDelivery", "", Status.OUT_FOR_DELIVERY),
        ("DeliveryFailure", 7, Status.DELIVERY_FAILED),
    ],
)
def test_17track_unknown_sub_status_falls_back_to_the_status(status, sub_status, expected):
    assert from_17track(status, sub_status) is expected


def test_17track_tolerates_surrounding_whitespace():
    assert from_17track("  Exception ", " Exception_Lost\n") is Status.LOST


@pytest.mark.parametrize("status", ["delivered", "DELIVERED", "Pending", "Alert", "", "   ", None, 40])
def test_17track_unknown_status_raises(status):
    with pytest.raises(UnknownStatusCode):
        from_17track(status)


# --- AfterShip ---


@_rows(AFTERSHIP_TAGS)
def test_every_aftership_row_maps_to_its_status(key, expected):
    tag, subtag = key
    result = from_aftership(tag, subtag)
    assert isinstance(result, Status)
    assert result is expected


def test_aftership_every_subtag_is_prefixed_by_its_tag():
    for tag, subtag in AFTERSHIP_TAGS:
        assert subtag is None or subtag.startswith(f"{tag}_")


@pytest.mark.parametrize(
    "tag",
    ["Pending", "InfoReceived", "InTransit", "OutForDelivery", "AttemptFail", "Delivered",
     "AvailableForPickup", "Exception", "Expired"],
)
def test_aftership_every_tag_has_a_default_row(tag):
    assert (tag, None) in AFTERSHIP_TAGS


@pytest.mark.parametrize(
    ("tag", "subtag", "expected"),
    [
        ("AvailableForPickup", None, Status.AT_STATION),
        ("AvailableForPickup", "AvailableForPickup_001", Status.AT_STATION),
        ("InfoReceived", "InfoReceived_001", Status.CREATED),
        ("InTransit", "InTransit_002", Status.PICKED_UP),
        ("InTransit", "InTransit_005", Status.CUSTOMS_CLEARED),
        ("InTransit", "InTransit_006", Status.CUSTOMS_PROCESSING),
        ("InTransit", "InTransit_007", Status.DEPARTED_HUB),
        ("AttemptFail", "AttemptFail_002", Status.DELIVERY_FAILED),
        ("Delivered", "Delivered_002", Status.DELIVERED),
        ("Exception", "Exception_003", Status.REFUSED),
        ("Exception", "Exception_004", Status.CUSTOMS_EXCEPTION),
        ("Exception", "Exception_010", Status.RETURNING),
        ("Exception", "Exception_011", Status.RETURNED),
        ("Exception", "Exception_013", Status.LOST),
        ("Expired", None, Status.EXCEPTION),
        ("Pending", None, Status.CREATED),
    ],
)
def test_aftership_known_codes(tag, subtag, expected):
    assert from_aftership(tag, subtag) is expected


@pytest.mark.parametrize(
    ("tag", "subtag", "expected"),
    [
        ("Exception", "Exception_016", Status.EXCEPTION),  # added by AfterShip after this table was written
        ("InTransit", "InTransit_099", Status.IN_TRANSIT),
        ("Delivered", "delivered_001", Status.DELIVERED),
        ("OutForDelivery", None, Status.OUT_FOR_DELIVERY),
        ("AttemptFail", "  ", Status.DELIVERY_FAILED),
    ],
)
def test_aftership_unknown_subtag_falls_back_to_the_tag(tag, subtag, expected):
    assert from_aftership(tag, subtag) is expected


def test_aftership_tolerates_surrounding_whitespace():
    assert from_aftership(" Exception", "Exception_013 ") is Status.LOST


@pytest.mark.parametrize("tag", ["exception", "In Transit", "Lost", "", None, 5])
def test_aftership_unknown_tag_raises(tag):
    with pytest.raises(UnknownStatusCode):
        from_aftership(tag)


# --- all tables ---


def test_every_table_value_is_a_status_with_a_family():
    for table in (KUAIDI100_STATES, TRACK17_STATUSES, AFTERSHIP_TAGS):
        for status in table.values():
            assert isinstance(status, Status)
            assert status in FAMILY
