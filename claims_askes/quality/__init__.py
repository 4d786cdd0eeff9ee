"""Great Expectations checkpoints at the flows' boundaries: a failed checkpoint stops the
write, never the truth."""
