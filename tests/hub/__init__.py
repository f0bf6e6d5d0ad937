"""Tests of the records core (hub/): domain rules, storage on both back ends, the API, pages, CLI."""
