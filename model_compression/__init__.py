"""model_compression."""
