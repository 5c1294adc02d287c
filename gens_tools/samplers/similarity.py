"""The similarity baseline: score each frame by image–text similarity with CLIP or SigLIP.

This is the baseline the GenS paper compares against: embed every frame and the question with a contrastive
image–text model (through transformers' ``AutoModel``), and rank frames by cosine similarity. It reads each
frame on its own, so it cannot follow time ("right after the dog jumps") — which is GenS's point.

Mapping onto GenS's 0–5 scale: score = 5 · σ(s · (cos − c)), i.e. five times the probability that the frame
matches the text.

* SigLIP was trained with exactly this sigmoid, so ``s`` and ``c`` are the model's own ``exp(logit_scale)``
  and ``−logit_bias / exp(logit_scale)``: the score is the model's calibrated match probability × 5.
* CLIP was trained with a softmax, which fixes no absolute reference point; ``s`` is its ``exp(logit_scale)``
  (100) and ``c`` defaults to 0.2, a cosine between what OpenAI CLIP gives unrelated (~0.1–0.15) and matching
  (~0.3) image–caption pairs. Pass ``center`` to change it.

The mapping is the same monotone function for every frame of every window, so frames keep their cosine
ranking across windows. Questions are not captions: absolute scores are often low, and only the ranking is
meant to be used. ``min_score`` (default 0) sets scores below it to 0 ("not listed").

Frame embeddings do not depend on the question, so they are kept per (video, window, model) and reused by
later questions about the same video.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from gens_tools import _checks as checks
from gens_tools.errors import InvalidArgumentError, ModelUnavailableError, SamplerError
from gens_tools.progress import ProgressCallback
from gens_tools.samplers._base import Window, WindowScores
from gens_tools.samplers._local.base import LoadedModel, LoadPlan, LocalSampler, optional_cache
from gens_tools.samplers._local.loading import guard_oom
from gens_tools.samplers._local.prefix_cache import PrefixCache, prefix_key, window_video_key
from gens_tools.samplers._prompt import validate_question
from gens_tools.samplers._registry import register_sampler

if TYPE_CHECKING:
    import torch
    from PIL import Image
    from torch import Tensor

#: Default model: SigLIP base (sigmoid-calibrated, 224 px).
DEFAULT_MODEL_ID = "google/siglip-base-patch16-224"
#: CLIP's default reference cosine (score 2.5); see the module docstring.
DEFAULT_CLIP_CENTER = 0.2
#: Bytes of frame embeddings kept for reuse across questions by default.
DEFAULT_EMBEDDING_CACHE_BYTES = 256 * 1024**2


@register_sampler("similarity", extra="local")
class SimilaritySampler(LocalSampler):
    """Frame relevance by CLIP/SigLIP image–text similarity (the paper's baseline).

    Args:
        model: a hub id (default ``google/siglip-base-patch16-224``) or a local folder of a CLIP- or SigLIP-like
            model whose ``AutoModel`` has ``get_image_features`` and ``get_text_features``.
        window_size: frames per window (any size works; 256 keeps windows aligned with GenS).
        batch_size: frames embedded per forward pass.
        center: the cosine that maps to score 2.5 (default: from the model, see the module docstring).
        scale: the steepness of the similarity → score mapping (default: the model's own logit scale).
        min_score: scores below this become 0.
        embedding_cache: a :class:`PrefixCache` to share, ``True`` for a private one (default) or ``False``.
    """

    name: ClassVar[str] = "similarity"
    DEFAULT_MODEL_ID: ClassVar[str] = DEFAULT_MODEL_ID
    preferred_max_side: int | None = 224

    def _configure(
        self,
        *,
        window_size: int = 256,
        batch_size: int = 64,
        center: float | None = None,
        scale: float | None = None,
        min_score: float = 0.0,
        embedding_cache: PrefixCache | bool = True,
    ) -> None:
        self.window_size = checks.positive_int("window_size", window_size)
        self.batch_size = checks.positive_int("batch_size", batch_size)
        self._center = None if center is None else checks.finite_number("center", center)
        self._scale = checks.optional_positive_number("scale", scale)
        self.min_score = checks.number_in_range("min_score", min_score, 0, 5)
        self.embedding_cache = optional_cache(embedding_cache, DEFAULT_EMBEDDING_CACHE_BYTES)

    def _load(self, plan: LoadPlan, model_id: str, progress: ProgressCallback | None) -> LoadedModel:
        transformers, path = plan.transformers, plan.path
        try:
            net = transformers.AutoModel.from_pretrained(
                path, dtype=plan.dtype, attn_implementation=plan.attn_implementation
            )
            tokenizer = transformers.AutoTokenizer.from_pretrained(path)
            image_processor = transformers.AutoImageProcessor.from_pretrained(path)
        except (OSError, ValueError) as exc:
            raise ModelUnavailableError(
                f"cannot load the similarity model {model_id!r} from {str(path)!r}: {exc}"
            ) from exc
        return LoadedModel(net.to(plan.device).eval(), tokenizer, image_processor, model_id)

    def _attach(self, loaded: LoadedModel) -> None:
        model = loaded.model
        if not (hasattr(model, "get_image_features") and hasattr(model, "get_text_features")):
            raise InvalidArgumentError(
                f"{loaded.model_id!r} ({type(model).__name__}) is not an image–text model: it needs "
                "get_image_features and get_text_features (use a CLIP or SigLIP model)"
            )
        log_scale = getattr(model, "logit_scale", None)
        own_scale = float(log_scale.detach().float().exp().item()) if log_scale is not None else 100.0
        bias = getattr(model, "logit_bias", None)
        center = self._center
        if center is None:
            center = -float(bias.detach().float().item()) / own_scale if bias is not None else DEFAULT_CLIP_CENTER
        self.center = checks.finite_number("center", center)
        self.scale = own_scale if self._scale is None else self._scale
        model_type = str(getattr(model.config, "model_type", ""))
        text_config = getattr(model.config, "text_config", model.config)
        self._max_text = int(getattr(text_config, "max_position_embeddings", 77))
        # SigLIP was trained on text padded to its full length; CLIP on the text up to its end token.
        self._pad_to_max = model_type.startswith("siglip")

    def _caches(self) -> tuple[PrefixCache | None, ...]:
        return (self.embedding_cache,)

    # ------------------------------------------------------------------------------------------ embeddings
    @staticmethod
    def _features(output: Any) -> torch.Tensor:
        # transformers 5 returns a model output whose pooler_output is the projected embedding; 4.x a tensor.
        result = getattr(output, "pooler_output", None) if not hasattr(output, "shape") else output
        if result is None:
            raise SamplerError("the similarity model returned no embeddings")
        tensor: torch.Tensor = result
        return tensor

    def embed_text(self, question: str) -> torch.Tensor:
        """The unit-length text embedding of ``question`` (1-D, float32)."""
        torch = self._torch
        question = validate_question(question)
        padding: str | bool = "max_length" if self._pad_to_max else True
        tokens = self.tokenizer(
            [question], padding=padding, truncation=True, max_length=self._max_text, return_tensors="pt"
        )
        tokens = {k: v.to(self._device) for k, v in tokens.items() if k in ("input_ids", "attention_mask")}
        if self._pad_to_max:
            tokens.pop("attention_mask", None)  # SigLIP's text tower attends over its padding, as trained
        with torch.inference_mode():
            emb = self._features(self.model.get_text_features(**tokens))[0].float()
        unit: Tensor = emb / emb.norm().clamp_min(1e-12)
        return unit

    def embed_images(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """Unit-length image embeddings ``(len(images), dim)`` in float32, ``batch_size`` frames at a time."""
        torch = self._torch
        chunks = []
        for start in range(0, len(images), self.batch_size):
            chunk = images[start : start + self.batch_size]
            batch = [img.convert("RGB") if img.mode != "RGB" else img for img in chunk]
            inputs = self.image_processor(images=batch, return_tensors="pt")
            inputs = {k: v.to(self._device) for k, v in inputs.items()}
            inputs["pixel_values"] = inputs["pixel_values"].to(self._dtype)
            with torch.inference_mode():
                emb = self._features(self.model.get_image_features(**inputs)).float()
            chunks.append(emb / emb.norm(dim=-1, keepdim=True).clamp_min(1e-12))
        embeddings: Tensor = torch.cat(chunks, dim=0)
        return embeddings

    def _window_embeddings(self, window: Window) -> torch.Tensor:
        images = [frame.require_image() for frame in window.frames]
        key = None
        if self.embedding_cache is not None:
            fingerprint = f"{len(images)}:{window.start:.3f}-{window.end:.3f}"
            key = prefix_key(window_video_key(window), window.index, self.model_id, fingerprint)
            cached: torch.Tensor | None = self.embedding_cache.get(key)
            if cached is not None:
                return cached
        emb = self.embed_images(images)
        if key is not None and self.embedding_cache is not None:
            self.embedding_cache.put(key, emb)
        return emb

    def scores_from_cosine(self, cosine: torch.Tensor) -> list[float]:
        """Map cosine similarities onto the 0–5 scale (see the module docstring)."""
        torch = self._torch
        probs = torch.sigmoid(self.scale * (cosine.float() - self.center))
        values = (5.0 * probs).tolist()
        return [v if v >= self.min_score else 0.0 for v in values]

    # ---------------------------------------------------------------------------------------- interface
    def score_window(self, window: Window, question: str) -> WindowScores:
        """Score every frame of ``window`` by its similarity to ``question``."""
        question = validate_question(question)
        self._check_window(window)
        with self._lock, guard_oom(len(window)):
            images = self._window_embeddings(window)
            text = self.embed_text(question)
            cosine = images @ text
        return WindowScores(
            window_index=window.index,
            scores=self.scores_from_cosine(cosine),
            usage={"cosine_min": float(cosine.min()), "cosine_max": float(cosine.max())},
        )
