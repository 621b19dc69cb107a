"""DINOv2 extractors on randomly initialised timm networks saved to local files: weights lookup (never a download),
sha256 provenance, dgm-eval's preprocessing, parity with timm's own forward, determinism, official-format keys."""
from __future__ import annotations

import numpy as np
import pytest
import torch

timm = pytest.importorskip("timm")

from ganbench.features import get_extractor  # noqa: E402
from ganbench.files import sha256_file  # noqa: E402
from ganbench.files import CorruptFileError  # noqa: E402
from ganbench.registry import ConfigError  # noqa: E402


@pytest.fixture(scope="module")
def s14(tmp_path_factory):
    """A random ViT-S/14 DINOv2 (the architecture of dinov2-vit-s14) and its state dict in a local file."""
    torch.manual_seed(0)
    net = timm.create_model("vit_small_patch14_dinov2", pretrained=False, num_classes=0, img_size=224).eval()
    path = tmp_path_factory.mktemp("w") / "dinov2_vits14_random.pth"
    torch.save(net.state_dict(), path)
    return net, path


def images(n=3, size=32, channels=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, channels, size, size, generator=g) * 2 - 1


def test_features_match_timm_forward_on_dgm_eval_preprocessing(s14):
    from torchvision import transforms as T
    net, path = s14
    ex = get_extractor("dinov2-vit-s14", weights=str(path))
    x = images()
    ours = ex.extract(x)["features"]
    # dgm-eval's transform (Resize((224, 224), bicubic), ImageNet Normalize) on the 8-bit levels of the images
    levels = ((x + 1) * 127.5).round().clamp(0, 255) / 255
    ref_t = T.Compose([T.Resize((224, 224), interpolation=T.InterpolationMode.BICUBIC, antialias=True),
                       T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
    with torch.no_grad():
        ref = net(ref_t(levels)).double().numpy()
    assert ours.shape == (3, 384) and ours.dtype == np.float64 and ex.dim == 384
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)
    again = get_extractor("dinov2-vit-s14", weights=str(path)).extract(x)["features"]
    np.testing.assert_array_equal(ours, again)  # deterministic across loads
    gray = ex.extract(x[:, :1])["features"]  # grayscale is repeated to 3 channels
    np.testing.assert_array_equal(gray, ex.extract(x[:, :1].expand(-1, 3, -1, -1))["features"])


def test_info_records_weights_sha_preprocessing_and_feature_space(s14):
    _, path = s14
    info = get_extractor("dinov2-vit-s14", weights=str(path)).info()
    assert info["weights_sha256"] == sha256_file(path) and info["weights"] == str(path)
    assert info["feature_space"] == "DINOv2-S" and "224x224" in info["input"] and "CLS token" in info["input"]
    assert info["comparable"] is False and info["timm"] == timm.__version__


def test_official_checkpoint_keys_and_518px_position_embedding_load(s14, tmp_path):
    """facebookresearch/dinov2 files carry mask_token and a 37x37 (518 px) position embedding."""
    net, _ = s14
    big = timm.create_model("vit_small_patch14_dinov2", pretrained=False, num_classes=0, img_size=518)
    state = {**big.state_dict(), "mask_token": torch.zeros(1, 384)}
    torch.save(state, tmp_path / "dinov2_vits14_pretrain.pth")
    ex = get_extractor("dinov2-vit-s14", weights=str(tmp_path / "dinov2_vits14_pretrain.pth"))
    assert ex.net.pos_embed.shape == net.pos_embed.shape  # resized to 224 px
    assert np.isfinite(ex.extract(images(1))["features"]).all()


def test_weights_are_found_in_the_torch_hub_cache_and_never_downloaded(s14, tmp_path, monkeypatch):
    _, path = s14
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.delenv("GANBENCH_DINOV2_VIT_S14_WEIGHTS", raising=False)
    with pytest.raises(ConfigError, match=r"dinov2-vit-s14 weights not found; put dinov2_vits14_pretrain.pth "
                                          r"\(facebookresearch/dinov2\).*set \$GANBENCH_DINOV2_VIT_S14_WEIGHTS "
                                          r"\(nothing is downloaded; searched torch hub cache: .*hub/checkpoints/"
                                          r"dinov2_vits14_pretrain.pth; Hugging Face hub cache: .*models--timm--"):
        get_extractor("dinov2-vit-s14")
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    (tmp_path / "hub" / "checkpoints" / "dinov2_vits14_pretrain.pth").write_bytes(path.read_bytes())
    assert get_extractor("dinov2-vit-s14").weights_sha256 == sha256_file(path)
    monkeypatch.setenv("GANBENCH_DINOV2_VIT_S14_WEIGHTS", str(path))  # the variable comes before the caches
    assert get_extractor("dinov2-vit-s14").weights_path == path


def test_bad_weights_are_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"dinov2-vit-l14 weights not found: .*nope.pth \(--weights / weights "
                                          r"parameter\) is not a file; expected dinov2_vitl14_pretrain.pth"):
        get_extractor("dinov2-vit-l14", weights=str(tmp_path / "nope.pth"))
    torch.save({"head.weight": torch.zeros(2, 2)}, tmp_path / "other.pth")
    with pytest.raises(CorruptFileError, match=r"other.pth: not vit_small_patch14_dinov2 \(DINOv2\) weights"):
        get_extractor("dinov2-vit-s14", weights=str(tmp_path / "other.pth"))
    (tmp_path / "text.pth").write_text("hello")
    with pytest.raises(CorruptFileError, match=r"text.pth: not vit_small_patch14_dinov2 \(DINOv2\) weights"):
        get_extractor("dinov2-vit-s14", weights=str(tmp_path / "text.pth"))


@pytest.mark.slow
@pytest.mark.parametrize("name,arch,dim", [("dinov2-vit-b14", "vit_base_patch14_dinov2", 768),
                                           ("dinov2-vit-l14", "vit_large_patch14_dinov2", 1024)])
def test_b14_and_l14_build_from_local_files(name, arch, dim, tmp_path):
    net = timm.create_model(arch, pretrained=False, num_classes=0, img_size=224)
    torch.save(net.state_dict(), tmp_path / "w.pth")
    ex = get_extractor(name, weights=str(tmp_path / "w.pth"))
    assert ex.extract(images(1))["features"].shape == (1, dim)


def test_cli_with_a_missing_weights_file_is_one_line_exit_2(tmp_path, capsys):
    from ganbench.cli import main
    np.save(tmp_path / "x.npy", np.zeros((4, 3, 8, 8), np.uint8))
    assert main(["metrics", "--real", str(tmp_path / "x.npy"), "--fake", str(tmp_path / "x.npy"),
                 "--features", "dinov2-vit-l14", "--weights", str(tmp_path / "missing.pth")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert "dinov2-vit-l14 weights not found" in err and "missing.pth" in err and "dinov2_vitl14_pretrain.pth" in err
