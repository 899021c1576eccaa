"""Errors raised at run time for a user's mistakes (bad data, diverged training).

The command line catches every subclass of :class:`UserError` and prints its message without a
traceback; the Python API lets them propagate as ordinary exceptions.
"""


class UserError(Exception):
    """Base class of run-time errors caused by user input rather than by a bug in gmc."""


class DataError(UserError, ValueError):
    """Data that cannot be used: unreadable file, wrong shape, wrong support, NaN or inf values."""


class TrainingError(UserError, RuntimeError):
    """Training that cannot go on, e.g. a loss that became NaN or infinite."""


class OutputError(UserError, OSError):
    """An output folder or file that cannot be used or written: a full disk, a read-only or
    missing folder, a file where a folder should be, or an output folder held by another run."""
