"""Every test runs hermetically: no Hugging Face downloads, an empty Hugging Face cache (so what a developer
has cached never changes which sampler ``auto`` picks), and no served GenS from the environment."""

from __future__ import annotations

import os
import sys
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.pop("GENS_TOOLS_GENS_URL", None)
os.environ.pop("GENS_TOOLS_GENS_MODEL", None)
_HUB_CACHE = tempfile.mkdtemp(prefix="gens-tools-tests-hf-")
os.environ["HF_HUB_CACHE"] = _HUB_CACHE
if "huggingface_hub" in sys.modules:  # imported by a plugin before this file: point it at the empty cache too
    from huggingface_hub import constants

    constants.HF_HUB_CACHE = _HUB_CACHE
    constants.HF_HUB_OFFLINE = True
