"""Tests of hub.services pieces that need no database (scope ranges, join tokens, limiter)."""
