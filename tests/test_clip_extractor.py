"""CLIP extractors on randomly initialised open_clip networks saved to local files: weights lookup (never a
download), sha256 provenance, CLIP's preprocessing, parity with open_clip's own transform and encode_image."""
from __future__ import annotations

import numpy as np
import pytest
import torch

open_clip = pytest.importorskip("open_clip")

from ganbench.features import clip_extractor, get_extractor  # noqa: E402
from ganbench.files import sha256_file  # noqa: E402
from ganbench.files import CorruptFileError  # noqa: E402
from ganbench.registry import ConfigError  # noqa: E402

TINY = "ganbench-test-tiny-clip"  # ViT-B/32's layout, two narrow layers: quick to build on two CPU cores
TINY_CFG = {"embed_dim": 32,
            "vision_cfg": {"image_size": 224, "layers": 2, "width": 64, "patch_size": 32, "head_width": 32},
            "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 1}}


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    """clip-vit-b32 pointed at a tiny random open_clip model saved to a local file."""
    from open_clip import factory
    monkeypatch.setitem(factory._MODEL_CONFIGS, TINY, TINY_CFG)
    arch, repo, size, _ = clip_extractor.VARIANTS["clip-vit-b32"]
    monkeypatch.setitem(clip_extractor.VARIANTS, "clip-vit-b32", (TINY, repo, size, 32))
    torch.manual_seed(0)
    net = open_clip.create_model(TINY, pretrained=None, force_quick_gelu=True).eval()
    path = tmp_path / "open_clip_pytorch_model.bin"
    torch.save(net.state_dict(), path)
    return net, path


def uint8_images(n=2, size=224, seed=0):
    return torch.randint(0, 256, (n, 3, size, size), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def test_features_match_open_clip_transform_and_encode_image(tiny):
    from PIL import Image
    net, path = tiny
    ex = get_extractor("clip-vit-b32", weights=str(path))
    x = uint8_images()
    ours = ex.extract(x.float() / 127.5 - 1)["features"]  # [-1, 1] floats on exact 8-bit levels
    transform = open_clip.image_transform(224, is_train=False, mean=clip_extractor.OPENAI_MEAN,
                                          std=clip_extractor.OPENAI_STD, interpolation="bicubic",
                                          resize_mode="shortest")
    pil = [Image.fromarray(img.permute(1, 2, 0).numpy()) for img in x]
    with torch.no_grad():
        ref = net.encode_image(torch.stack([transform(p) for p in pil])).double().numpy()
    assert ours.shape == (2, 32) and ours.dtype == np.float64
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(ex.extract(x)["features"], ours)  # uint8 input is read as 0..255
    np.testing.assert_array_equal(get_extractor("clip-vit-b32", weights=str(path)).extract(x)["features"], ours)


def test_smaller_and_non_square_images_are_resized_on_the_shorter_side_and_centre_cropped(tiny):
    _, path = tiny
    ex = get_extractor("clip-vit-b32", weights=str(path))
    x = torch.rand(2, 1, 32, 48) * 2 - 1
    assert ex.extract(x)["features"].shape == (2, 32)
    with pytest.raises(ValueError, match=r"extractor 'clip-vit-b32': expected images \[N, 1 or 3, H, W\]"):
        ex(torch.zeros(2, 5))


def test_info_records_weights_sha_preprocessing_and_feature_space(tiny):
    _, path = tiny
    info = get_extractor("clip-vit-b32", weights=str(path)).info()
    assert info["weights_sha256"] == sha256_file(path) and info["feature_space"] == "CLIP-B/32"
    assert "centre crop 224x224" in info["input"] and "encode_image" in info["input"]
    assert info["open_clip"] == open_clip.__version__ and info["comparable"] is False


def test_weights_are_found_in_the_hugging_face_cache_and_never_downloaded(tiny, tmp_path, monkeypatch):
    _, path = tiny
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.delenv("GANBENCH_CLIP_VIT_B32_WEIGHTS", raising=False)
    with pytest.raises(ConfigError, match=r"clip-vit-b32 weights not found; put timm/vit_base_patch32_clip_224.openai's "
                                          r"open_clip_model.safetensors or open_clip_pytorch_model.bin .*nothing is "
                                          r"downloaded; searched Hugging Face hub cache: .*models--timm--vit_base_"
                                          r"patch32_clip_224.openai/snapshots/\*/open_clip_model.safetensors"):
        get_extractor("clip-vit-b32")
    snap = tmp_path / "hf" / "models--timm--vit_base_patch32_clip_224.openai" / "snapshots" / "abc"
    snap.mkdir(parents=True)
    (snap / "open_clip_pytorch_model.bin").write_bytes(path.read_bytes())
    assert get_extractor("clip-vit-b32").weights_path == snap / "open_clip_pytorch_model.bin"


def test_bad_weights_are_one_line_errors(tiny, tmp_path):
    torch.save({"visual.proj": torch.zeros(2, 2)}, tmp_path / "other.bin")
    with pytest.raises(CorruptFileError, match=r"other.bin: not open_clip ganbench-test-tiny-clip weights"):
        get_extractor("clip-vit-b32", weights=str(tmp_path / "other.bin"))
    with pytest.raises(ConfigError, match=r"clip-vit-l14 weights not found: .*nope.bin \(--weights"):
        get_extractor("clip-vit-l14", weights=str(tmp_path / "nope.bin"))


@pytest.mark.slow
def test_real_vit_b32_architecture_builds_from_a_local_file(tmp_path):
    net = open_clip.create_model("ViT-B-32", pretrained=None, force_quick_gelu=True)
    torch.save(net.state_dict(), tmp_path / "open_clip_pytorch_model.bin")
    ex = get_extractor("clip-vit-b32", weights=str(tmp_path / "open_clip_pytorch_model.bin"))
    assert ex.extract(uint8_images(1))["features"].shape == (1, 512)
