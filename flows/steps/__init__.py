"""Orchestration steps that more than one flow runs (not flows themselves): a flow imports
these, never another flow module."""
