"""The exceptions gantry raises. Each carries gantry's one-line message, which names the file or
field involved and what was expected. Catch :class:`GantryError` for all of them; each also
derives from the built-in exception it is a kind of (``ValueError``, ``FileNotFoundError``, …)."""


class GantryError(Exception):
    """Every error gantry raises (a Rust panic too, as "internal error")."""


class ConfigError(GantryError, ValueError):
    """A config field or keyword that is unknown or has a bad value."""


class ArrayError(GantryError, ValueError):
    """An array of the wrong shape, or one holding NaN or infinity."""


class FileFormatError(GantryError, ValueError):
    """A file that is not what it should be (truncated, corrupt, another format)."""


class NotFoundError(GantryError, FileNotFoundError):
    """A run, checkpoint or file that does not exist."""


class GantryOSError(GantryError, OSError):
    """A file that cannot be read or written."""


class DatasetNotFoundError(GantryError, FileNotFoundError):
    """A dataset that is not on this machine (and cannot be downloaded offline)."""


class CheckpointError(GantryError):
    """A checkpoint that does not verify or does not fit."""


class TrainingDiverged(GantryError, ArithmeticError):
    """Training produced a loss or weight that is not finite."""


class DownloadError(GantryError, ConnectionError):
    """A download that failed or did not match its checksum."""


__all__ = [
    "GantryError", "ConfigError", "ArrayError", "FileFormatError", "NotFoundError", "GantryOSError",
    "DatasetNotFoundError", "CheckpointError", "TrainingDiverged", "DownloadError",
]
