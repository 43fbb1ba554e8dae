"""Each step of `edit` against the trusted implementation, in process, on the toy world's models (shipped, small):
a wrong latent index in masked decoding, a swapped intersection/union or a dropped negative prompt fails here, in its step."""
from dataclasses import replace
import numpy as np
import pytest
import torch
from scipy import ndimage
from diffusers import StableDiffusionInpaintPipeline, StableDiffusionDiffEditPipeline, DDIMInverseScheduler
from diffedit.toy import toy_scene, TOY_MODELS, EVAL_SEED0
from diffedit.settings import resolve
from diffedit.smooth import map_to_mask, combine_masks
from diffedit.edit import Models, mask_maps, make_mask, repaint, _for_picture

SCENE = toy_scene(EVAL_SEED0 + 3, size=64, n_objects=2)
SRC, TGT = SCENE.captions[0], 'a green ' + SCENE.objects[0][1]
gens = lambda seeds: [torch.Generator().manual_seed(s) for s in seeds]

@pytest.fixture(scope='module')
def models(): return Models('toy', device='cpu')

def test_smoothing_and_threshold_are_scipys():
    m = torch.rand(40, 56, generator=torch.Generator().manual_seed(0))
    soft, binary = map_to_mask(m, sigma=1.5, threshold=0.5)
    theirs = np.clip(ndimage.gaussian_filter(m.numpy().astype(np.float64), 1.5, mode='reflect'), 0, 1)
    np.testing.assert_allclose(soft.numpy(), theirs, atol=1e-5)
    assert (binary.numpy() == (soft.numpy() > 0.5)).all()

def test_intersection_and_union_are_and_or():
    g = torch.Generator().manual_seed(1)
    a, b = torch.rand(8, 8, generator=g), torch.rand(8, 8, generator=g)
    masks = [(a, a > 0.3), (b, b > 0.3)]
    i_soft, i_bin = combine_masks(masks, 'intersection'); u_soft, u_bin = combine_masks(masks, 'union')
    assert (i_bin == ((a > 0.3) & (b > 0.3))).all() and (u_bin == ((a > 0.3) | (b > 0.3))).all()
    assert (i_soft == torch.minimum(a, b)).all() and (u_soft == torch.maximum(a, b)).all()

def test_noise_map_is_diffusers_generate_mask(models):
    "The noise mask's map, normalised and at the latent grid, is `generate_mask`'s with the same draws (before our smoothing)."
    dd = StableDiffusionDiffEditPipeline(**{k: getattr(models.sd, k) for k in ('vae', 'text_encoder', 'tokenizer', 'unet', 'scheduler')},
                                         inverse_scheduler=DDIMInverseScheduler.from_config(models.sd.scheduler.config),
                                         safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    dd.set_progress_bar_config(disable=True)
    s = resolve('toy', method='noise', noise_draws=10, mask_strength=0.5)
    theirs = dd.generate_mask(image=SCENE.image, source_prompt=SRC, target_prompt=TGT, num_maps_per_mask=10, mask_encode_strength=0.5,
                              generator=torch.Generator().manual_seed(s.seed))[0]
    from diffedit.noise import noise_difference, normalise_map
    ours = normalise_map(noise_difference(models.sd, SCENE.image, SRC, TGT, noise_draws=10, mask_strength=0.5, seed=s.seed)) > 0.5
    assert (ours.numpy() == theirs.astype(bool)).all() and theirs.any()

def test_inpainting_step_is_the_pipelines_with_the_negative_prompt(models):
    "`repaint` for 'clipseg' is diffusers' inpainting pipeline with prompt = target, negative prompt = source, one generator per seed."
    s = _for_picture(resolve('toy', n=2, seed=3, num_inference_steps=4), SCENE.image.size)
    binary = torch.from_numpy(SCENE.masks[0])
    ours = repaint(models, SCENE.image, binary, SRC, TGT, s)
    ref = StableDiffusionInpaintPipeline(**{k: getattr(models.inpaint, k) for k in ('vae', 'text_encoder', 'tokenizer', 'unet', 'scheduler')},
                                         safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    ref.set_progress_bar_config(disable=True)
    from PIL import Image
    kw = dict(prompt=TGT, image=SCENE.image, mask_image=Image.fromarray(SCENE.masks[0].astype(np.uint8)*255), height=64, width=64,
              num_inference_steps=4, guidance_scale=s.guidance_scale)
    for seed, im in zip(s.seeds, ours):
        theirs = ref(**kw, negative_prompt=SRC, generator=gens([seed])).images[0]
        assert np.abs(np.asarray(im, np.int16) - np.asarray(theirs, np.int16)).max() <= 2
    dropped = ref(**kw, generator=gens([s.seeds[0]])).images[0]  # the same without the negative prompt: visibly another picture
    assert np.abs(np.asarray(ours[0], np.int16) - np.asarray(dropped, np.int16)).max() > 10

def test_masked_decoding_is_diffusers_diffedit(models):
    "DDIM decoding inside the mask is diffusers' DiffEdit call on the same inverted latents (eta 0: no noise to match)."
    from diffedit.ddim import ddim_invert, masked_decode
    from diffedit.sd import decode_latents
    sd = models.sd
    dd = StableDiffusionDiffEditPipeline(**{k: getattr(sd, k) for k in ('vae', 'text_encoder', 'tokenizer', 'unet', 'scheduler')},
                                         inverse_scheduler=DDIMInverseScheduler.from_config(sd.scheduler.config),
                                         safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    dd.set_progress_bar_config(disable=True)
    mask = torch.zeros(16, 16); mask[4:12, 4:12] = 1
    inv = dd.invert(image=SCENE.image, prompt=SRC, num_inference_steps=10, inpaint_strength=0.5, guidance_scale=1.0,
                    generator=torch.Generator().manual_seed(0)).latents
    theirs = dd(prompt=[TGT], negative_prompt=[SRC], mask_image=mask[None].numpy(), image_latents=inv, inpaint_strength=0.5,
                num_inference_steps=10, eta=0.0, output_type='latent', generator=gens([0])).images
    shifted = torch.cat([inv[0, :1], inv[0]])[:, None]  # diffusers' trajectory is one step later than ours
    ours = masked_decode(sd, shifted, mask, TGT, SRC, strength=0.5, num_inference_steps=10, generator=gens([0]), eta=0.0)
    torch.testing.assert_close(ours, theirs, atol=3e-5, rtol=0)
    own = ddim_invert(sd, SCENE.image, SRC, 0.5, 10, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(own[:-1, 0], inv[0], atol=3e-5, rtol=0)

def test_edit_mask_is_the_steps_mask(models):
    "edit's clipseg mask is the heatmap difference through the recipe at the preset's threshold, for every method that uses it."
    s = _for_picture(resolve('toy', method='union'), SCENE.image.size)
    maps = mask_maps(models, SCENE.image, SRC, TGT, s)
    torch.testing.assert_close(maps['clipseg'], (maps['heatmaps'][0] - maps['heatmaps'][1]).clamp(0, 1))
    soft, binary = make_mask(maps, s, SRC, TGT)
    c = map_to_mask(maps['clipseg'], s.sigma, s.threshold)[1]; n = map_to_mask(maps['noise'], s.sigma, s.noise_threshold)[1]
    assert (binary == (c | n)).all()
    assert (make_mask(maps, replace(s, method='intersection'))[1] == (c & n)).all()
