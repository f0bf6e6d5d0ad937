"""Tests of the records core (hub/): domain rules, storage on both back ends, API, pages, CLI."""
