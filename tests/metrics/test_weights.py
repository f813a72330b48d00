"""The pretrained-weights registry: one message per missing file, one reader for state dicts."""

from __future__ import annotations

import pytest
import torch

from v2v_pipeline import weights


def test_every_entry_says_where_to_get_it_and_which_parameter_points_at_it():
    for name, w in weights.WEIGHTS.items():
        msg = weights.missing_message(name, "some/dir/file.pth")
        assert "'some/dir/file.pth'" in msg and w.conf_key in msg and (w.url or w.export) and w.file
        assert w.url is None or w.url in msg
    assert "pt_inception-2015-12-05-6726825d.pth" in weights.missing_message("fid_inception", None)
    with pytest.raises(KeyError, match="known: .*vgg19"):
        weights.get("resnet")


def test_load_state_dict_unwraps_and_refuses_what_is_not_one(tmp_path):
    t = torch.arange(3.0)
    torch.save({"state_dict": {"module.layer.weight": t}}, tmp_path / "wrapped.pth")
    assert torch.equal(weights.load_state_dict("vgg19", tmp_path / "wrapped.pth")["layer.weight"], t)
    torch.save([t], tmp_path / "list.pth")
    with pytest.raises(ValueError, match=r"(?s)list\.pth' is not a state dict.*train\.vgg_weights"):
        weights.load_state_dict("vgg19", tmp_path / "list.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match=r"could not read VGG19 weights from .*junk\.pth"):
        weights.load_state_dict("vgg19", tmp_path / "junk.pth")
    with pytest.raises(FileNotFoundError, match=r"RAFT \(small\) weights not found at .*absent\.pth"):
        weights.load_state_dict("raft_small", tmp_path / "absent.pth")
    with pytest.raises(ValueError, match=r"(?s)wrapped\.pth' does not match the VGG19 architecture"):
        weights.load_strict(torch.nn.Linear(2, 2), {"x": t}, "vgg19", tmp_path / "wrapped.pth")
