"""Connections per service role, the embedded local server, named SQL files, DataFrame I/O and
migrations. Imports only core and schemas."""
