"""Errors a user can act on: the command line prints their message, not a traceback."""

from __future__ import annotations


class ClaimsAskesError(Exception):
    """Base of the errors whose message is meant for the person running the command."""


class ConfigError(ClaimsAskesError):
    """A setting is missing or has a bad value; the message names the variable."""


class LocalServerError(ClaimsAskesError):
    """The embedded/local PostgreSQL server could not be initialised, started or reached."""


class UnknownIdentifierError(ClaimsAskesError):
    """A schema or table name that is not one of ours was about to reach SQL."""
