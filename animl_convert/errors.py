class ConversionError(Exception):
    """Why nothing was written, and what to do about it."""
