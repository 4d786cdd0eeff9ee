DROP TABLE IF EXISTS archive.claim_payment, archive.claim_note, archive.claim_status_history,
    archive.claim_document, archive.claim_item, archive.claim;
