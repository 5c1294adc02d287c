"""Loading published-layout GenS checkpoints the way the official code does, checked against an independent
re-implementation of the official forward (:mod:`.official`): each ``vision_feature_select_strategy`` (and a
missing key), the checkpoint's ``generation_config.json``, and ``.bin`` weights. Same logits, same greedy
tokens, through the model the sampler exposes and through the sampler's own answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from gens_tools.errors import ModelUnavailableError
from gens_tools.samplers.gens_aria import GenSAriaSampler
from gens_tools.samplers.gens_aria._convert import aria_config_from_yi_vl, convert_checkpoint, convert_state_dict
from gens_tools.samplers.gens_aria._inputs import build_window_ids, preprocess_frames
from gens_tools.testing import tiny_aria

from .official import official_greedy, official_logits

Q = "What is the man holding?"
STEPS = 8
KEY = "vision_feature_select_strategy"
#: Each case: the config's value (``None``: key absent) and the strategy the official code then applies.
STRATEGIES = {"full": ("full", "full"), "default": ("default", "default"), "missing": (None, "default")}


def _config(tokenizer: Any, value: str | None) -> dict[str, Any]:
    cfg = tiny_aria.yi_vl_config(len(tokenizer))
    if value is None:
        del cfg[KEY]
    else:
        cfg[KEY] = value
    return cfg


@pytest.fixture(scope="module")
def weights(tokenizer: Any) -> dict[str, torch.Tensor]:
    return tiny_aria.yi_vl_state_dict(tiny_aria.yi_vl_config(len(tokenizer)), seed=3)


@pytest.fixture(scope="module")
def pixels() -> torch.Tensor:
    """The two frames of ``tiny_aria.window(2)``, preprocessed as the sampler does."""
    return preprocess_frames([tiny_aria.picture(i) for i in range(2)])


def _stops(tokenizer: Any) -> tuple[int, ...]:
    return (tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|im_end|>"))


def assert_same_logits(logits: torch.Tensor, reference: torch.Tensor) -> None:
    """Equal up to float32 reordering: within 1e-5 of the largest logit (|logits| reach ~23 here)."""
    assert logits.shape == reference.shape
    torch.testing.assert_close(logits, reference, rtol=1e-5, atol=1e-5 * float(reference.abs().max()))


def _ids(tokenizer: Any, per_image: int) -> list[int]:
    return build_window_ids(tokenizer, 2, Q, tokens_per_image=per_image).input_ids


@pytest.fixture(scope="module", params=list(STRATEGIES))
def case(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    tokenizer: Any,
    weights: dict[str, torch.Tensor],
) -> tuple[str, dict[str, Any], Path]:
    """(expected strategy, config, yi_vl folder) for each way a checkpoint can state its strategy."""
    value, expected = STRATEGIES[request.param]
    cfg = _config(tokenizer, value)
    folder = tiny_aria.write_yi_vl_checkpoint(tmp_path_factory.mktemp(request.param) / "GenS", cfg, weights, tokenizer)
    return expected, cfg, folder


@torch.no_grad()
def test_the_exposed_model_computes_the_official_logits(
    case: tuple[str, dict[str, Any], Path], tokenizer: Any, weights: dict[str, torch.Tensor], pixels: torch.Tensor
) -> None:
    expected, cfg, folder = case
    sampler = GenSAriaSampler(str(folder), device="cpu")
    assert sampler.vision_feature_select_strategy == expected
    native_ids = torch.tensor([_ids(tokenizer, sampler.tokens_per_image)])
    # called like any transformers model, with no pixel mask: the checkpoint's strategy still applies
    logits = sampler.model(input_ids=native_ids, pixel_values=pixels, pixel_mask=None).logits
    reference = official_logits(_ids(tokenizer, 1), pixels, weights, cfg)
    assert_same_logits(logits, reference)


@torch.no_grad()
def test_the_sampler_generates_the_official_greedy_tokens(
    case: tuple[str, dict[str, Any], Path], tokenizer: Any, weights: dict[str, torch.Tensor], pixels: torch.Tensor
) -> None:
    _expected, cfg, folder = case
    sampler = GenSAriaSampler(str(folder), device="cpu", max_new_tokens=STEPS)
    reference = official_greedy(_ids(tokenizer, 1), pixels, weights, cfg, steps=STEPS, stop=_stops(tokenizer))
    assert len(reference) >= 4  # a real continuation, not an immediate stop
    native_ids = torch.tensor([_ids(tokenizer, sampler.tokens_per_image)])
    out = sampler.model.generate(
        input_ids=native_ids,
        pixel_values=pixels,
        pixel_mask=None,
        max_new_tokens=STEPS,
        do_sample=False,
        eos_token_id=list(_stops(tokenizer)),
    )
    assert out[0, native_ids.shape[1] :].tolist()[: len(reference)] == reference
    answer = sampler.score_window(tiny_aria.window(2), Q)
    assert answer.raw_output == tokenizer.decode(reference, skip_special_tokens=True).strip()
    assert answer.usage["completion_tokens"] == len(reference)


@torch.no_grad()
def test_the_strategies_really_differ(tokenizer: Any, weights: dict[str, torch.Tensor], pixels: torch.Tensor) -> None:
    """Dropping the first patch changes the features (so the tests above can tell the strategies apart)."""
    full = official_logits(_ids(tokenizer, 1), pixels, weights, _config(tokenizer, "full"))
    default = official_logits(_ids(tokenizer, 1), pixels, weights, _config(tokenizer, "default"))
    assert (full - default).abs().max() > 1e-2


@torch.no_grad()
def test_a_model_built_by_hand_gets_the_strategy_from_components(
    tokenizer: Any, weights: dict[str, torch.Tensor], pixels: torch.Tensor
) -> None:
    """A native Aria built from the converted config and state dict without gens-tools' loader: wrapping it
    in the sampler applies the strategy its config records."""
    from transformers import AriaForConditionalGeneration

    cfg = _config(tokenizer, "default")
    model = AriaForConditionalGeneration(aria_config_from_yi_vl(cfg))
    model.load_state_dict(convert_state_dict(weights, cfg), strict=True)
    sampler = GenSAriaSampler.from_components(model.eval(), tokenizer)
    assert sampler.model is model
    again = GenSAriaSampler.from_components(model, tokenizer)  # applied once, not twice
    assert again.vision_feature_select_strategy == "default"
    logits = model(input_ids=torch.tensor([_ids(tokenizer, sampler.tokens_per_image)]), pixel_values=pixels).logits
    assert_same_logits(logits, official_logits(_ids(tokenizer, 1), pixels, weights, cfg))


@torch.no_grad()
def test_a_converted_default_checkpoint_keeps_its_strategy(
    tmp_path: Path, tokenizer: Any, weights: dict[str, torch.Tensor], pixels: torch.Tensor
) -> None:
    """`gens-tools convert` records the strategy: gens-tools applies it when loading the converted folder,
    and plain transformers, which cannot, fails at the projector instead of reading the wrong features."""
    from transformers import AriaForConditionalGeneration

    cfg = _config(tokenizer, None)
    source = tiny_aria.write_yi_vl_checkpoint(tmp_path / "GenS", cfg, weights, tokenizer)
    native = convert_checkpoint(source, tmp_path / "native")
    marker = json.loads((native / "config.json").read_text())["gens_tools_conversion"]
    assert marker[KEY] == "default"
    sampler = GenSAriaSampler(str(native), device="cpu")
    ids = torch.tensor([_ids(tokenizer, sampler.tokens_per_image)])
    reference = official_logits(_ids(tokenizer, 1), pixels, weights, cfg)
    assert_same_logits(sampler.model(input_ids=ids, pixel_values=pixels).logits, reference)
    plain = AriaForConditionalGeneration.from_pretrained(str(native)).eval()
    with pytest.raises(KeyError, match="196"):
        plain(input_ids=ids, pixel_values=pixels)


def test_the_padding_mask_option_still_runs_under_the_default_strategy(case: tuple[str, dict[str, Any], Path]) -> None:
    """The official code has no pixel-mask path for ``default``; ours drops the mask's first patch with the
    features, so the opt-in mask works with either strategy."""
    _expected, _cfg, folder = case
    sampler = GenSAriaSampler(str(folder), device="cpu", max_new_tokens=2, use_pixel_mask=True)
    assert sampler.score_window(tiny_aria.window(2), Q).usage["completion_tokens"] > 0


# ---------------------------------------------------------------------------------- generation config


@pytest.mark.parametrize(
    "generation_config",
    [
        {"repetition_penalty": 1.8},
        # sampling settings in the file do not turn greedy decoding off (the official call is greedy too)
        {"repetition_penalty": 1.8, "do_sample": True, "temperature": 5.0, "top_k": 50},
    ],
)
@torch.no_grad()
def test_the_checkpoint_generation_config_is_honoured(
    tmp_path: Path,
    tokenizer: Any,
    weights: dict[str, torch.Tensor],
    pixels: torch.Tensor,
    generation_config: dict[str, Any],
) -> None:
    cfg = _config(tokenizer, "default")
    folder = tiny_aria.write_yi_vl_checkpoint(
        tmp_path / "GenS", cfg, weights, tokenizer, generation_config=generation_config
    )
    sampler = GenSAriaSampler(str(folder), device="cpu", max_new_tokens=STEPS)
    assert sampler.model.generation_config.repetition_penalty == 1.8
    official_ids = _ids(tokenizer, 1)
    penalised = official_greedy(
        official_ids, pixels, weights, cfg, steps=STEPS, stop=_stops(tokenizer), repetition_penalty=1.8
    )
    plain = official_greedy(official_ids, pixels, weights, cfg, steps=STEPS, stop=_stops(tokenizer))
    assert penalised != plain  # the penalty matters for this model and prompt
    for _ in range(2):  # greedy: the same answer every time
        answer = sampler.score_window(tiny_aria.window(2, video_key=None), Q)
        assert answer.raw_output == tokenizer.decode(penalised, skip_special_tokens=True).strip()


# ---------------------------------------------------------------------------------------- .bin weights


@pytest.mark.parametrize("layout", ["bin", "bin-single"])
@torch.no_grad()
def test_pytorch_bin_weights_load(
    tmp_path: Path, tokenizer: Any, weights: dict[str, torch.Tensor], pixels: torch.Tensor, layout: str
) -> None:
    cfg = _config(tokenizer, "full")
    folder = tiny_aria.write_yi_vl_checkpoint(tmp_path / "GenS", cfg, weights, tokenizer, weights=layout)
    assert not list(folder.glob("*.safetensors"))
    assert (folder / "pytorch_model.bin.index.json").is_file() == (layout == "bin")
    sampler = GenSAriaSampler(str(folder), device="cpu")
    ids = torch.tensor([_ids(tokenizer, sampler.tokens_per_image)])
    assert_same_logits(
        sampler.model(input_ids=ids, pixel_values=pixels).logits,
        official_logits(_ids(tokenizer, 1), pixels, weights, cfg),
    )
    converted = convert_checkpoint(folder, tmp_path / "native")  # conversion reads .bin too, writes safetensors
    assert list(converted.glob("*.safetensors"))


class _Tripwire:
    """Unpickling this would run code: it would create the file named in its state."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (Path.write_text, (Path(self.path), "unpickled"))  # type: ignore[return-value]


def test_a_bin_file_with_code_is_refused_unread(
    tmp_path: Path, tokenizer: Any, weights: dict[str, torch.Tensor]
) -> None:
    cfg = _config(tokenizer, "full")
    folder = tiny_aria.write_yi_vl_checkpoint(tmp_path / "GenS", cfg, weights, tokenizer, weights="bin-single")
    tripwire = tmp_path / "tripwire.txt"
    state = torch.load(folder / "pytorch_model.bin", weights_only=True)
    state["payload"] = _Tripwire(str(tripwire))
    torch.save(state, folder / "pytorch_model.bin")
    with pytest.raises(ModelUnavailableError, match="weights_only"):
        GenSAriaSampler(str(folder), device="cpu")
    assert not tripwire.exists()
