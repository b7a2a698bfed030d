"""Loading models quietly, without taking over the caller's progress-bar settings."""

from __future__ import annotations

import io

import pytest

from assistant.embeddings import quiet_weight_loading

from .conftest import import_resource


@pytest.fixture
def transformers_logging():
    return import_resource(
        "transformers.utils.logging", "transformers, the embedding model's library, is not installed: pip install -e ."
    )


def test_bars_drawn_during_a_load_are_silent_and_the_callers_hook_comes_back(transformers_logging):
    seen = []

    def callers_hook(factory, args, kwargs):
        seen.append(kwargs.get("desc"))
        return factory(*args, **kwargs)

    previous = transformers_logging.set_tqdm_hook(callers_hook)
    try:
        enabled = transformers_logging.is_progress_bar_enabled()
        with quiet_weight_loading():
            screen = io.StringIO()
            for _ in transformers_logging.tqdm(range(3), desc="Loading weights", file=screen):
                pass
            assert screen.getvalue() == ""
        assert seen == []
        transformers_logging.tqdm(range(1), desc="after", file=io.StringIO()).close()
        assert seen == ["after"]
        assert transformers_logging.is_progress_bar_enabled() == enabled
    finally:
        transformers_logging.set_tqdm_hook(previous)
