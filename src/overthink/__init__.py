"""overthink: find where more thinking makes a reasoning model worse."""

__version__ = "0.1.0"
