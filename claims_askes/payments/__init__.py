"""Payments: batches, bank files, bank responses, remittance advice."""
