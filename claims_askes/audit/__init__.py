"""The audit trail of a claim: versions merged from row audit, statement audit and the
versioned records (`trail.py`)."""
