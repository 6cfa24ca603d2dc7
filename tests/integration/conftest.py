"""The real broker (Tansu) + real Faust worker stack most stream tests use; a module that needs other
settings defines its own ``stack``."""
import pytest

from tests.integration.stream_harness import Stack


@pytest.fixture
def stack(settings, tsur_env):
    st = Stack(settings, {**tsur_env, "TSUR_SINK_BATCH_SIZE": "250", "TSUR_SINK_BATCH_SECONDS": "0.2"})
    st.migrate()
    st.start_broker()
    yield st
    st.stop()
