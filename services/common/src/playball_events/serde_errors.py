"""Why a message could not be serialized or deserialized; every error carries its reason.

Registry failures are :mod:`playball_core.registry`'s errors, raised as they are: an
unknown schema id (:class:`~playball_core.registry.UnknownSchemaIdError`) is a bad
message, an unreachable registry (:class:`~playball_core.registry.RegistryUnreachableError`)
is worth a retry, and callers tell them apart by type.
"""


class SerdeError(Exception):
    """Base of every serde failure; ``str(error)`` says what went wrong and where."""


class TruncatedMessageError(SerdeError):
    """Shorter than the 5-byte Confluent header (magic byte + schema id)."""


class UnknownMagicByteError(SerdeError):
    """The first byte is not 0: not Confluent wire format (or a format we do not read)."""


class UnexpectedRecordTypeError(SerdeError):
    """The writer schema is not a record, or names one none of the reader classes reads."""


class UnhandledRecordTypeError(UnexpectedRecordTypeError):
    """The writer schema is a valid record of a type this reader does not take.

    Not a bad message: a topic may carry record types a consumer has no use for, and it
    skips them (``record_type`` names which).
    """

    def __init__(self, message: str, record_type: str) -> None:
        super().__init__(message)
        self.record_type = record_type


class ForeignSchemaError(SerdeError):
    """The schema id is registered, but not under the topic's subject for its record.

    Subjects follow TopicRecordNameStrategy (``<topic>-<record full name>``), so an id
    that subject does not hold was registered for another topic, or by someone forging
    messages: its record must not be read as one of this topic's.
    """


class IncompatibleWriterSchemaError(SerdeError):
    """The writer schema cannot be resolved into the reader class (Avro resolution rules)."""


class MalformedBodyError(SerdeError):
    """The Avro body does not decode with the writer schema (truncated or corrupt)."""


class SchemaNotRegisteredError(SerdeError):
    """The record's schema is not registered under its subject and auto-registration is off."""


class InvalidRecordError(SerdeError):
    """A record holds a value its schema cannot encode (an int beyond 64 bits, say)."""
