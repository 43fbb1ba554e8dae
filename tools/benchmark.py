"""Time diffedit's inpainting step and whole edit against diffusers' StableDiffusionInpaintPipeline, same work.

    python tools/benchmark.py            # CPU, tiny random models (seconds)
    python tools/benchmark.py --gpu      # CUDA, full SD1.5-inpainting + CLIPSeg rd64 architectures, random weights, fp16

Both sides use the same components, image, mask, prompts, steps, guidance, n variations and seeds, in one
process. Each measurement is the median of --repeats runs after a warm-up, ours and theirs interleaved so that
load from other processes hits both alike. Rows:

- inpaint step: `diffedit.inpaint.inpaint` vs the pipeline called directly (`num_images_per_prompt=n`, one
  generator per seed). Target: ratio <= 1.05.
- whole edit: `diffedit.edit.edit` (load image, CLIPSeg heatmaps, smoothed mask, resize, inpaint, paste-back at
  the original size) vs the least a user would do with the libraries directly (CLIPSeg forward pass, threshold
  the heatmap difference, resize, the same pipeline call). Models are loaded (and cached) before timing.

Random weights: the pictures are noise, the work is the real work. Needs no download (offline).
"""
import argparse, os, statistics, sys, tempfile, time
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_VERBOSITY', 'error'); os.environ.setdefault('DIFFUSERS_VERBOSITY', 'error')
import warnings; warnings.filterwarnings('ignore')  # library deprecation chatter, not ours
import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from diffedit.tiny import tiny_clipseg, tiny_inpaint, word_tokenizer, SD_SCHEDULER
from diffedit.inpaint import inpaint
from diffedit.edit import edit, Models
from diffedit.resize import resize_for_sd

def full_models(root:Path)->tuple:
    "Save SD1.5-inpainting-sized and CLIPSeg-rd64-sized pipelines with random weights to `root` (configs only, offline)."
    from transformers import (CLIPTextConfig, CLIPTextModel, CLIPSegConfig, CLIPSegForImageSegmentation,
                              CLIPSegProcessor, ViTImageProcessor)
    from diffusers import AutoencoderKL, UNet2DConditionModel, DDIMScheduler, StableDiffusionInpaintPipeline
    tok = word_tokenizer()  # a small vocabulary: tokenizing costs nothing next to the models
    torch.manual_seed(0)
    unet = UNet2DConditionModel(sample_size=64, in_channels=9, out_channels=4, layers_per_block=2,
                                block_out_channels=(320, 640, 1280, 1280), cross_attention_dim=768, attention_head_dim=8,
                                down_block_types=('CrossAttnDownBlock2D',)*3 + ('DownBlock2D',),
                                up_block_types=('UpBlock2D',) + ('CrossAttnUpBlock2D',)*3)
    vae = AutoencoderKL(block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4, sample_size=512,
                        down_block_types=('DownEncoderBlock2D',)*4, up_block_types=('UpDecoderBlock2D',)*4)
    text = CLIPTextModel(CLIPTextConfig(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                        num_attention_heads=12, max_position_embeddings=77, hidden_act='quick_gelu',
                                        projection_dim=768, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                        pad_token_id=tok.pad_token_id))
    StableDiffusionInpaintPipeline(vae=vae, text_encoder=text, tokenizer=tok, unet=unet, scheduler=DDIMScheduler(**SD_SCHEDULER),
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False
                                   ).save_pretrained(root/'inpaint', safe_serialization=True)
    cfg = CLIPSegConfig(text_config=dict(vocab_size=49408, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                         pad_token_id=tok.pad_token_id),
                        vision_config=dict(image_size=352, patch_size=16), reduce_dim=64, extract_layers=[3, 6, 9])
    CLIPSegForImageSegmentation(cfg).eval().save_pretrained(root/'clipseg', safe_serialization=True)
    ip = ViTImageProcessor(size={'height': 352, 'width': 352}, image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])
    CLIPSegProcessor(image_processor=ip, tokenizer=tok).save_pretrained(root/'clipseg')
    return root/'clipseg', root/'inpaint'

def sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize()

def bench(fns:dict, repeats:int, dev)->dict:
    "Median seconds of each function: one warm-up each, then `repeats` rounds, functions interleaved."
    ts = {k: [] for k in fns}
    for k, f in fns.items(): f(); sync(dev)
    for _ in range(repeats):
        for k, f in fns.items():
            sync(dev); t = time.perf_counter(); f(); sync(dev); ts[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in ts.items()}

def peak(f, dev)->float:
    "Peak CUDA memory of one run of `f`, GiB (nan on CPU)."
    if dev.type != 'cuda': return float('nan')
    torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats(); f(); sync(dev)
    return torch.cuda.max_memory_allocated() / 2**30

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--gpu', action='store_true', help='CUDA, full-size architectures, fp16 (default: CPU, tiny models)')
    ap.add_argument('--size', type=int, default=None, help='long side of the work size (default 128 CPU / 512 GPU)')
    ap.add_argument('-n', type=int, default=3, help='variations (default 3)')
    ap.add_argument('--steps', type=int, default=None, help='denoising steps (default 20 CPU / 50 GPU)')
    ap.add_argument('--repeats', type=int, default=None, help='timed runs per measurement (default 7 CPU / 5 GPU)')
    a = ap.parse_args()
    import diffusers.utils.logging as dl, transformers.utils.logging as tl
    for lg in (dl, tl): lg.disable_progress_bar()  # loading bars
    if a.gpu and not torch.cuda.is_available(): sys.exit('benchmark: --gpu asked for but no CUDA GPU is available')
    dev = torch.device('cuda' if a.gpu else 'cpu')
    size, steps, repeats = a.size or (512 if a.gpu else 128), a.steps or (50 if a.gpu else 20), a.repeats or (5 if a.gpu else 7)
    tmp = Path(tempfile.mkdtemp())
    seg_dir, inp_dir = full_models(tmp) if a.gpu else (tiny_clipseg(tmp/'clipseg'), tiny_inpaint(tmp/'inpaint'))
    models = Models('sd15', seg_model=seg_dir, inpaint_model=inp_dir, device=dev)
    pipe, seg = models.inpaint, models.seg
    pipe.set_progress_bar_config(disable=True)
    img = Image.open(ROOT/'nbs'/'images'/'horse.png').convert('RGB')  # 480x320: resized like a user's picture
    true_mask = Image.open(ROOT/'nbs'/'images'/'horse_mask.png').convert('L')
    r = resize_for_sd(img, size=size)
    mask = true_mask.resize(r.image.size, Image.NEAREST)
    source, target, seeds = 'a horse', 'a zebra', list(range(a.n))
    gens = lambda: [torch.Generator().manual_seed(s) for s in seeds]
    common = dict(num_inference_steps=steps, guidance_scale=7.5)

    def ours_inpaint(): return inpaint(pipe, r.image, mask, target, negative_prompt=source, seeds=seeds, **common)
    def theirs_inpaint():
        return pipe(prompt=target, negative_prompt=source, image=r.image, mask_image=mask, height=r.image.height,
                    width=r.image.width, num_images_per_prompt=a.n, generator=gens(), **common).images
    def ours_edit():
        return edit(img, source, target, n=a.n, seed=0, models=models, size=size, threshold=0.0, progress=False, **common).images
    def theirs_edit():
        inputs = seg.processor(text=[source, target], images=[img]*2, padding=True, return_tensors='pt')
        inputs = {k: v.to(dev, seg.dtype if v.is_floating_point() else v.dtype) for k, v in inputs.items()}
        with torch.inference_mode(): heat = torch.sigmoid(seg.model(**inputs).logits.float())
        m = ((heat[0] - heat[1]) > 0).cpu().numpy().astype(np.uint8) * 255
        m = Image.fromarray(m).resize(r.image.size, Image.NEAREST)
        return pipe(prompt=target, negative_prompt=source, image=r.image, mask_image=m, height=r.image.height,
                    width=r.image.width, num_images_per_prompt=a.n, generator=gens(), **common).images

    # same work, same result: our variation i is the pipeline's seed-i picture (checked before timing)
    alone = pipe(prompt=target, negative_prompt=source, image=r.image, mask_image=mask, height=r.image.height, width=r.image.width,
                 generator=torch.Generator().manual_seed(seeds[-1]), **common).images[0]
    diff = np.abs(np.asarray(ours_inpaint()[-1], np.int16) - np.asarray(alone, np.int16)).max()
    t = bench(dict(ours_inpaint=ours_inpaint, theirs_inpaint=theirs_inpaint, ours_edit=ours_edit, theirs_edit=theirs_edit), repeats, dev)
    mem = {k: peak(f, dev) for k, f in dict(ours_inpaint=ours_inpaint, theirs_inpaint=theirs_inpaint,
                                              ours_edit=ours_edit, theirs_edit=theirs_edit).items()}
    what = (f"{'CUDA ' + torch.cuda.get_device_name() + ', fp16, full-size SD1.5 inpainting + CLIPSeg rd64' if a.gpu else 'CPU (' + str(torch.get_num_threads()) + ' threads), fp32, tiny random models'}; "
            f"input {img.size[0]}x{img.size[1]}, work size {r.image.size[0]}x{r.image.size[1]}, n={a.n}, {steps} steps, CFG 7.5, "
            f"median of {repeats} after a warm-up")
    print(what)
    print(f"check: our seed-{seeds[-1]} variation vs the pipeline run alone with that seed: max pixel difference {diff} (of 255)\n")
    gpu = a.gpu
    print('| step | diffedit (s) | diffusers (s) | ratio |' + (' peak GiB ours / diffusers |' if gpu else ''))
    print('|---|---|---|---|' + ('---|' if gpu else ''))
    for row, k in [('inpaint step (`inpaint` vs pipeline call)', 'inpaint'), ('whole edit (`edit` vs CLIPSeg + pipeline)', 'edit')]:
        o, th = t[f'ours_{k}'], t[f'theirs_{k}']
        print(f"| {row} | {o:.3f} | {th:.3f} | {o/th:.3f} |" + (f" {mem[f'ours_{k}']:.2f} / {mem[f'theirs_{k}']:.2f} |" if gpu else ''))
    ratio = t['ours_inpaint'] / t['theirs_inpaint']
    print(f"\ninpaint-step ratio {ratio:.3f}: {'within' if ratio <= 1.05 else 'ABOVE'} the 1.05 target")

if __name__ == '__main__': main()
