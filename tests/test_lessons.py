"Edge cases of the lesson modules (toy, resize, segment, smooth, inpaint), kept out of the notebooks' reading flow."
import time, warnings
import numpy as np
import pytest
import torch
from PIL import Image
from diffedit.core import DiffEditError
from diffedit.toy import toy_scene, COLOURS, EVAL_SEED0, TOY_MODELS
from diffedit.resize import resize_for_sd, restore_size
from diffedit.smooth import edit_mask, EmptyMaskError
from diffedit.inpaint import paste_back, feather_alpha, mask_array, load_inpaint, inpaint

def test_toy_masks_are_the_drawings():
    "Inside each mask exactly the object's colour; objects never touch; background far from every object colour."
    palette = np.array(list(COLOURS.values()), float)
    for i in range(200):
        s = toy_scene(EVAL_SEED0 + i, size=[64, (96, 64), (48, 80)][i % 3])
        a = np.asarray(s.image).astype(float)
        assert a.shape[:2] == s.masks[0].shape
        assert len(s.masks) == len(s.objects) == len(s.captions) == len(set(s.objects))
        assert np.sum(s.masks, 0).max() == 1
        for m, (colour, shape), (cx, cy, size) in zip(s.masks, s.objects, s.boxes):
            assert m.sum() > 0 and (a[m] == COLOURS[colour]).all(), (i, colour)
            assert 0.15 <= size/min(a.shape[:2]) <= 0.5
        bg = a[~np.any(s.masks, 0)]
        assert np.sqrt(((bg[:, None] - palette[None])**2).sum(-1)).min() > 25, i

def test_toy_background_check_can_fail():
    s = toy_scene(EVAL_SEED0)
    palette = np.array(list(COLOURS.values()), float)
    a = np.asarray(s.image).copy(); y, x = np.argwhere(~np.any(s.masks, 0))[0]; a[y, x] = COLOURS['red']
    bg = a[~np.any(s.masks, 0)].astype(float)
    assert np.sqrt(((bg[:, None] - palette[None])**2).sum(-1)).min() <= 25

def test_toy_scene_mix():
    from collections import Counter
    ss = [toy_scene(i) for i in range(300)]
    n, kinds = Counter(len(s.objects) for s in ss), Counter(s.background for s in ss)
    assert set(n) == {1, 2, 3} and set(kinds) == {'plain', 'gradient', 'noise'}

def test_restore_size_bool_is_smooth_and_exact_size():
    m = torch.zeros(48, 64, dtype=torch.bool); m[10:30, 20:50] = True
    up = restore_size(m, (4032, 3024))
    assert up.shape == (3024, 4032) and up.dtype == torch.bool
    assert torch.equal(restore_size(m, (64, 48)), m)
    assert torch.equal(torch.from_numpy(mask_array(m, (4032, 3024))), up)   # paste_back's upsampling is restore_size's

def test_paste_back_kinds_and_exact_outside():
    img = toy_scene(EVAL_SEED0 + 13, size=(300, 200)).image
    work = resize_for_sd(img, size=64).image
    edited = Image.fromarray(np.full((work.height, work.width, 3), 7, np.uint8))
    m = np.zeros((work.height, work.width), bool); m[5:20, 10:30] = True
    one, many = paste_back(img, edited, m), paste_back(img, [edited, edited], m)
    assert isinstance(one, Image.Image) and isinstance(many, list) and len(many) == 2
    assert all(np.array_equal(np.asarray(x), np.asarray(one)) for x in many)
    big = mask_array(m, img.size)
    assert np.array_equal(np.asarray(one)[~big], np.asarray(img)[~big])
    assert (np.asarray(one)[feather_alpha(big, 4) == 1] == 7).all()
    full = paste_back(img, edited, np.ones_like(m), feather=0)     # a full mask: all of the edit
    assert (np.asarray(full) != np.asarray(img)).any() and np.abs(np.asarray(full).astype(int) - 7).max() <= 1
    with pytest.raises(DiffEditError, match='feather'): paste_back(img, edited, m, feather=-2)

def test_paste_back_host_budget():
    "12 MP photo, 3 variations, work-size mask: paste-back well under a second on one core (generous bound: shared CPUs)."
    photo = Image.new('RGB', (4032, 3024), (120, 130, 140))
    ed = [Image.new('RGB', (512, 384), (200, 10, 10 * i)) for i in range(3)]
    m = np.zeros((384, 512), bool); m[100:250, 150:400] = True
    torch.set_num_threads(1)
    t = min(_timed(lambda: paste_back(photo, ed, m)) for _ in range(2))
    assert t < 3, t

def _timed(f):
    t0 = time.perf_counter(); f(); return time.perf_counter() - t0

def test_edit_mask_empty_and_at_heatmap_size():
    src, tgt = torch.zeros(48, 64), torch.zeros(48, 64)
    src[10:20, 10:30] = 1
    soft, binary = edit_mask(src, tgt, sigma=1, threshold=0.4)
    assert soft.shape == binary.shape == (48, 64)
    with pytest.raises(EmptyMaskError, match="'a cat' was not found"): edit_mask(tgt, tgt, source='a cat')

def test_load_inpaint_no_dtype_deprecation():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        pipe = load_inpaint(TOY_MODELS/'inpaint', device='cpu', dtype=torch.float32)
    assert not [c for c in caught if 'torch_dtype' in str(c.message)]
    assert pipe.unet.dtype == torch.float32

def test_clipseg_long_prompt_one_notice():
    from diffedit.segment import load_clipseg, clipseg_heatmaps
    seg = load_clipseg(TOY_MODELS/'clipseg', device='cpu')
    img = toy_scene(EVAL_SEED0).image
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        h = clipseg_heatmaps(seg, img, ['a red circle', ' '.join(['a blue square'] * 50), ' '.join(['and'] * 120)])
    assert h.shape == (3, 64, 64)
    assert [str(c.message) for c in caught] == ["diffedit: 2 prompt(s) longer than the text encoder's 77 tokens were cut to 77"]

def test_tiny_inpaint_variations_reproduce(tmp_path):
    "Random tiny models (diffedit.tiny): a variation depends only on its own seed."
    from diffedit.tiny import tiny_inpaint
    pipe = load_inpaint(tiny_inpaint(tmp_path/'inpaint'), device='cpu'); pipe.set_progress_bar_config(disable=True)
    img = Image.new('RGB', (64, 48), (90, 100, 110)); m = np.zeros((48, 64), bool); m[8:30, 8:40] = True
    three = inpaint(pipe, img, m, 'a zebra', seeds=[3, 4, 5], num_inference_steps=2)
    alone = inpaint(pipe, img, m, 'a zebra', seeds=[4], num_inference_steps=2)[0]
    assert np.abs(np.asarray(three[1], np.int16) - np.asarray(alone, np.int16)).max() <= 2
