"""The in-process samplers call transformers without deprecated arguments (transformers 5.24 renamed
``past_key_values=`` to ``cache=`` and announced the old name's removal: 5.40 for ``forward``, 6.0 for
``generate``), so a transformers upgrade within the supported range cannot break them."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from gens_tools.samplers.gens_3b import GenS3BSampler
from gens_tools.samplers.gens_aria import GenSAriaSampler
from gens_tools.testing import tiny_aria, tiny_qwen
from tests.samplers.gens_3b.conftest import make_window


@pytest.fixture(scope="module")
def qwen() -> tuple[Any, Any, Any]:
    tokenizer = tiny_qwen.build_qwen_tokenizer()
    return tiny_qwen.build_qwen_model(tokenizer), tokenizer, tiny_qwen.build_qwen_image_processor()


def test_gens_3b_uses_no_deprecated_transformers_argument(qwen: tuple[Any, Any, Any]) -> None:
    sampler = GenS3BSampler.from_components(*qwen, max_new_tokens=4, batch_size=2)
    windows = [make_window(3, index=0, seed=1), make_window(2, index=1, seed=2)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        warnings.simplefilter("error", DeprecationWarning)
        first = list(sampler.score_windows(windows, "What is the man holding?"))  # prefixes computed
        again = list(sampler.score_windows(windows, "Who opens the door?"))  # prefixes reused, batched
    assert [r.usage["prefix_reused"] for r in first + again] == [False, False, True, True]


def test_gens_aria_uses_no_deprecated_transformers_argument() -> None:
    cfg = tiny_aria.yi_vl_config(len(tiny_aria.build_tokenizer()))
    model = tiny_aria.native_model(cfg, tiny_aria.yi_vl_state_dict(cfg, seed=0))
    tokenizer = tiny_aria.build_tokenizer()
    reuse = GenSAriaSampler.from_components(model, tokenizer, max_new_tokens=2)
    batched = GenSAriaSampler.from_components(model, tokenizer, max_new_tokens=2, reuse_prefix=False, batch_size=2)
    windows = [tiny_aria.window(2, index=0), tiny_aria.window(2, index=1, start=2.0, seed=1)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        warnings.simplefilter("error", DeprecationWarning)
        results = [reuse.score_window(windows[0], q).usage["prefix_reused"] for q in ("a?", "b?")]
        list(batched.score_windows(windows, "a?"))
    assert results == [False, True]
