-- name: register_batch_run
-- Registers the current transaction as a write of this batch run (statement audit of the
-- tables audit.statement_audit names, for this transaction only); returns the
-- registration's id. Parameters: flow_run_id, flow_name.
SELECT common.register_batch_run(%(flow_run_id)s::uuid, %(flow_name)s::text) AS batch_run_id
