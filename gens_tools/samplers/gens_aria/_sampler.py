"""GenS (``yaolily/GenS``, Aria-based, 25 B MoE) run in-process on transformers' native Aria.

The published checkpoint uses its authors' custom "yi_vl" classes; :func:`load_gens_model` remaps it onto
``AriaForConditionalGeneration`` while reading it (see :mod:`gens_tools.samplers.gens_aria._convert`), or loads a
checkpoint already converted with ``gens-tools convert``, applying the checkpoint's vision feature strategy,
tokenizer and generation settings as the official loader does (:mod:`gens_tools.samplers.gens_aria._loading`).
The input is built exactly as the official code builds it (:mod:`gens_tools.samplers.gens_aria._inputs`),
decoding is greedy, and the answer goes through the GenS output parser. Because the frames come before the
question, the key/value cache over a window's frames is kept (bounded, per video, window and model) and reused
when another question about the same window comes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self

from gens_tools import _checks as checks
from gens_tools.errors import InvalidArgumentError
from gens_tools.progress import ProgressCallback
from gens_tools.samplers._base import Window, WindowScores
from gens_tools.samplers._local.base import LoadedModel, LoadPlan, LocalSampler
from gens_tools.samplers._local.loading import guard_oom
from gens_tools.samplers._local.prefix_cache import DEFAULT_MAX_BYTES, PrefixCache, PrefixState, prefix_key
from gens_tools.samplers._parser import parse_gens_output
from gens_tools.samplers._prompt import validate_question
from gens_tools.samplers._registry import register_sampler
from gens_tools.samplers.gens_aria._convert import GENS_MODEL_ID, UnsupportedCheckpointError
from gens_tools.samplers.gens_aria._features import apply_feature_strategy
from gens_tools.samplers.gens_aria._inputs import (
    GENS_IMAGE_SIZE,
    IMAGE_TOKEN_ID,
    WindowInputs,
    answer_text,
    build_window_ids,
    make_image_processor,
    preprocess_frames,
)
from gens_tools.samplers.gens_aria._loading import load_gens_model, load_tokenizer, tokens_per_image

if TYPE_CHECKING:
    pass

#: Most frames GenS reads in one window.
MAX_WINDOW_SIZE = 256
#: Bounds of the default generation budget (the official code uses 256; long windows need more).
MIN_NEW_TOKENS = 256
MAX_NEW_TOKENS = 1024
#: Share of the GPU memory left free after loading that the prefix cache may use by default.
GPU_PREFIX_SHARE = 0.25


def default_max_new_tokens(n_frames: int) -> int:
    """Generation budget for a window of ``n_frames``: 256 (the official value) for short windows, growing
    by 3 tokens a frame (room to list scattered frames one by one) up to 1024."""
    return max(MIN_NEW_TOKENS, min(MAX_NEW_TOKENS, 128 + 3 * int(n_frames)))


# ------------------------------------------------------------------------------------------- sampler


@register_sampler("gens", extra="local")
class GenSAriaSampler(LocalSampler):
    """GenS (Aria-based) scoring windows of up to 256 frames in-process.

    Loaded as the official code loads it: the checkpoint's ``vision_feature_select_strategy`` (``self.model``
    applies it however it is called), its slow sentencepiece tokenizer when ``sentencepiece`` is installed,
    and its ``generation_config.json`` (e.g. a repetition penalty). Decoding is always greedy, with a budget of
    :func:`default_max_new_tokens` (the official code: 256) and ``<|im_end|>`` as an extra stop token.

    Args:
        model: hub id (default ``yaolily/GenS``) or local folder, either the published yi_vl checkpoint
            (remapped onto native Aria while loading; safetensors or ``.bin`` weights) or one written by
            ``gens-tools convert``.
        progress: called with ``open`` events as each weight shard loads.
        window_size: frames per window (at most 256).
        max_new_tokens: generation budget per window (default grows with the window, 256 to 1024).
        reuse_prefix: keep the KV cache of each window's frames to answer later questions faster.
        prefix_cache: a :class:`~gens_tools.samplers._local.prefix_cache.PrefixCache` to share, or a byte bound for a
            new one (default: a quarter of the GPU memory left after loading; 4 GiB on CPU).
        batch_size: windows generated together when prefixes are not reused (``reuse_prefix=False``).
        use_pixel_mask: pass the padding mask to the vision tower (the official code does not; off). Under the
            ``default`` feature strategy the mask loses its first patch with the features.

    Raises:
        ModelUnavailableError: weights missing locally and not downloadable (offline), with how to get them.
        SamplerError: the weights do not fit in the memory free on the device (the message gives the figures).
        UnsupportedCheckpointError: a checkpoint whose config breaks the exact Aria mapping.
        BackendUnavailableError: torch/transformers not installed.
    """

    name: ClassVar[str] = "gens"
    generative = True
    DEFAULT_MODEL_ID: ClassVar[str] = GENS_MODEL_ID
    window_size: int = MAX_WINDOW_SIZE
    preferred_max_side: int | None = GENS_IMAGE_SIZE

    def _configure(
        self,
        *,
        window_size: int = MAX_WINDOW_SIZE,
        max_new_tokens: int | None = None,
        reuse_prefix: bool = True,
        prefix_cache: PrefixCache | int | None = None,
        batch_size: int = 1,
        use_pixel_mask: bool = False,
    ) -> None:
        self.window_size = checks.positive_int("window_size", window_size, maximum=MAX_WINDOW_SIZE)
        self.max_new_tokens = checks.optional_positive_int("max_new_tokens", max_new_tokens)
        self.batch_size = checks.positive_int("batch_size", batch_size)
        self.reuse_prefix = bool(reuse_prefix)
        self.use_pixel_mask = bool(use_pixel_mask)
        if prefix_cache is not None and not isinstance(prefix_cache, PrefixCache):
            checks.non_negative_int("prefix_cache", prefix_cache)
        self._prefix_cache_option = prefix_cache

    def _load(self, plan: LoadPlan, model_id: str, progress: ProgressCallback | None) -> LoadedModel:
        tokenizer = load_tokenizer(plan.path)  # cheap: fail before loading 51 GB of weights
        model, facts = load_gens_model(
            plan.path,
            device=plan.device,
            dtype=plan.dtype,
            attn_implementation=plan.attn_implementation,
            progress=progress,
        )
        return LoadedModel(model, tokenizer, make_image_processor(), model_id, facts)

    @classmethod
    def from_components(
        cls,
        model: Any,
        tokenizer: Any,
        image_processor: Any = None,
        *,
        model_id: str | None = None,
        use_image_start_end: bool = True,
        **options: Any,
    ) -> Self:
        """Build the sampler around an already loaded ``AriaForConditionalGeneration`` and its tokenizer.

        ``image_processor`` may be an ``AriaProcessor`` (its image processor is used) or an Aria image
        processor; default the PIL Aria image processor at 490 px. ``model_id`` names the model in prefix-cache
        keys (default ``"custom-aria"``); ``use_image_start_end`` whether images are written
        ``<fim_prefix><|img|><fim_suffix>`` (the published checkpoint's setting). Other options as in the
        constructor."""
        processor = getattr(image_processor, "image_processor", image_processor)
        if processor is None:
            processor = make_image_processor()
        facts = {"use_image_start_end": use_image_start_end}
        loaded = LoadedModel(model.eval(), tokenizer, processor, model_id or "custom-aria", facts)
        self = cls._from_loaded(loaded, options)
        size_conversion = getattr(image_processor, "size_conversion", None)
        mapped = size_conversion.get(GENS_IMAGE_SIZE) if isinstance(size_conversion, dict) else None
        if mapped is not None and mapped != self.tokens_per_image:
            raise UnsupportedCheckpointError(
                f"the processor maps {GENS_IMAGE_SIZE}-px images to {mapped} tokens, "
                f"the model's projector to {self.tokens_per_image}"
            )
        return self

    def _attach(self, loaded: LoadedModel) -> None:
        self.use_image_start_end = bool(loaded.facts.get("use_image_start_end", True))
        self.image_token_id = int(getattr(self.model.config, "image_token_id", None) or IMAGE_TOKEN_ID)
        self.vision_feature_select_strategy = apply_feature_strategy(self.model)
        self.tokens_per_image = tokens_per_image(self.model.config)
        self.prefix_cache = self._make_prefix_cache(self._prefix_cache_option)
        self._stop_ids = self._find_stop_ids()

    def _caches(self) -> tuple[PrefixCache | None, ...]:
        return (self.prefix_cache,)

    # ----------------------------------------------------------------------------------- helpers

    def _make_prefix_cache(self, prefix_cache: PrefixCache | int | None) -> PrefixCache:
        if isinstance(prefix_cache, PrefixCache):
            return prefix_cache
        if prefix_cache is not None:
            return PrefixCache(max_bytes=prefix_cache)
        if self.device.type == "cuda":
            free, _total = self._torch.cuda.mem_get_info(self.device)
            return PrefixCache(max_bytes=int(free * GPU_PREFIX_SHARE))
        return PrefixCache(max_bytes=DEFAULT_MAX_BYTES)

    def _find_stop_ids(self) -> list[int]:
        ids: list[int] = []
        config = self.model.config
        for source in (getattr(self.model, "generation_config", None), config, getattr(config, "text_config", None)):
            eos = getattr(source, "eos_token_id", None)
            ids.extend(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        if self.tokenizer.eos_token_id is not None:
            ids.append(int(self.tokenizer.eos_token_id))
        im_end = self.tokenizer.convert_tokens_to_ids("<|im_end|>")
        if isinstance(im_end, int) and im_end != self.tokenizer.unk_token_id:
            ids.append(im_end)
        return sorted({int(i) for i in ids})

    def _budget(self, n_frames: int) -> int:
        return self.max_new_tokens if self.max_new_tokens is not None else default_max_new_tokens(n_frames)

    def _generation_config(self, n_frames: int) -> Any:
        from transformers import GenerationConfig

        return GenerationConfig(
            max_new_tokens=self._budget(n_frames),
            do_sample=False,
            num_beams=1,
            eos_token_id=self._stop_ids or None,
            pad_token_id=self.tokenizer.pad_token_id,
        )

    def _images(self, window: Window) -> list[Any]:
        try:
            return [frame.require_image() for frame in window.frames]
        except ValueError as exc:
            raise InvalidArgumentError(f"window {window.index}: {exc}; GenS needs the frame images") from exc

    def _pixels(self, window: Window) -> tuple[Any, Any]:
        images = self._images(window)
        if self.use_pixel_mask:
            values, mask = preprocess_frames(images, self.image_processor, return_pixel_mask=True)
            return values, mask
        return preprocess_frames(images, self.image_processor), None

    def _window_ids(self, window: Window, question: str) -> WindowInputs:
        self._check_window(window)
        return build_window_ids(
            self.tokenizer,
            len(window),
            question,
            tokens_per_image=self.tokens_per_image,
            use_image_start_end=self.use_image_start_end,
            image_token_id=self.image_token_id,
        )

    def _prefix_key(self, window: Window) -> tuple[str, int, str, str] | None:
        video_key = getattr(window, "video_key", None)
        if not self.reuse_prefix or not self.prefix_cache.enabled or video_key is None:
            return None
        fingerprint = f"{len(window)}:{window.start:.3f}:{window.end:.3f}:{self.use_pixel_mask}"
        return prefix_key(str(video_key), window.index, self.model_id, fingerprint)

    def _kv_bytes(self, n_tokens: int) -> int:
        text = self.model.config.text_config
        head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
        per_token = 2 * text.num_hidden_layers * text.num_key_value_heads * head_dim
        return int(n_tokens * per_token * next(self.model.parameters()).element_size())

    def _decode(self, new_tokens: Sequence[int]) -> tuple[str, int]:
        tokens = list(new_tokens)
        for i, tok in enumerate(tokens):
            if tok in self._stop_ids:
                tokens = tokens[:i]
                break
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        return answer_text(text), len(tokens)

    def _result(self, window: Window, answer: str, usage: dict[str, Any]) -> WindowScores:
        parsed = parse_gens_output(answer, len(window))
        return parsed.to_window_scores(window.index, raw_output=answer, usage=usage)

    # ------------------------------------------------------------------------------------ scoring

    def score_window(self, window: Window, question: str) -> WindowScores:
        """Score one window: build the official input, generate greedily, parse the JSON answer.

        A window whose answer cannot be read comes back unscored (``scores is None``) with the raw text."""
        import torch

        question = validate_question(question)
        inputs = self._window_ids(window, question)
        key = self._prefix_key(window)
        started = time.perf_counter()
        with self._lock, torch.inference_mode(), guard_oom(len(window)):
            self._check_open()
            state: PrefixState | None = None
            reused = False
            if key is not None and self._kv_bytes(inputs.prefix_length) <= self.prefix_cache.max_bytes:
                state = self.prefix_cache.get(key)
                if state is not None and list(state.input_ids) != inputs.prefix_ids:
                    state = None
                reused = state is not None
                if state is None:
                    state = self._compute_prefix(window, inputs)
                    self.prefix_cache.put(key, state)
            new_tokens = self._generate_one(window, inputs, state)
        answer, n_new = self._decode(new_tokens)
        usage = {
            "prompt_tokens": len(inputs.input_ids),
            "completion_tokens": n_new,
            "prefix_tokens": inputs.prefix_length,
            "prefix_reused": reused,
            "seconds": round(time.perf_counter() - started, 4),
        }
        return self._result(window, answer, usage)

    def _compute_prefix(self, window: Window, inputs: WindowInputs) -> PrefixState:
        import torch

        pixel_values, pixel_mask = self._pixels(window)
        ids = torch.tensor([inputs.prefix_ids], device=self.device)
        out = self.model(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            pixel_values=pixel_values.to(self.device, self.model.dtype),
            pixel_mask=None if pixel_mask is None else pixel_mask.to(self.device),
            use_cache=True,
            logits_to_keep=1,
        )
        return PrefixState(input_ids=tuple(inputs.prefix_ids), past_key_values=out.cache)

    def _generate_one(self, window: Window, inputs: WindowInputs, state: PrefixState | None) -> list[int]:
        import torch
        from transformers import DynamicCache

        ids = torch.tensor([inputs.input_ids], device=self.device)
        kwargs: dict[str, Any] = {"attention_mask": torch.ones_like(ids)}
        if state is not None:
            # generation appends to the cache: hand it a copy so the stored prefix stays as it is
            kwargs["cache"] = DynamicCache(
                ddp_cache_data=[(layer.keys, layer.values) for layer in state.past_key_values.layers]
            )
        else:
            pixel_values, pixel_mask = self._pixels(window)
            kwargs["pixel_values"] = pixel_values.to(self.device, self.model.dtype)
            if pixel_mask is not None:
                kwargs["pixel_mask"] = pixel_mask.to(self.device)
        out = self.model.generate(input_ids=ids, generation_config=self._generation_config(len(window)), **kwargs)
        new_tokens: list[int] = out[0, ids.shape[1] :].tolist()
        return new_tokens

    def _score_stream(
        self, windows: Iterable[Window], question: str, note: Callable[[str], None]
    ) -> Iterator[WindowScores]:
        """With ``batch_size > 1`` and prefix reuse off, up to ``batch_size`` windows are generated together
        (left-padded); pixel tensors are built for those windows only, never for the whole video."""
        if self.batch_size <= 1 or self.reuse_prefix:
            yield from super()._score_stream(windows, question, note)
            return
        question = validate_question(question)
        group: list[Window] = []
        for window in windows:
            group.append(window)
            if len(group) == self.batch_size:
                yield from self._score_batch(group, question)
                group = []
        if group:
            yield from self._score_batch(group, question)

    def _score_batch(self, windows: Sequence[Window], question: str) -> list[WindowScores]:
        import torch

        if len(windows) == 1:
            return [self.score_window(windows[0], question)]
        started = time.perf_counter()
        inputs = [self._window_ids(w, question) for w in windows]
        longest = max(len(x.input_ids) for x in inputs)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        rows = [[pad] * (longest - len(x.input_ids)) + x.input_ids for x in inputs]
        mask = [[0] * (longest - len(x.input_ids)) + [1] * len(x.input_ids) for x in inputs]
        largest = max(len(w) for w in windows)
        with self._lock, torch.inference_mode(), guard_oom(largest, batch_size=len(windows)):
            self._check_open()
            pixels = [self._pixels(w) for w in windows]
            kwargs: dict[str, Any] = {
                "pixel_values": torch.cat([p[0] for p in pixels]).to(self.device, self.model.dtype),
            }
            if self.use_pixel_mask:
                kwargs["pixel_mask"] = torch.cat([p[1] for p in pixels]).to(self.device)
            ids = torch.tensor(rows, device=self.device)
            out = self.model.generate(
                input_ids=ids,
                attention_mask=torch.tensor(mask, device=self.device),
                generation_config=self._generation_config(largest),
                **kwargs,
            )
        seconds = round(time.perf_counter() - started, 4)
        results = []
        for row, (window, x) in enumerate(zip(windows, inputs, strict=True)):
            answer, n_new = self._decode(out[row, longest:].tolist())
            usage = {
                "prompt_tokens": len(x.input_ids),
                "completion_tokens": n_new,
                "prefix_tokens": x.prefix_length,
                "prefix_reused": False,
                "batch_size": len(windows),
                "seconds": seconds,
            }
            results.append(self._result(window, answer, usage))
        return results
