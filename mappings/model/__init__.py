"""Canonical records beyond the skeleton's Customer and Invoice: one small module per family.

Every record carries `id` (stable canonical id, see ids.canonical_id) and `ids` (its id in each system).
"""
