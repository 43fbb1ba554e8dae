"""Full-size random stand-ins of the `sd15` preset's three checkpoints, laid out as a Hugging Face cache: test fixtures.

    python tools/standins.py DIR [--fp16] [--no-safety-checker]   # build once into DIR (~11 GB), print the cache folder

The stand-ins have the hub repositories' exact configurations (`diffedit.tiny`: `clipseg_rd64_config`, `SD15_UNET`, ...),
CLIP's 49408-token tokenizer and random weights: they cost the time and memory the real models cost, load through the same
`from_pretrained` code, even by their hub ids (`HF_HUB_CACHE=DIR/hub HF_HUB_OFFLINE=1`), and paint noise. Used by
`tests/test_slow.py` (`pytest -m slow`) and `tools/benchmark.py --standins DIR`; from Python (tests, tools):
`sys.path.insert(0, 'tools'); from standins import sd15_standins, hub_cache`.
"""
import argparse, hashlib, json, os, shutil, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's diffedit, when run as a script
if __name__ == '__main__':
    from diffedit.core import quiet_libraries
    quiet_libraries()  # before transformers is imported: no torchvision notice
import torch
from transformers import CLIPConfig, CLIPTextConfig, CLIPTextModel, CLIPSegForImageSegmentation, CLIPSegProcessor, ViTImageProcessor, CLIPImageProcessor
from diffusers import AutoencoderKL, UNet2DConditionModel, StableDiffusionPipeline, StableDiffusionInpaintPipeline
from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
from diffedit.tiny import clip_tokenizer, clipseg_rd64_config, SD15_TEXT, SD15_UNET, SD15_VAE, SD15_SCHEDULERS, SAFETY_CHECKER, CLIP_IMAGE
from diffedit.segment import CLIPSEG_ID
from diffedit.inpaint import INPAINT_ID
from diffedit.noise import SD_ID

def save_tokenizer(tok, path, tokenizer_json=True):
    "Save `tok` as the hub repos ship it: vocab.json + merges.txt (+ tokenizer.json where the repo has one)."
    tok.save_pretrained(path)
    m = json.loads(tok.backend_tokenizer.to_str())['model']
    (Path(path)/'vocab.json').write_text(json.dumps(m['vocab'], ensure_ascii=False))
    merges = [' '.join(o) if isinstance(o, list) else o for o in m['merges']]
    (Path(path)/'merges.txt').write_text('#version: 0.2\n' + '\n'.join(merges) + '\n', encoding='utf-8')
    if not tokenizer_json: (Path(path)/'tokenizer.json').unlink()

def _complete(path)->bool: return (Path(path)/'.complete').exists()
def _mark(path): (Path(path)/'.complete').touch()

def standin_clipseg(path,      # folder to write model + processor to
                    tok=None,  # `clip_tokenizer()`; None: build it
                    seed=0,    # seed of the random weights
                   )->Path:
    "Save a random-weight `CIDAS/clipseg-rd64-refined` (150.7M parameters, processor at 352 px) to `path`."
    path = Path(path)
    tok = tok or clip_tokenizer()
    torch.manual_seed(seed)
    CLIPSegForImageSegmentation(clipseg_rd64_config()).eval().save_pretrained(path, safe_serialization=True)
    ip = ViTImageProcessor(do_resize=True, size={'height': 352, 'width': 352}, resample=2, do_rescale=True, do_normalize=True,
                           image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])
    CLIPSegProcessor(image_processor=ip, tokenizer=tok).save_pretrained(path)
    save_tokenizer(tok, path)
    _mark(path)
    return path

def _sd15_pipeline(in_channels, tok, seed, text_encoder=None, vae=None, safety_checker=None):
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(in_channels=in_channels, **SD15_UNET)
    vae = vae or AutoencoderKL(**dict(SD15_VAE, sample_size=512 if in_channels == 4 else 256))
    text_encoder = text_encoder or CLIPTextModel(CLIPTextConfig(**SD15_TEXT))
    cls, sched = SD15_SCHEDULERS['sd' if in_channels == 4 else 'inpaint']
    pipe = (StableDiffusionPipeline if in_channels == 4 else StableDiffusionInpaintPipeline)(
        vae=vae.eval(), text_encoder=text_encoder.eval(), tokenizer=tok, unet=unet.eval(), scheduler=cls.from_config(sched),
        safety_checker=safety_checker, feature_extractor=CLIPImageProcessor(**CLIP_IMAGE) if safety_checker else None,
        requires_safety_checker=safety_checker is not None)
    return pipe

def _save_pipeline(pipe, path, fp16):
    path = Path(path)
    pipe.save_pretrained(path, safe_serialization=True)
    save_tokenizer(pipe.tokenizer, path/'tokenizer', tokenizer_json=False)  # the SD repos ship vocab.json + merges.txt only
    if fp16: pipe.to(torch.float16).save_pretrained(path, safe_serialization=True, variant='fp16')
    _mark(path)
    return path

def standin_safety_checker(seed=0)->StableDiffusionSafetyChecker:
    "A random-weight Stable Diffusion safety checker (CLIP ViT-L/14 vision tower, 304M parameters)."
    torch.manual_seed(seed)
    return StableDiffusionSafetyChecker(CLIPConfig(**SAFETY_CHECKER)).eval()

def standin_inpaint(path, tok=None, seed=1, safety_checker=True, fp16=False, text_encoder=None, vae=None)->Path:
    "Save a random-weight `stable-diffusion-inpainting` (9-channel UNet, 859.5M) with its scheduler and safety checker to `path`."
    sc = standin_safety_checker() if safety_checker is True else (safety_checker or None)
    return _save_pipeline(_sd15_pipeline(9, tok or clip_tokenizer(), seed, text_encoder, vae, sc), path, fp16)

def standin_sd(path, tok=None, seed=2, safety_checker=True, fp16=False, text_encoder=None, vae=None)->Path:
    "Save a random-weight `stable-diffusion-v1-5` (4-channel UNet, 859.5M) with its scheduler and safety checker to `path`."
    sc = standin_safety_checker() if safety_checker is True else (safety_checker or None)
    return _save_pipeline(_sd15_pipeline(4, tok or clip_tokenizer(), seed, text_encoder, vae, sc), path, fp16)

SD15_STANDINS = {CLIPSEG_ID: 'clipseg', INPAINT_ID: 'inpaint', SD_ID: 'sd'}  # hub id -> folder name under `root`

def sd15_standins(root,               # folder for the three model folders and the cache (~11 GB; 19 with `fp16`)
                  safety_checker=True, # give both pipelines a (random) safety checker, as the hub repos have
                  fp16=False,          # also write the fp16 weight files (`variant='fp16'`)
                  progress=print,      # called with a line per model built
                 )->Path:              # a Hugging Face cache folder: use it as HF_HUB_CACHE
    "Build (once) full-size random stand-ins of the `sd15` preset's three checkpoints and lay them out as a hub cache."
    root = Path(root); root.mkdir(parents=True, exist_ok=True)
    todo = [k for k, v in SD15_STANDINS.items() if not _complete(root/v)]
    if todo:
        t0 = time.perf_counter()
        tok = clip_tokenizer()
        sc = standin_safety_checker() if safety_checker else None
        for i in todo:
            d = root/SD15_STANDINS[i]
            if d.exists(): shutil.rmtree(d)  # an interrupted build
            if i == CLIPSEG_ID: standin_clipseg(d, tok)
            elif i == INPAINT_ID: standin_inpaint(d, tok, safety_checker=sc, fp16=fp16)
            else: standin_sd(d, tok, safety_checker=sc, fp16=fp16)
            if progress: progress(f'{i}: built in {root/SD15_STANDINS[i]} ({time.perf_counter() - t0:.0f} s)')
    return hub_cache({i: root/v for i, v in SD15_STANDINS.items()}, root/'hub')

def _revision(repo_id)->str: return hashlib.sha1(f'diffedit stand-in of {repo_id}'.encode()).hexdigest()

def hub_cache(models:dict, # hub id -> local model folder
              cache,       # the cache folder (what HF_HUB_CACHE names)
             )->Path:      # `cache`
    "Lay out model folders as a Hugging Face hub cache, so `from_pretrained('org/name')` finds them offline."
    cache = Path(cache)
    for repo_id, folder in models.items():
        repo = cache/f"models--{repo_id.replace('/', '--')}"
        rev = _revision(repo_id)
        snap = repo/'snapshots'/rev
        if snap.exists(): shutil.rmtree(snap)
        for f in sorted(Path(folder).rglob('*')):
            if not f.is_file() or f.name == '.complete': continue
            dest = snap/f.relative_to(folder)
            dest.parent.mkdir(parents=True, exist_ok=True)
            try: os.link(f, dest)             # no second copy of the gigabytes where the file system allows it
            except OSError: shutil.copy2(f, dest)
        (repo/'refs').mkdir(parents=True, exist_ok=True)
        (repo/'refs'/'main').write_text(rev)
    return cache

if __name__ == '__main__':
    p = argparse.ArgumentParser(description='Build (once) full-size random stand-ins of the sd15 checkpoints; print their hub cache.')
    p.add_argument('root', help='folder for the three model folders and the cache (~11 GB; 19 with --fp16)')
    p.add_argument('--fp16', action='store_true', help="also write the fp16 weight files (variant='fp16')")
    p.add_argument('--no-safety-checker', action='store_true', help='pipelines without a safety checker')
    a = p.parse_args()
    print(sd15_standins(Path(a.root).resolve(), safety_checker=not a.no_safety_checker, fp16=a.fp16, progress=print))
