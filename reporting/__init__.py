"""Helpers the study reports share (model_compression, data_efficiency): figure panels, JSON-safe
copies of results, mean and spread over seeds. Imports nothing else of metricforge."""
