"""The demo: deterministic Indonesian demo data and the main job that runs every flow on it."""
