"""Eligibility as pure functions over pandas DataFrames (no database, no Prefect): the rules
of a member's eligibility as of a date (:mod:`claims_askes.eligibility.rules`) and the data
faults of coverages (:mod:`claims_askes.eligibility.faults`)."""
