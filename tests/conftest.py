import os

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Each test gets its own OVERTHINK_HOME unless it relies on the prepared embedded model (see local_home)."""
    if "OVERTHINK_TEST_KEEP_HOME" not in os.environ:
        monkeypatch.setenv("OVERTHINK_HOME", str(tmp_path_factory.mktemp("home")))


