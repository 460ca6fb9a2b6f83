class ConversionError(Exception):
    """Why nothing was written, and what to do about it: bad input (exit 2)."""


class CheckFailed(ConversionError):  # noqa: N818 - reads as the condition it reports
    """The input was usable, and a check found the model or its graph wrong (exit 1)."""
