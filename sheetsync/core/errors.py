"""sheetsync's one error model: every failure a person must act on, in their words.

- `JobFatal`: the job cannot run until someone fixes something (config, token, missing columns,
  a locked or unusable state file). Retrying by itself will not help.
- `Retriable`: Google or Meta is unavailable right now; the next cycle tries again.

Each boundary translates its library's exceptions into these; `render` is the one place that
turns any of them into text, for the CLI, the daemon's journal and `check` alike. Row problems
are not exceptions at all: they are data, shown in the row (docs/DESIGN.md, "Errors").
"""

from __future__ import annotations


class SheetsyncError(Exception):
    """A failure with a message (what happened) and a hint (what to do about it)."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


class JobFatal(SheetsyncError):
    """The job cannot go on until a person fixes what the message names."""


class Retriable(SheetsyncError):
    """A remote system is unavailable; the next cycle tries again by itself."""


class ConfigError(JobFatal):
    """The config cannot be used; `problems` lists every reason, each naming its key."""

    def __init__(self, problems: list[str], source: str = "config") -> None:
        self.problems = problems
        self.source = source
        summary = "; ".join(problems[:3]) + (
            f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        )
        super().__init__(f"{source}: {summary}")


class MissingColumns(JobFatal):
    """Configured headers that the sheet does not have."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class CycleError(JobFatal):
    """This cycle of this job cannot go on; the message says why and what to do."""


class StateError(JobFatal):
    """The state store cannot be used."""


class StateLocked(StateError):
    """Another process holds the state store."""


class TokenError(JobFatal):
    """The Meta token cannot be loaded; the message says where to put it."""


class SheetError(JobFatal):
    """The sheet cannot be used; the message says what to fix (share it, fix the id, …)."""


class SheetUnavailable(Retriable, SheetError):
    """Google is failing or slow right now; the next cycle tries again.

    Also a SheetError, so code that handles 'the sheet failed' handles this too."""


def render(error: BaseException) -> str:
    """The sentence a person reads, for any error: ours in full, anything else by its type."""
    if isinstance(error, ConfigError):
        lines = "\n".join(f"  {problem}" for problem in error.problems)
        return f"the config {error.source} has {len(error.problems)} problem(s):\n{lines}"
    if isinstance(error, SheetsyncError):
        return str(error)
    if isinstance(error, OSError):
        return f"{error.strerror or error}: {error.filename or ''}".rstrip(": ")
    return f"unexpected {type(error).__name__}: {error}"


class LeadSourceUnavailable(Retriable):
    """Meta will not give Lead Ads leads now. `kind`: "rate_limit" (wait `wait` seconds, or
    Meta's default), "auth" (the Page token lost access: a person must act), "gone" (the form
    no longer exists: not an error), or "transient"."""

    def __init__(self, message: str, kind: str, wait: float | None = None, hint: str = "") -> None:
        super().__init__(message, hint)
        self.kind = kind
        self.wait = wait


class LeaseLost(CycleError):
    """Another instance holds the job now (this one was frozen or cut off past its lease): this
    instance sends and writes nothing more for the job."""
