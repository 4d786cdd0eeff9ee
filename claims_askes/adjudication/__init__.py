"""Claim adjudication: the rules as pure functions over pandas DataFrames (no database, no
Prefect), and the two places a person meets them, `overrides` (a reviewer's decision on a
line) and `eob` (the explanation of benefits), which read and write through the claims
service's own connection.

``adjudicate`` is the vectorised engine the batch flow calls; ``EngineInput`` / ``EngineResult``
are its frame contract (see :mod:`claims_askes.adjudication.frames`); the line-by-line oracle
it is tested against lives in :mod:`claims_askes.adjudication.reference`;
``invalid_claim_details`` says in words why R1 rejects a line (for the rejection notes);
``roll_up_claims`` rolls claims up again from lines decided otherwise (overrides).
"""

from __future__ import annotations

from claims_askes.adjudication.engine import adjudicate, roll_up_claims
from claims_askes.adjudication.explain import invalid_claim_details
from claims_askes.adjudication.frames import EngineInput, EngineResult

__all__ = ["EngineInput", "EngineResult", "adjudicate", "invalid_claim_details", "roll_up_claims"]
