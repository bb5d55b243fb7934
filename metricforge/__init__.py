"""metricforge."""
