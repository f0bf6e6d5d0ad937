"""Who starts, ends, moderates, skips the waiting room, joins and watches: one rule set, from the
roles' permissions and where one sits."""

from __future__ import annotations

import pytest

from hub.domain import hearing_roles
from hub.domain.errors import Forbidden
from hub.domain.hearing_roles import NEEDS, Control, Seat, may_control, moderates
from hub.domain.users import Action, Role, may

RUNNING = (Control.START, Control.END)
MODERATING = tuple(c for c in Control if c not in RUNNING)


def test_every_control_needs_a_permission_a_role_has() -> None:
    assert set(NEEDS) == set(Control)
    for control in Control:
        assert any(may(role, NEEDS[control]) for role in Role)


def test_on_the_host_side_the_role_permissions_decide() -> None:
    for role in Role:
        seat = Seat(role, host_side=True)
        for control in RUNNING:
            # As over REST (hearings.set_status): run_hearings on the host side.
            assert may_control(seat, control) == may(role, Action.RUN_HEARINGS), (role, control)
        for control in MODERATING:
            assert may_control(seat, control) == may(role, Action.MODERATE_HEARINGS)


def test_staff_of_the_host_start_and_end_but_do_not_moderate() -> None:
    staff = Seat(Role.STAFF, host_side=True)
    assert may_control(staff, Control.START) and may_control(staff, Control.END)
    assert not moderates(staff)
    leader, admin = Seat(Role.LEADER, host_side=True), Seat(Role.ADMIN, host_side=True)
    assert moderates(leader) and moderates(admin)
    assert not may_control(Seat(Role.OPERATOR, host_side=True), Control.END)


def test_off_the_host_side_only_the_chair_controls() -> None:
    for role in (*Role, None):
        seat = Seat(role, host_side=False)
        assert not any(may_control(seat, control) for control in Control)
    chair = Seat(Role.LEADER, host_side=False, chair=True)
    assert all(may_control(chair, control) for control in Control)
    # A site's own token (no user) controls nothing, even at the host office.
    assert not any(may_control(Seat(None, host_side=True), control) for control in Control)


def test_refusals_name_who_may() -> None:
    with pytest.raises(Forbidden, match=r"chair.*moderate hearings.*host office"):
        hearing_roles.require_control(Seat(Role.STAFF, host_side=True), Control.ADMIT)
    hearing_roles.require_control(Seat(Role.STAFF, host_side=True), Control.END)


def test_who_skips_the_waiting_room() -> None:
    def admitted(seat: Seat, *, live: bool = True, before: bool = False) -> bool:
        return hearing_roles.starts_admitted(seat, live=live, admitted_before=before)

    # Whoever may start the hearing or moderate it: on the host side, or the chair.
    for role in (Role.LEADER, Role.STAFF, Role.ADMIN):
        assert admitted(Seat(role, host_side=True))
    assert admitted(Seat(Role.LEADER, host_side=False, chair=True))
    assert not admitted(Seat(Role.OPERATOR, host_side=True))
    assert not admitted(Seat(None, host_side=True))
    assert not admitted(Seat(Role.STAFF, host_side=False))
    assert not admitted(Seat(Role.LEADER, host_side=False))
    # A rejoin keeps an admission given while the hearing was live, and only then.
    assert admitted(Seat(Role.STAFF, host_side=False), before=True)
    assert not admitted(Seat(Role.STAFF, host_side=False), live=False, before=True)


def test_who_joins_and_who_watches_the_sites() -> None:
    assert [r for r in Role if hearing_roles.may_join(r)] == [Role.LEADER, Role.STAFF, Role.ADMIN]
    assert not hearing_roles.may_join(None)
    watchers = [r for r in Role if hearing_roles.may_watch_sites(r)]
    assert watchers == [Role.LEADER, Role.OPERATOR, Role.ADMIN]
    assert hearing_roles.role_named("site") is None
    assert hearing_roles.role_named("leader") is Role.LEADER
