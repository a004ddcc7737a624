"""Errors that stop a run with a message a person can act on.

An :class:`InputError` names the file, and where known the row, column and rule
broken. The command line and the Snakemake jobs print it as one readable
message, never as a bare traceback.
"""

from __future__ import annotations


class CpdevalError(Exception):
    """Base class for errors the pipeline reports to its user."""


class ConfigError(CpdevalError):
    """The configuration is invalid; the message names the key."""


class InputError(CpdevalError):
    """An input file cannot be used as it is.

    Parameters mirror what an analyst needs to find the problem: the file, the
    1-based row in that file (header is row 1) when one row is at fault, the
    column, and the rule that was broken.
    """

    def __init__(self, file, problem: str, *, row: int | None = None,
                 column: str | None = None, rule: str | None = None):
        self.file = str(file)
        self.problem = problem
        self.row = row
        self.column = column
        self.rule = rule
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = [f"file {self.file}"]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        text = f"{', '.join(where)}: {self.problem}"
        if self.rule:
            text += f" (rule: {self.rule})"
        return text
