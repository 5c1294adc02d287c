"""Which vision patches reach the projector: the checkpoint's ``vision_feature_select_strategy``, applied
around transformers' native Aria.

The official GenS config class accepts two values and defaults to ``"default"`` when the key is absent:

* ``"full"``: every patch of the vision tower's last hidden state goes to the resampler (1225 for a 490-px
  frame with 14-px patches). Native Aria does exactly this.
* ``"default"``: the first patch is sliced off before the resampler (``[:, 1:]``), a habit from CLIP towers,
  whose position 0 is a CLS token. SigLIP has none, so a real patch (the top-left one) is dropped and the
  resampler attends over 1224 keys.

The vision tower itself always sees every patch. Native Aria has no such switch, so for ``"default"`` a
forward pre-hook on its projector drops the leading patch (and the matching column of an attention mask, when
one is passed) before the projector runs; the projector's patch → query table is keyed by the 1224 patches it
then receives. The hook is part of the model object, so ``sampler.model(...)`` called like any transformers
model computes what the official code computes.

A checkpoint converted by ``gens-tools convert`` records the strategy in its config; plain transformers, which
cannot apply the selection, then fails at the projector (no query count for 1225 patches) instead of silently
reading the wrong features.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Config key of the strategy (in the published config and in the converted marker).
STRATEGY_KEY = "vision_feature_select_strategy"
#: Leading patches each strategy drops before the projector.
FEATURE_STRATEGIES: Mapping[str, int] = {"full": 0, "default": 1}
#: The official config class's value when the key is absent.
OFFICIAL_DEFAULT_STRATEGY = "default"
#: Marker key under which converted configs record facts about their source (shared with ``_convert``).
CONVERTED_MARKER = "gens_tools_conversion"

_HOOK_ATTR = "_gens_tools_dropped_patches"


def strategy_problem(value: Any) -> str | None:
    """Why ``value`` is not a strategy the official code accepts (``None`` when it is)."""
    if isinstance(value, str) and value in FEATURE_STRATEGIES:
        return None
    return (
        f"{STRATEGY_KEY} is {value!r}; the official GenS config accepts only "
        f"{' or '.join(repr(k) for k in FEATURE_STRATEGIES)}"
    )


def source_strategy(config: Mapping[str, Any]) -> str:
    """The strategy of a published (yi_vl) config dict: its value, or the official default when absent.

    Raises:
        ValueError: a value the official code refuses too."""
    value = config.get(STRATEGY_KEY, OFFICIAL_DEFAULT_STRATEGY)
    problem = strategy_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return str(value)


def dropped_patches(strategy: str) -> int:
    """How many leading patches ``strategy`` slices off before the projector."""
    return FEATURE_STRATEGIES[strategy]


def model_strategy(config: Any) -> str:
    """The strategy a native Aria config was converted with: recorded in its conversion marker; ``"full"``
    for any other Aria config (native Aria drops no patch, and converted configs written before the marker
    recorded it could only be ``"full"``)."""
    marker = getattr(config, CONVERTED_MARKER, None)
    if isinstance(marker, Mapping):
        value = marker.get(STRATEGY_KEY, "full")
        if strategy_problem(value) is None:
            return str(value)
    return "full"


def apply_feature_strategy(model: Any) -> str:
    """Make ``model`` (an ``AriaForConditionalGeneration``) feed its projector the patches its checkpoint's
    strategy selects, and return the strategy. Safe to call again: the selection is installed once."""
    strategy = model_strategy(model.config)
    count = dropped_patches(strategy)
    projector = model.model.multi_modal_projector
    installed = getattr(projector, _HOOK_ATTR, 0)
    if installed == count:
        return strategy
    if installed:
        raise ValueError(f"the projector already drops {installed} patch(es); the checkpoint says {count}")
    projector.register_forward_pre_hook(_leading_patch_dropper(count), with_kwargs=True)
    setattr(projector, _HOOK_ATTR, count)
    return strategy


def _leading_patch_dropper(count: int) -> Any:
    """A projector pre-hook slicing ``count`` leading patches off its key/value states and attention mask."""

    def hook(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        values = list(args)
        if values:
            values[0] = values[0][:, count:]
        else:
            kwargs["key_value_states"] = kwargs["key_value_states"][:, count:]
        if len(values) > 1 and values[1] is not None:
            values[1] = values[1][:, count:]
        elif kwargs.get("attn_mask") is not None:
            kwargs["attn_mask"] = kwargs["attn_mask"][:, count:]
        return tuple(values), kwargs

    return hook
