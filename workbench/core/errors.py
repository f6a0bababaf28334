"""The exception types that mean "the user asked for something invalid" or "a file is bad".

`workbench.cli.main` prints any `UserError` as one line, `workbench: error: ...`, and
exits with status 2; nothing else may reach the user as a traceback.
"""

__all__ = ["UserError", "CorruptFile", "MissingFile"]


class UserError(ValueError):
    """Bad input from a user: the CLI prints it as one line and exits with status 2."""


class CorruptFile(UserError):
    """A store file exists but cannot be read or does not hold what it should.

    The message is one line naming the file and the problem, e.g.
    ``corrupt file .../metrics.npz: truncated zip (BadZipFile)``. `path` is the file.
    """

    def __init__(self, path, problem: str):
        self.path = path
        self.problem = " ".join(str(problem).split())  # one line, whatever the cause said
        super().__init__(f"corrupt file {path}: {self.problem}")


class MissingFile(UserError, FileNotFoundError):
    """A file a loader was asked for does not exist.

    Still a `FileNotFoundError` for callers that treat absence as normal, and a
    `UserError` so that one that does not is reported as one line, not a traceback.
    """

    def __init__(self, path):
        self.path = path
        super().__init__(f"missing file {path}")
        self.filename = str(path)

    def __str__(self) -> str:  # OSError's would print "[Errno None] None: ..."
        return f"missing file {self.path}"
