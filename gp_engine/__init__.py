"""gp_engine."""
