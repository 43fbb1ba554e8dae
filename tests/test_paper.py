"""Error paths of the paper's method (`diffedit.noise`, `diffedit.ddim`), moved out of the lessons 06 and 07.

Every bad input fails with one `DiffEditError` line naming the fix. Runs on the shipped toy Stable Diffusion
(64 px, loads in well under a second) so the checks go through the real loading code.
"""
import warnings
import numpy as np
import pytest
import torch
from diffedit.core import DiffEditError
from diffedit.hub import from_pretrained
from diffedit.smooth import EmptyMaskError
from diffedit.toy import toy_scene, TOY_MODELS, EVAL_SEED0
from diffedit import noise
from diffedit.noise import load_sd, noise_mask, noise_difference, normalise_map
from diffedit.ddim import ddim_invert, masked_decode, diffedit_decode

SRC, TGT = 'a red square', 'a green square'

@pytest.fixture(scope='module')
def pipe(): return load_sd(TOY_MODELS/'sd', device='cpu')

@pytest.fixture(scope='module')
def image():
    s = toy_scene(EVAL_SEED0 + 3, size=64, n_objects=2)
    assert s.captions[0] == SRC
    return s.image

def _fails(f, contains):
    with pytest.raises(DiffEditError) as e: f()
    msg = str(e.value)
    assert contains in msg, msg
    assert '\n' not in msg, msg  # one line

# --- loading ---

def test_load_sd_missing_folder(tmp_path): _fails(lambda: load_sd(tmp_path/'nowhere', device='cpu', loader=from_pretrained), 'no such folder')

def test_load_sd_refuses_inpainting_pipeline():
    # a StableDiffusionPipeline loads an inpainting folder without complaint; its 9-channel UNet then fails deep inside
    _fails(lambda: load_sd(TOY_MODELS/'inpaint', device='cpu'), '9 input channels')

# --- the noise mask ---

@pytest.mark.parametrize('kw, contains', [
    (dict(noise_draws=0), 'noise_draws'), (dict(noise_draws=2.5), 'noise_draws'),
    (dict(mask_strength=1.5), 'strength'), (dict(mask_strength=0), 'strength'),
    (dict(mask_strength=0.01), 'strength*num_inference_steps'),
    (dict(num_inference_steps=0), 'num_inference_steps'),
    (dict(mask_thresholding_ratio=0), 'mask_thresholding_ratio'),
])
def test_noise_mask_bad_numbers(pipe, image, kw, contains):
    _fails(lambda: noise_mask(pipe, image, SRC, TGT, **{'noise_draws': 2, **kw}), contains)

def test_noise_mask_bad_images(pipe, image):
    _fails(lambda: noise_mask(pipe, image.resize((62, 64)), SRC, TGT, noise_draws=2), 'resize_for_sd')
    _fails(lambda: noise_mask(pipe, np.asarray(image), SRC, TGT, noise_draws=2), 'PIL image')

def test_noise_mask_empty(pipe, image):
    # identical texts: a clear error, not a random or full mask (diffusers' generate_mask returns a full one)
    with pytest.raises(EmptyMaskError, match='the same noise'): noise_mask(pipe, image, SRC, SRC, noise_draws=2)
    with pytest.raises(EmptyMaskError, match='lower the threshold'): noise_mask(pipe, image, SRC, TGT, noise_draws=2, threshold=1.0)
    assert not noise_difference(pipe, image, SRC, SRC, noise_draws=2).any()

def test_normalise_map_bad_ratio(): _fails(lambda: normalise_map(torch.ones(2, 2), -1), 'mask_thresholding_ratio')

# --- long prompts: truncated with one notice, however many steps embed them ---

def test_long_prompt_one_notice(pipe, image):
    long_src = ' '.join([SRC]*30)  # 90 words, over 77 tokens
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('default')  # Python's own rule: one notice per place it is raised
        _, m = noise_mask(pipe, image, long_src, TGT, noise_draws=2, mask_strength=0.85)
        diffedit_decode(pipe, image, m, long_src, TGT, num_inference_steps=4)  # inversion and decoding embed it again
    notes = [x for x in w if 'cut to' in str(x.message)]
    assert len(notes) == 1, [str(x.message) for x in w]
    assert str(notes[0].message) == "diffedit: 1 prompt(s) longer than the text encoder's 77 tokens were cut to 77"

def test_short_prompt_no_notice(pipe, image):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        noise_difference(pipe, image, SRC, TGT, noise_draws=1)
    assert not [x for x in w if 'cut to' in str(x.message)]

# --- DDIM inversion and decoding ---

def test_masked_decode_mismatch(pipe, image):
    traj = ddim_invert(pipe, image, SRC, strength=0.5, num_inference_steps=10)
    mask = torch.zeros(16, 16); mask[4:12, 2:10] = 1
    _fails(lambda: masked_decode(pipe, traj, mask, TGT, strength=0.8, num_inference_steps=10), 'same strength')
    _fails(lambda: masked_decode(pipe, traj, torch.zeros(64, 64), TGT, strength=0.5, num_inference_steps=10), 'latent grid')

def test_ddim_invert_bad_image(pipe, image):
    _fails(lambda: ddim_invert(pipe, image.resize((62, 64))), 'resize_for_sd')
    _fails(lambda: ddim_invert(pipe, image, strength=2), 'strength')

def test_diffedit_decode_bad_input(pipe):
    wide = toy_scene(EVAL_SEED0 + 3, size=(96, 64), n_objects=1).image
    m = torch.zeros(64, 96, dtype=torch.bool); m[10:40, 20:60] = True
    _fails(lambda: diffedit_decode(pipe, wide, m.T, SRC, TGT), 'same image')
    _fails(lambda: diffedit_decode(pipe, wide.resize((94, 64)), m, SRC, TGT), 'resize_for_sd')
    _fails(lambda: diffedit_decode(pipe, wide, m, SRC, TGT, seeds=[]), 'seeds')
    _fails(lambda: diffedit_decode(pipe, wide, m, SRC, TGT, strength=0), 'strength')
    _fails(lambda: diffedit_decode(pipe, wide, m.numpy().tolist(), SRC, TGT), 'torch tensor or numpy array')
