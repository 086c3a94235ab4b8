"""Errors raised by the schemas package."""


class SchemaError(Exception):
    """Base of every error raised by the schemas package."""


class SchemaRegistryError(SchemaError):
    """The shipped .avsc files are inconsistent (bad name, duplicate fingerprint, parse failure)."""


class UnknownRecordError(SchemaError):
    """A record name that has no schema in the registry."""


class SchemaEncodeError(SchemaError):
    """A value does not fit the schema of the record it was encoded as."""


class SchemaDecodeError(SchemaError):
    """Bytes that are not a well-formed single-object-encoded record."""


class UnknownSchemaError(SchemaError):
    """Well-formed bytes whose writer-schema fingerprint is in no shipped schema file."""


class RecordMismatchError(SchemaError):
    """Bytes that hold another record than the one the caller expected."""


class PayloadDecodeError(SchemaError, ValueError):
    """A JSON-encoded payload (an internal inbox message, a state blob) is malformed."""


class TaskTokenError(SchemaError, ValueError):
    """A task token could not be decoded (garbage, truncated or of an unknown version)."""
