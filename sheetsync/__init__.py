"""sheetsync: a Google Sheet of leads → Meta Conversions API, with status written back."""

__version__ = "0.1.0"
