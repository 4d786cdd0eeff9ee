"""Reports people read: the claims dashboard."""
