"""The errors of the exchange-file reader."""


class TableError(Exception):
    """The file as a whole is unusable (format, encoding, no header, a column missing or twice)."""
