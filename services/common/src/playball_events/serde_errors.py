"""Why a message could not be serialized or deserialized; every error carries its reason."""


class SerdeError(Exception):
    """Base of every serde failure; ``str(error)`` says what went wrong and where."""


class TruncatedMessageError(SerdeError):
    """Shorter than the 5-byte Confluent header (magic byte + schema id)."""


class UnknownMagicByteError(SerdeError):
    """The first byte is not 0: not Confluent wire format (or a format we do not read)."""


class UnknownSchemaIdError(SerdeError):
    """The registry has no schema with the id the message carries."""


class UnexpectedRecordTypeError(SerdeError):
    """The writer schema names a record none of the reader classes reads."""


class IncompatibleWriterSchemaError(SerdeError):
    """The writer schema cannot be resolved into the reader class (Avro resolution rules)."""


class MalformedBodyError(SerdeError):
    """The Avro body does not decode with the writer schema (truncated or corrupt)."""


class SchemaNotRegisteredError(SerdeError):
    """The record's schema is not registered under its subject and auto-registration is off."""


class RegistryError(SerdeError):
    """The schema registry refused a request or could not be reached."""


class InvalidRecordError(SerdeError):
    """A record holds a value its schema cannot encode (an int beyond 64 bits, say)."""
