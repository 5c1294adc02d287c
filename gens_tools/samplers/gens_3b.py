"""GenS-3B (``yaolily/GenS-qwen2d5-vl-3b``, a fine-tuned Qwen2.5-VL-3B) run in-process with transformers.

Each window of up to 256 frames becomes one ChatML prompt::

    <|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n<|im_start|>user\\n
    [0]<|vision_start|><|image_pad|>…<|vision_end|>\\n[1]<|vision_start|>…<|vision_end|>\\n…
    Question: {question}\\n{GenS instruction}<|im_end|>\\n<|im_start|>assistant\\n

Frames are resized to 112×112 (16 visual tokens each after Qwen's 2×2 merge), the model answers greedily, and
its JSON goes through :func:`gens_tools.samplers._parser.parse_gens_output`. No official prompt was published
for the 3B model, so the Aria GenS prompt and ``[i]`` labels are used and every part is configurable.

Two input layouts (``input_layout``): ``"images"`` (above, the default) and ``"video"``, Qwen2.5-VL's own video
input: the window's frames as one video at the grid's frame rate (two frames per temporal patch, 8 visual
tokens a frame at 112×112, rotary positions spaced in time by ``second_per_grid_ts``), followed by
``Question: …`` and the GenS instruction; the answer's keys are then seconds from the window's start, mapped
back onto frames (:func:`gens_tools.samplers._local.qwen_video.seconds_to_frame_scores`). Its rotary
positions are computed as Qwen2.5-VL was released (:func:`gens_tools.samplers._local.qwen_video.video_positions`).

Prefix reuse: the tokens up to and including the last frame's ``<|vision_end|>`` do not depend on the
question. Their key/value cache (and rope deltas) is computed once per (video, window, model) and kept in a
:class:`~gens_tools.samplers._local.prefix_cache.PrefixCache`; each question then only runs its own few dozen tokens
and the answer. The cached state is copied before generating, so it stays reusable, and answers are the same
with and without reuse. The windows' vision-tower outputs are kept too, in a second, larger-lived cache (they
are ~13× smaller than the KV prefix), so a window whose KV prefix was evicted skips the vision tower.

Long videos: each window's pictures become pixel tensors only while its prefix is computed; answers are then
decoded for several windows in one batched ``generate`` call (as many as memory allows, see
:meth:`GenS3BSampler.auto_batch_size`), which is what remains to pay once prefixes are reused.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from gens_tools import _checks as checks
from gens_tools.errors import InvalidArgumentError, ModelUnavailableError, SamplerError
from gens_tools.progress import ProgressCallback
from gens_tools.samplers._base import Window, WindowScores
from gens_tools.samplers._local.base import LoadedModel, LoadPlan, LocalSampler, optional_cache
from gens_tools.samplers._local.device import require_transformers
from gens_tools.samplers._local.loading import guard_oom
from gens_tools.samplers._local.memory import check_fits, count_parameters, free_memory
from gens_tools.samplers._local.prefix_cache import (
    PrefixCache,
    PrefixState,
    prefix_key,
    tensor_bytes,
    window_video_key,
)
from gens_tools.samplers._local.qwen_video import (
    frames_to_video_patches,
    seconds_in_video,
    seconds_to_frame_scores,
    video_fps,
    video_positions,
)
from gens_tools.samplers._parser import ParsedOutput, parse_gens_output
from gens_tools.samplers._prompt import GENS_INSTRUCTION, build_prompt_text, validate_question
from gens_tools.samplers._registry import register_sampler

if TYPE_CHECKING:
    import torch
    from PIL import Image

#: Hub id of GenS-3B.
DEFAULT_MODEL_ID = "yaolily/GenS-qwen2d5-vl-3b"
#: Qwen2.5-VL's default system message (what its chat template adds when none is given).
DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant."
#: Frame size GenS-3B reads (width, height).
DEFAULT_FRAME_SIZE = (112, 112)
#: Most windows decoded together when ``batch_size="auto"`` (an hour at 1 fps is 15 windows).
MAX_AUTO_BATCH = 16

#: Bytes of vision features kept by default (an hour of GenS-3B windows in bf16 is ~240 MB).
DEFAULT_FEATURE_CACHE_BYTES = 1024**3

#: ``(n_items, question, marker) -> user message`` with ``n_items`` copies of ``marker``, each standing for one
#: frame (``input_layout="images"``) or for the whole video (``"video"``, ``n_items`` = 1). The pictures must
#: come before the question for the prefix to be reusable (when they do not, reuse simply never hits).
PromptBuilder = Callable[[int, str, str], str]
#: What the model reads a window as (its ``mm_encoder_outputs`` key).
InputKind = Literal["image", "video"]
#: The input layouts: one labelled image per frame, or the frames as one Qwen video.
InputLayout = Literal["images", "video"]
INPUT_LAYOUTS: tuple[InputLayout, ...] = ("images", "video")


def default_max_new_tokens(n_frames: int) -> int:
    """Tokens allowed for a window's answer: 64 plus 4 per frame, at most 1024.

    A GenS answer lists a few ranges (``"11-12": 5`` is ~6 tokens); 4 per frame leaves room for an answer
    listing every frame of a dense window, and 1024 is the ceiling the reference notes call safe for 256."""
    return min(1024, 64 + 4 * int(n_frames))


def gens_prompt_builder(instruction: str = GENS_INSTRUCTION) -> PromptBuilder:
    """The GenS user message: ``[i]<image>`` per frame, ``Question: …``, then ``instruction``."""

    def build(n_frames: int, question: str, image_token: str) -> str:
        return build_prompt_text(n_frames, question, image_token=image_token, instruction=instruction)

    return build


def gens_video_prompt_builder(instruction: str = GENS_INSTRUCTION) -> PromptBuilder:
    """The GenS user message for the video layout: the video, ``Question: …``, then ``instruction`` (whose
    "timestamps in seconds" are then seconds of the video)."""

    def build(n_items: int, question: str, video_token: str) -> str:
        if n_items != 1:
            raise InvalidArgumentError(f"the video layout holds one video, not {n_items}")
        return f"{video_token}Question: {validate_question(question)}\n{instruction}"

    return build


@dataclass(slots=True)
class _Prompt:
    ids: list[int]
    prefix_len: int
    key: tuple[str, int, str, str] | None
    n_frames: int
    feature_key: tuple[str, int, str, str] | None = None
    fps: float = 1.0


@dataclass(slots=True)
class _VisionFeatures:
    """A window's vision-tower outputs (one row per visual token, all frames concatenated) and its grid."""

    embeds: torch.Tensor
    grid: torch.Tensor
    merge: int
    modality: InputKind = "image"
    second_per_grid: torch.Tensor | None = None

    def as_encoder_output(self) -> Any:
        """The form Qwen2.5-VL's forward takes as precomputed ``mm_encoder_outputs[modality]``."""
        from transformers.modeling_outputs import BaseModelOutputWithPooling

        sizes = (self.grid.prod(-1) // self.merge**2).tolist()
        # Qwen2.5-VL's own get_image_features returns the per-image tuple here (typed as a tensor upstream)
        return BaseModelOutputWithPooling(pooler_output=tuple(self.embeds.split(sizes, dim=0)))  # type: ignore[arg-type]

    def nbytes(self) -> int:
        """Bytes of tensor storage held."""
        return tensor_bytes((self.embeds, self.grid))

    def grid_inputs(self) -> dict[str, torch.Tensor]:
        """The grid arguments of the model's forward for these features."""
        if self.modality == "image":
            return {"image_grid_thw": self.grid}
        inputs = {"video_grid_thw": self.grid}
        if self.second_per_grid is not None:
            inputs["second_per_grid_ts"] = self.second_per_grid
        return inputs


@dataclass(slots=True)
class _Pending:
    """A window whose prefix is ready and whose answer is still to be decoded."""

    window_index: int
    n_frames: int
    prompt: _Prompt
    state: PrefixState
    reused: bool
    prefix_seconds: float


@register_sampler("gens-3b", extra="local")
class GenS3BSampler(LocalSampler):
    """GenS-3B (Qwen2.5-VL-3B) scoring windows of frames in-process.

    Args:
        model: a hub id (default ``yaolily/GenS-qwen2d5-vl-3b``) or a local model folder.
        window_size: most frames per window (default 256, what GenS was trained with).
        max_new_tokens: answer length limit; default :func:`default_max_new_tokens` of the window.
        frame_size: ``(width, height)`` every frame is resized to (multiples of 28; default 112×112), or
            ``None`` to let the image processor pick its own resolution.
        system_prompt: the ChatML system message (``None`` or ``""`` for none).
        instruction: the instruction after the question (default the GenS one, byte-exact).
        prompt_builder: replaces the whole user message; see :data:`PromptBuilder`.
        input_layout: how a window's frames reach the model. ``"images"`` (default): one image per frame, each
            labelled ``[i]`` as in the GenS prompt the authors published (for the Aria model; no prompt was
            published for this one). ``"video"``: Qwen2.5-VL's own video input, the frames as one video at the
            grid's frame rate (half the visual tokens: two frames per temporal patch), the GenS instruction
            after it, and the answer's seconds mapped back onto frames. The default stays ``"images"``: it is
            the only layout GenS is documented with, its labels make every answer key a frame whatever the
            frame rate, and it needs no time-scale assumption; try ``"video"`` where memory is tight or if
            it scores better on your data.
        batch_size: windows answered together in one ``generate`` call; ``"auto"`` (default) fits them in
            half the free memory (GPU or host), see :meth:`auto_batch_size`.
        prefix_cache: a :class:`PrefixCache` to share, ``True`` for a private one (default), ``False`` to
            recompute the frame prefix for every question.
        feature_cache: where the windows' vision-tower outputs are kept (``True``: a private 1 GiB cache).
            They are ~13× smaller than the KV prefix, so they outlive it: a window whose KV prefix was
            evicted (or whose prompt text changed) skips the vision tower and only re-runs the prefill.
        generate_kwargs: extra arguments for ``generate`` (default: greedy decoding with the model's own
            generation config otherwise, e.g. its repetition penalty; pass ``{"repetition_penalty": 1.0}`` for
            plain greedy).
    """

    name: ClassVar[str] = "gens-3b"
    generative = True
    DEFAULT_MODEL_ID: ClassVar[str] = DEFAULT_MODEL_ID
    preferred_max_side: int | None = 224

    # ----------------------------------------------------------------------------------------------- setup
    def _configure(
        self,
        *,
        window_size: int = 256,
        max_new_tokens: int | None = None,
        frame_size: tuple[int, int] | None = DEFAULT_FRAME_SIZE,
        system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
        instruction: str = GENS_INSTRUCTION,
        prompt_builder: PromptBuilder | None = None,
        input_layout: InputLayout = "images",
        batch_size: int | Literal["auto"] = "auto",
        prefix_cache: PrefixCache | bool = True,
        feature_cache: PrefixCache | bool = True,
        generate_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.window_size = checks.positive_int("window_size", window_size)
        self.max_new_tokens = checks.optional_positive_int("max_new_tokens", max_new_tokens)
        self.batch_size = batch_size if batch_size == "auto" else checks.positive_int("batch_size", batch_size)
        if frame_size is not None:
            if not isinstance(frame_size, tuple | list) or len(frame_size) != 2:
                raise InvalidArgumentError(f"frame_size must be (width, height) or None, got {frame_size!r}")
            frame_size = (
                checks.positive_int("frame_size", frame_size[0]),
                checks.positive_int("frame_size", frame_size[1]),
            )
        self.frame_size = frame_size
        self.system_prompt = system_prompt
        self.instruction = instruction
        self.input_layout: InputLayout = checks.choice("input_layout", input_layout, INPUT_LAYOUTS)
        default_builder = gens_video_prompt_builder if self.input_layout == "video" else gens_prompt_builder
        self.prompt_builder: PromptBuilder = prompt_builder or default_builder(instruction)
        extra = dict(generate_kwargs or {})
        reserved = {"input_ids", "attention_mask", "cache", "past_key_values", "max_new_tokens"} & set(extra)
        if reserved:
            raise InvalidArgumentError(f"generate_kwargs may not set {', '.join(sorted(reserved))}")
        self._custom_eos = extra.pop("eos_token_id", None)
        self.generate_kwargs = extra
        self.prefix_cache = optional_cache(prefix_cache)
        self.feature_cache = optional_cache(feature_cache, DEFAULT_FEATURE_CACHE_BYTES)

    def _load(self, plan: LoadPlan, model_id: str, progress: ProgressCallback | None) -> LoadedModel:
        transformers, path = plan.transformers, plan.path
        try:
            config = transformers.AutoConfig.from_pretrained(path)
        except (OSError, ValueError) as exc:
            raise ModelUnavailableError(f"cannot read the config of {model_id!r}: {exc}") from exc
        if getattr(config, "model_type", None) != "qwen2_5_vl":
            raise InvalidArgumentError(
                f"{model_id!r} is a {getattr(config, 'model_type', 'unknown')!r} model, not Qwen2.5-VL: "
                "the gens-3b sampler needs GenS-3B (yaolily/GenS-qwen2d5-vl-3b); for the Aria-based GenS "
                "use the 'gens' sampler"
            )
        n_params = count_parameters(transformers.Qwen2_5_VLForConditionalGeneration, config)
        check_fits("GenS-3B", n_params, plan.dtype, plan.device)
        try:
            net = transformers.Qwen2_5_VLForConditionalGeneration.from_pretrained(
                path, dtype=plan.dtype, attn_implementation=plan.attn_implementation
            )
            tokenizer = transformers.AutoTokenizer.from_pretrained(path)
            image_processor = load_qwen_image_processor(path)
        except (OSError, ValueError) as exc:
            raise ModelUnavailableError(
                f"model {model_id!r} at {str(path)!r} cannot be loaded ({exc}); download it again "
                f"(`hf download {model_id}`) or pass a complete folder"
            ) from exc
        return LoadedModel(net.to(plan.device).eval(), tokenizer, image_processor, model_id)

    def _attach(self, loaded: LoadedModel) -> None:
        model, tokenizer = loaded.model, loaded.tokenizer
        config = model.config
        vision = config.vision_config
        factor = int(vision.patch_size) * int(vision.spatial_merge_size)
        if self.frame_size is not None and any(v % factor for v in self.frame_size):
            raise InvalidArgumentError(
                f"frame_size must be (width, height) in positive multiples of {factor}, got {self.frame_size!r}"
            )
        self._factor = factor
        self._merge = int(vision.spatial_merge_size)
        self._image_token_id = int(config.image_token_id)
        self._video_token_id = int(config.video_token_id)
        self._temporal_patch = int(vision.temporal_patch_size)
        self._patch = int(vision.patch_size)
        self._vision_end_id = int(config.vision_end_token_id)
        self._image_token = tokenizer.convert_ids_to_tokens(self._image_token_id)
        self._video_token = tokenizer.convert_ids_to_tokens(self._video_token_id)
        self._vision_start = tokenizer.convert_ids_to_tokens(int(config.vision_start_token_id))
        self._vision_end = tokenizer.convert_ids_to_tokens(self._vision_end_id)
        eos: list[int] = []
        for token in ("<|im_end|>", "<|endoftext|>"):
            tid = tokenizer.convert_tokens_to_ids(token)
            if isinstance(tid, int) and tid != tokenizer.unk_token_id and tid not in eos:
                eos.append(tid)
        gen_eos = getattr(model.generation_config, "eos_token_id", None)
        for tid in gen_eos if isinstance(gen_eos, list) else [gen_eos]:
            if isinstance(tid, int) and tid not in eos:
                eos.append(tid)
        custom = self._custom_eos
        if custom is not None:
            eos = [int(t) for t in (custom if isinstance(custom, list | tuple) else [custom])]
        self._eos_ids = eos
        pad = tokenizer.pad_token_id
        self._pad_id = int(pad) if pad is not None else (eos[-1] if eos else 0)
        self._max_positions = int(getattr(config.text_config, "max_position_embeddings", 32768))

    def _caches(self) -> tuple[PrefixCache | None, ...]:
        return (self.prefix_cache, self.feature_cache)

    # ------------------------------------------------------------------------------------------- prompts
    def tokens_per_frame(self, image: Image.Image | None = None) -> int:
        """Visual tokens one frame becomes (16 at 112×112)."""
        if self.frame_size is not None:
            w, h = self.frame_size
        elif image is not None:
            w, h = image.size
            patches = self.image_processor.get_number_of_image_patches(h, w, {})
            return int(patches) // (self._merge**2)
        else:
            raise InvalidArgumentError("tokens_per_frame needs an image when frame_size is None")
        return (w // self._factor) * (h // self._factor)

    def video_tokens(self, n_frames: int, tokens_per_frame: int) -> int:
        """Visual tokens of ``n_frames`` frames read as one video: one temporal patch per two frames (the
        last one padded), each as many tokens as one frame (8 a frame at 112×112)."""
        return -(-n_frames // self._temporal_patch) * tokens_per_frame

    def build_prompt(self, n_frames: int, question: str, tokens_per_frame: Sequence[int] | int) -> str:
        """The full ChatML prompt text of a window, with each frame's image tokens (or, in the video layout,
        the video's tokens) expanded."""
        counts = [tokens_per_frame] * n_frames if isinstance(tokens_per_frame, int) else list(tokens_per_frame)
        if len(counts) != n_frames:
            raise InvalidArgumentError("one token count per frame is needed")
        token = self._image_token
        if self.input_layout == "video":
            if len(set(counts)) > 1:
                raise InvalidArgumentError("the frames of a window read as one video must all have the same size")
            counts, token = [self.video_tokens(n_frames, counts[0])], self._video_token
        marker = "\x00GENS_IMAGE\x00"
        user = self.prompt_builder(len(counts), validate_question(question), marker)
        if user.count(marker) != len(counts):
            what = "videos for 1 video" if self.input_layout == "video" else f"images for {n_frames} frames"
            raise InvalidArgumentError(f"the prompt builder placed {user.count(marker)} {what}")
        pieces = user.split(marker)
        body = pieces[0]
        for count, piece in zip(counts, pieces[1:], strict=True):
            body += self._vision_start + token * count + self._vision_end + piece
        head = ""
        if self.system_prompt:
            head = f"<|im_start|>system\n{self.system_prompt}<|im_end|>\n"
        return f"{head}<|im_start|>user\n{body}<|im_end|>\n<|im_start|>assistant\n"

    def _prompt(self, window: Window, question: str) -> _Prompt:
        images = [frame.require_image() for frame in window.frames]
        counts = [self.tokens_per_frame(img) for img in images]
        text = self.build_prompt(len(images), question, counts)
        ids: list[int] = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        last_end = max((i for i, t in enumerate(ids) if t == self._vision_end_id), default=-1)
        if last_end < 0:
            raise SamplerError("the prompt holds no image: cannot score the window")
        prefix_len = last_end + 1
        fps = video_fps([frame.timestamp for frame in window.frames]) if self.input_layout == "video" else 1.0
        key = feature_key = None
        if any(c is not None and c.enabled for c in (self.prefix_cache, self.feature_cache)):
            video_key = window_video_key(window)
            frames = f"{len(images)}:{window.start:.3f}-{window.end:.3f}:{self.frame_size}:{self.input_layout}:{fps:g}"
            digest = hashlib.blake2b(repr(ids[:prefix_len]).encode(), digest_size=12).hexdigest()
            key = prefix_key(str(video_key), window.index, self.model_id, f"{frames}:{digest}")
            feature_key = prefix_key(str(video_key), window.index, self.model_id, f"{frames}:vision")
        return _Prompt(ids, prefix_len, key, len(images), feature_key, fps)

    def preprocess(self, images: Sequence[Image.Image]) -> dict[str, torch.Tensor]:
        """Pixel tensors of a window: ``pixel_values`` ``(patches, 3·2·14·14)`` and ``image_grid_thw``."""
        from PIL import Image as PILImage

        rgb = [img.convert("RGB") if img.mode != "RGB" else img for img in images]
        kwargs: dict[str, Any] = {}
        if self.frame_size is not None:
            rgb = [
                img if img.size == self.frame_size else img.resize(self.frame_size, PILImage.Resampling.BICUBIC)
                for img in rgb
            ]
            area = self.frame_size[0] * self.frame_size[1]
            kwargs["size"] = {"shortest_edge": area, "longest_edge": area}
        out = self.image_processor(images=rgb, return_tensors="pt", **kwargs)
        return {"pixel_values": out["pixel_values"], "image_grid_thw": out["image_grid_thw"]}

    def preprocess_video(self, images: Sequence[Image.Image], fps: float) -> dict[str, torch.Tensor]:
        """The frames as one Qwen video at ``fps``: ``pixel_values_videos`` ``(groups·patches, 3·2·14·14)``,
        ``video_grid_thw`` ``[[groups, h, w]]`` and ``second_per_grid_ts`` ``[2 / fps]``, built from the image
        processor's per-frame patches exactly as Qwen's video processor builds them (see
        :mod:`gens_tools.samplers._local.qwen_video`; that processor needs torchvision)."""
        torch = self._torch
        stills = self.preprocess(images)
        grids = stills["image_grid_thw"]
        if bool((grids != grids[0]).any()):
            raise InvalidArgumentError("the frames of a window read as one video must all have the same size")
        patches, groups = frames_to_video_patches(
            stills["pixel_values"], len(images), temporal_patch_size=self._temporal_patch, patch_size=self._patch
        )
        grid = torch.tensor([[groups, int(grids[0][1]), int(grids[0][2])]])
        return {
            "pixel_values_videos": patches,
            "video_grid_thw": grid,
            "second_per_grid_ts": torch.tensor([self._temporal_patch / fps]),
        }

    def video_position_ids(self, ids: Sequence[int], features: _VisionFeatures) -> tuple[torch.Tensor, int]:
        """The rotary positions ``(3, len(ids))`` of a video prompt and their continuation offset."""
        spg = features.second_per_grid
        return video_positions(
            ids,
            self._video_token_id,
            [int(v) for v in features.grid[0]],
            second_per_grid=float(spg[0]) if spg is not None else 1.0,
            tokens_per_second=float(self.model.config.vision_config.tokens_per_second),
            merge_size=self._merge,
        )

    def mm_token_types(self, ids: torch.Tensor) -> torch.Tensor:
        """Each position's modality as Qwen2.5-VL's rotary positions read it: 0 text, 1 image, 2 video."""
        return (ids == self._image_token_id).int() + 2 * (ids == self._video_token_id).int()

    # ----------------------------------------------------------------------------------------- prefix
    def _compute_prefix(self, window: Window, prompt: _Prompt) -> PrefixState:
        torch = self._torch
        from transformers import DynamicCache

        features = self._vision_features(window, prompt)
        ids = torch.tensor([prompt.ids[: prompt.prefix_len]], device=self._device)
        cache = DynamicCache(config=self.model.config)
        self.model.model.rope_deltas = None
        positions: dict[str, Any] = {}
        if features.modality == "video":  # as Qwen2.5-VL was trained (see qwen_video.video_positions)
            video_ids, delta = self.video_position_ids(prompt.ids[: prompt.prefix_len], features)
            positions["position_ids"] = video_ids.unsqueeze(1).to(self._device)
        with torch.inference_mode():
            self.model(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                mm_encoder_outputs={features.modality: features.as_encoder_output()},
                mm_token_type_ids=self.mm_token_types(ids),
                **features.grid_inputs(),
                **positions,
                cache=cache,
                use_cache=True,
                logits_to_keep=1,
            )
        if positions:
            self.model.model.rope_deltas = torch.tensor([[delta]], device=self._device)
        rope_deltas = self.model.model.rope_deltas
        if rope_deltas is None:  # pragma: no cover - transformers changed how it tracks mrope positions
            raise SamplerError("this transformers version did not report Qwen2.5-VL rope deltas")
        return PrefixState(
            input_ids=tuple(prompt.ids[: prompt.prefix_len]),
            past_key_values=cache,
            extras={"rope_deltas": rope_deltas.detach().clone()},
        )

    def _vision_features(self, window: Window, prompt: _Prompt) -> _VisionFeatures:
        """The window's merged vision-tower outputs: from the feature cache, or computed from its pixels."""
        torch = self._torch
        cache = self.feature_cache
        if cache is not None and prompt.feature_key is not None:
            cached: _VisionFeatures | None = cache.get(prompt.feature_key)
            if cached is not None:
                return cached
        images = [frame.require_image() for frame in window.frames]
        if self.input_layout == "video":
            video = self.preprocess_video(images, prompt.fps)
            grid = video["video_grid_thw"].to(self._device)
            with torch.inference_mode():
                out = self.model.model.get_video_features(
                    video["pixel_values_videos"].to(self._device, self._dtype), grid
                )
            features = _VisionFeatures(
                torch.cat(list(out.pooler_output), dim=0),
                grid,
                self._merge,
                "video",
                video["second_per_grid_ts"].to(self._device),
            )
            del video, out
        else:
            pixels = self.preprocess(images)
            grid = pixels["image_grid_thw"].to(self._device)
            with torch.inference_mode():
                out = self.model.model.get_image_features(pixels["pixel_values"].to(self._device, self._dtype), grid)
            features = _VisionFeatures(torch.cat(list(out.pooler_output), dim=0), grid, self._merge)
            del pixels, out
        if cache is not None and prompt.feature_key is not None:
            cache.put(prompt.feature_key, features)
        return features

    def _prefix_state(self, window: Window, prompt: _Prompt) -> tuple[PrefixState, bool]:
        cache = self.prefix_cache
        if cache is not None and prompt.key is not None:
            state = cache.get(prompt.key)
            if state is not None and list(state.input_ids) == prompt.ids[: prompt.prefix_len]:
                return state, True
        state = self._compute_prefix(window, prompt)
        if cache is not None and prompt.key is not None:
            cache.put(prompt.key, state)
        return state, False

    # --------------------------------------------------------------------------------------- generation
    def _batch_cache(self, states: Sequence[PrefixState], width: int) -> Any:
        """A fresh KV cache for a batch: each row's prefix left-padded with zeros to ``width`` tokens (the
        padding is masked out). The cached prefixes themselves are never modified."""
        torch = self._torch
        from transformers import DynamicCache

        layers = [list(s.past_key_values.layers) for s in states]
        data = []
        for per_layer in zip(*layers, strict=True):
            keys, values = [], []
            for layer in per_layer:
                k, v = layer.keys, layer.values
                pad = width - k.shape[-2]
                if pad:
                    k = torch.nn.functional.pad(k, (0, 0, pad, 0))
                    v = torch.nn.functional.pad(v, (0, 0, pad, 0))
                keys.append(k)
                values.append(v)
            data.append((torch.cat(keys, dim=0), torch.cat(values, dim=0)))
        return DynamicCache(ddp_cache_data=data, config=self.model.config)

    def _generate(self, prompts: Sequence[_Prompt], states: Sequence[PrefixState]) -> list[tuple[list[int], bool]]:
        torch = self._torch
        width = max(s.length for s in states)
        rows, masks = [], []
        for prompt, state in zip(prompts, states, strict=True):
            pad = width - state.length
            rows.append([self._pad_id] * pad + prompt.ids)
            masks.append([0] * pad + [1] * len(prompt.ids))
        total = len(rows[0])
        if any(len(r) != total for r in rows):
            raise SamplerError("windows decoded together need question suffixes of the same length")
        input_ids = torch.tensor(rows, device=self._device)
        attention_mask = torch.tensor(masks, device=self._device)
        budget = self.max_new_tokens or default_max_new_tokens(max(p.n_frames for p in prompts))
        if total + budget > self._max_positions:
            raise InvalidArgumentError(
                f"a window's prompt is {total} tokens, plus {budget} to answer, beyond the model's "
                f"{self._max_positions}: use a smaller window_size"
            )
        self.model.model.rope_deltas = torch.cat([s.extras["rope_deltas"] for s in states], dim=0).to(self._device)
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=input_ids,
                attention_mask=attention_mask,
                cache=self._batch_cache(states, width),
                **{
                    "do_sample": False,
                    "num_beams": 1,
                    "eos_token_id": self._eos_ids,
                    "pad_token_id": self._pad_id,
                    **self.generate_kwargs,
                    "max_new_tokens": budget,
                },
            )
        self.model.model.rope_deltas = None
        results = []
        for row in out[:, total:].tolist():
            finished = False
            tokens: list[int] = []
            for tid in row:
                if tid in self._eos_ids:
                    finished = True
                    break
                tokens.append(tid)
            results.append((tokens, finished))
        return results

    def _prepare(self, window: Window, question: str) -> _Pending:
        """Build the window's prompt and get its frame prefix (computed now, or reused). After this the
        window's pictures are no longer needed: only the prefix state is kept until the batch is decoded."""
        t0 = time.perf_counter()
        prompt = self._prompt(window, question)
        with guard_oom(len(window)):
            state, hit = self._prefix_state(window, prompt)
        return _Pending(window.index, len(window), prompt, state, hit, time.perf_counter() - t0)

    def _decode(self, pending: Sequence[_Pending]) -> list[WindowScores]:
        """Answer the question for prepared windows in one batched generate call (per suffix length)."""
        t0 = time.perf_counter()
        outputs: list[tuple[list[int], bool]] = [([], False)] * len(pending)
        # Rows of one generate call share the suffix length (true for one question unless a custom prompt
        # builder varies the text after the frames); group them otherwise.
        groups: dict[int, list[int]] = {}
        for i, item in enumerate(pending):
            groups.setdefault(len(item.prompt.ids) - item.prompt.prefix_len, []).append(i)
        with guard_oom(max(item.n_frames for item in pending), batch_size=len(pending)):
            for members in groups.values():
                group_out = self._generate([pending[i].prompt for i in members], [pending[i].state for i in members])
                for i, out in zip(members, group_out, strict=True):
                    outputs[i] = out
        decode_seconds = time.perf_counter() - t0
        results = []
        for item, (tokens, finished) in zip(pending, outputs, strict=True):
            text = self.tokenizer.decode(tokens, skip_special_tokens=True)
            parsed = self.read_answer(text, item.n_frames, item.prompt.fps)
            usage = {
                "prompt_tokens": len(item.prompt.ids),
                "prefix_tokens": item.prompt.prefix_len,
                "completion_tokens": len(tokens) + (1 if finished else 0),
                "prefix_reused": item.reused,
                "batch_size": len(pending),
                "prefix_seconds": item.prefix_seconds,
                "decode_seconds": decode_seconds,
            }
            result = parsed.to_window_scores(item.window_index, raw_output=text, usage=usage)
            if not finished:
                limit = self.max_new_tokens or default_max_new_tokens(item.n_frames)
                result.issues.append(f"the answer was cut at max_new_tokens={limit}")
                result.repaired = True
            results.append(result)
        return results

    def read_answer(self, text: str, n_frames: int, fps: float = 1.0) -> ParsedOutput:
        """A window's answer as per-frame scores: its keys are frame labels in the images layout, seconds of
        the video (at ``fps`` frames a second) in the video layout."""
        if self.input_layout != "video":
            return parse_gens_output(text, n_frames)
        parsed = parse_gens_output(text, seconds_in_video(n_frames, fps))
        if parsed.scores is not None:
            parsed.scores = seconds_to_frame_scores(parsed.scores, n_frames, fps)
        return parsed

    # ---------------------------------------------------------------------------------------- interface
    def score_window(self, window: Window, question: str) -> WindowScores:
        """Score one window's frames for ``question`` (frame prefix reused when cached)."""
        question = validate_question(question)
        self._check_window(window)
        with self._lock:
            return self._decode([self._prepare(window, question)])[0]

    def auto_batch_size(self) -> int:
        """Windows answered together in one ``generate`` call.

        Decoding is the cost that remains once frame prefixes are reused, and one batched call reads the
        weights once per step for every window in it. ``"auto"`` fits as many full windows' KV caches as half
        the free memory allows (each counted twice: the cached prefix and the padded copy being decoded), at
        most :data:`MAX_AUTO_BATCH`."""
        if self.batch_size != "auto":
            return int(self.batch_size)
        text = self.model.config.text_config
        head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
        per_token = 2 * text.num_hidden_layers * text.num_key_value_heads * head_dim * self._dtype.itemsize
        if not self.frame_size:
            tokens = 32768
        elif self.input_layout == "video":
            tokens = self.video_tokens(self.window_size, self.tokens_per_frame()) + 64
        else:
            tokens = self.window_size * (self.tokens_per_frame() + 8)
        free = free_memory(self._device)
        if free is None:
            return 1
        return max(1, min(MAX_AUTO_BATCH, int(free * 0.5) // max(1, int(2 * per_token * tokens))))

    def _score_stream(
        self, windows: Iterable[Window], question: str, note: Callable[[str], None]
    ) -> Iterator[WindowScores]:
        """Each window's frame prefix is prepared as it arrives (its pictures and pixel tensors are then
        dropped: one window's pixels in memory at a time); the answers are decoded ``batch_size`` windows at a
        time. While prefixes are prepared, ``note`` says which window's frames were encoded or reused."""
        question = validate_question(question)
        size = self.auto_batch_size()
        pending: list[_Pending] = []
        for window in windows:
            self._check_window(window)
            with self._lock:
                item = self._prepare(window, question)
            pending.append(item)
            note(f"window {window.index}: frames {'reused' if item.reused else 'encoded'}")
            del window
            if len(pending) >= size:
                yield from self._decode_locked(pending)
                pending = []
        if pending:
            yield from self._decode_locked(pending)

    def _decode_locked(self, pending: Sequence[_Pending]) -> list[WindowScores]:
        with self._lock:
            return self._decode(pending)

    def save_pretrained(self, folder: str | os.PathLike[str]) -> Path:
        """Write the model, tokenizer and image processor to ``folder`` (loadable with ``GenS3BSampler(folder)``)."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(out)
        self.tokenizer.save_pretrained(out)
        self.image_processor.save_pretrained(out)
        return out


def load_qwen_image_processor(path: str | os.PathLike[str]) -> Any:
    """The Qwen2-VL image processor saved in ``path``.

    ``AutoProcessor`` cannot be used without torchvision (it needs a video processor, and silently returns
    only the tokenizer), so the image processor is loaded on its own: the torchvision-backed class when
    available, else the PIL one. Both read the same ``preprocessor_config.json``."""
    require_transformers()
    from transformers import AutoImageProcessor

    try:
        processor = AutoImageProcessor.from_pretrained(path)
    except (OSError, ValueError, ImportError):
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

        processor = Qwen2VLImageProcessorPil.from_pretrained(path)
    if not hasattr(processor, "merge_size"):
        raise ModelUnavailableError(f"{os.fspath(path)!r} has no Qwen2-VL image processor (preprocessor_config.json)")
    return processor
