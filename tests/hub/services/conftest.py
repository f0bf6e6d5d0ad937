"""The storage tests' migrated database and office tree, for services that keep records."""

from tests.hub.storage.conftest import db, tree  # noqa: F401 (fixtures, re-exported)
