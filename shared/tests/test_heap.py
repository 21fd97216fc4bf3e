"""A started service hides what it loaded from the garbage collector and collects young objects less often."""

import gc

import pytest

from hub_shared.service import YOUNG_COLLECTION_EVERY, settle_heap


@pytest.fixture
def heap():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_what_was_loaded_is_frozen_and_young_collections_are_rarer(heap):
    loaded = [{"unit": n} for n in range(1000)]  # stands for the mappings and schemas a service holds from its start
    older = gc.get_threshold()[1:]
    settle_heap()
    assert gc.get_freeze_count() >= len(loaded)
    assert gc.get_threshold() == (YOUNG_COLLECTION_EVERY, *older)
    assert not any(entry is loaded for entry in gc.get_objects())  # no longer among the objects a collection walks
