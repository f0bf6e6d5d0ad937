"""The JSON API against a real hub on an ephemeral port."""
