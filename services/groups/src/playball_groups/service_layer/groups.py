"""The groups API's use cases. Every one starts from the caller, who must be in the view."""

import datetime as dt
import uuid
from collections.abc import Callable

from playball_groups.domain.model import (
    AlreadyMemberError,
    ConcurrentUpdateError,
    Group,
    GroupNotFoundError,
    KnownUser,
    Member,
    MemberNotFoundError,
    NotAdminError,
    NotAllowedError,
    Role,
    StaleVersionError,
    UserDeletedError,
    UserNotKnownError,
)
from playball_groups.domain.succession import settle
from playball_groups.service_layer.unit_of_work import LockConflictError, UnitOfWork

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def known_user(uow: UnitOfWork, user_id: uuid.UUID, *, locked: bool = False) -> KnownUser:
    """``locked``: the user's row is held until the commit (see ``UserView.get_locked``)."""
    found = uow.users.get_locked(user_id) if locked else uow.users.get(user_id)
    if found is None:
        raise UserNotKnownError(user_id)
    if found.deleted:
        raise UserDeletedError(user_id)
    return found


def _membership(uow: UnitOfWork, caller: uuid.UUID, group_id: uuid.UUID) -> tuple[Group, Role]:
    group = uow.groups.get(group_id)
    role = uow.groups.role_of(group_id, caller) if group is not None else None
    if group is None or role is None:
        raise GroupNotFoundError(group_id)
    return group, role


def _changing(uow: UnitOfWork, caller: uuid.UUID, group_id: uuid.UUID) -> tuple[Group, Role]:
    """The caller's membership of a group this transaction is about to change, read under
    the group's lock (see ``Groups.lock``).

    The lock is the transaction's first statement: on SQLite it is the write that opens
    the transaction, so what follows reads the state no other writer can change until
    the commit. The caller is still checked before the group, as everywhere else.
    """
    group = uow.groups.lock(group_id)
    known_user(uow, caller)
    role = uow.groups.role_of(group_id, caller) if group is not None else None
    if group is None or role is None:
        raise GroupNotFoundError(group_id)
    return group, role


def _admin_changing(uow: UnitOfWork, caller: uuid.UUID, group_id: uuid.UUID) -> Group:
    group, role = _changing(uow, caller, group_id)
    if role is not Role.ADMIN:
        raise NotAdminError
    return group


def list_groups(uow: UnitOfWork, caller: uuid.UUID) -> list[Group]:
    with uow:
        known_user(uow, caller)
        return uow.groups.of_member(caller)


def create_group(uow: UnitOfWork, caller: uuid.UUID, name: str, clock: Clock = utcnow) -> Group:
    with uow:
        # locked, as in add_member: the creator becomes the group's first member
        known_user(uow, caller, locked=True)
        group = Group(id=uuid.uuid4(), name=name, version=1, created_at=clock())
        uow.groups.add(group, admin=caller)
        uow.commit()
        return group


def get_group(uow: UnitOfWork, caller: uuid.UUID, group_id: uuid.UUID) -> Group:
    with uow:
        known_user(uow, caller)
        return _membership(uow, caller, group_id)[0]


def rename_group(
    uow: UnitOfWork, caller: uuid.UUID, group_id: uuid.UUID, name: str, version: int
) -> Group:
    with uow:
        group = _admin_changing(uow, caller, group_id)
        renamed = uow.groups.rename(group_id, name, version)
        if renamed is None:
            raise StaleVersionError(group_id, group.version)
        uow.commit()
        return renamed


def delete_group(uow: UnitOfWork, caller: uuid.UUID, group_id: uuid.UUID) -> None:
    with uow:
        _admin_changing(uow, caller, group_id)
        uow.groups.delete(group_id)
        uow.commit()


def list_members(uow: UnitOfWork, caller: uuid.UUID, group_id: uuid.UUID) -> list[Member]:
    with uow:
        known_user(uow, caller)
        _membership(uow, caller, group_id)
        return uow.groups.members(group_id)


def add_member(
    uow: UnitOfWork,
    caller: uuid.UUID,
    group_id: uuid.UUID,
    user_id: uuid.UUID,
    clock: Clock = utcnow,
) -> Member:
    with uow:
        _admin_changing(uow, caller, group_id)
        # locked: a deletion of the user applied meanwhile waits for this commit, then
        # removes the membership with the user's others; unlocked, it would find no
        # membership to remove, and the member would outlive its account
        try:
            user = known_user(uow, user_id, locked=True)
        except LockConflictError:
            raise ConcurrentUpdateError(group_id) from None
        if uow.groups.role_of(group_id, user_id) is not None:
            raise AlreadyMemberError(user_id)
        joined = clock()
        uow.groups.add_member(group_id, user_id, Role.MEMBER, joined)
        uow.commit()
        return Member(user_id, Role.MEMBER, joined, user.display_name or "")


def remove_member(
    uow: UnitOfWork, caller: uuid.UUID, group_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    with uow:
        _group, role = _changing(uow, caller, group_id)
        if role is not Role.ADMIN and caller != user_id:
            raise NotAllowedError
        if uow.groups.role_of(group_id, user_id) is None:
            raise MemberNotFoundError(user_id)
        uow.groups.remove_member(group_id, user_id)
        settle(uow.groups, [group_id])
        uow.commit()
