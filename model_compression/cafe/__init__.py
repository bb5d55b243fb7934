"""CAFE (SIGMOD 2024) embedding compression: the HotSketch that finds hot features to give own rows.

``HotSketch(buckets, slots, hot_rows, threshold).insert(ids, scores)`` reports promotions and
evictions; ``query(ids)`` gives each id's hot row or -1. ``ExactCounter`` is the exact reference.
"""
from model_compression.cafe.hotsketch import ExactCounter, HotSketch, InsertReport

__all__ = ["ExactCounter", "HotSketch", "InsertReport"]
