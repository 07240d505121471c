"""What a valid group name is: the shared rule for names people see, at most 100 characters
(the width of the ``groups.name`` column)."""

from playball_service_kit.names import check_name

GROUP_NAME_MAX = 100


def check_group_name(value: str) -> str:
    """The NFC form of an acceptable group name; raises ``InvalidNameError`` (a
    ``ValueError``, so the API answers 422) saying what is wrong."""
    return check_name(value, field="name", max_length=GROUP_NAME_MAX)
