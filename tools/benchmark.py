"""Time diffedit against diffusers' own pipelines on the same models, and the host-side work on a 12 MP photo.

    python tools/benchmark.py                        # CPU, tiny random models (seconds): ours vs diffusers, paired
    python tools/benchmark.py --gpu                  # CUDA, fp16, the sd15 preset's models at 512 px, warm and cold
    python tools/benchmark.py --gpu --standins DIR   # the same on full-size random stand-ins (tools/standins.py), offline
    python tools/benchmark.py --host                 # 12 MP host row on one CPU core, this checkout
    python tools/benchmark.py --host --tree /tmp/before --tree .   # the same row for several checkouts, paired
    python tools/benchmark.py --batch                # 200 toy items: `diffedit batch` vs one `diffedit edit` per item vs an edit() loop

Rows, ours vs diffusers on the same loaded components, image, prompts, steps, guidance and seeds:
- seed method, inpaint step: `diffedit.inpaint.inpaint` vs `StableDiffusionInpaintPipeline` (`num_images_per_prompt=n`).
- seed method, whole edit: `diffedit.edit.edit(method='clipseg')` (load, CLIPSeg, smoothed mask, inpaint, paste-back at the
  input's size) vs the least a user would write with the libraries (CLIPSeg, thresholded difference, the same pipeline call).
- paper's method, whole edit (n=1, 10 noise draws, encoding ratio 0.5): `edit(method='noise')` vs diffusers'
  `StableDiffusionDiffEditPipeline` (`generate_mask`, `invert`, call), built from the same components.
With --gpu also cold runs (a fresh process per run: loading, then the first call) and peak GPU memory.

Timing: one warm-up of each side, then rounds in which the two sides alternate order (ours first in even rounds, theirs
first in odd ones). We report min and median seconds of each side and the median (min-max) of the per-round ratios
ours/theirs: load from other processes tends to hit both halves of a round alike, so the ratio is steadier than either time.

The 12 MP row (--host): host-side seconds of `edit()` on a 4032x3024 photo, n=3, the seed method, on one CPU core with the
models' forward passes stubbed out (a CLIPSeg model that returns fixed logits, an inpainting step that returns the work-size
picture inverted): load, CLIPSeg preprocessing (the processor), the rest of the mask (upsampling, smoothing, threshold),
paste-back of the 3 variations, saving every file. `--tree DIR` measures another checkout's package (its `diffedit/` folder
first on sys.path), e.g. `git worktree add /tmp/before 3421274` for the code before the work-size changes.
Budget: everything but the models' forward passes under 1 s.

The batch rows (--batch): toy items (64 px held-out scenes, "a COLOUR SHAPE" -> the same shape in red, n=1, the toy preset's
20 steps unless --steps, the shipped toy models, CPU), each side a fresh process timed from start to exit, so each pays its own
imports: `python -m diffedit.batch` on all --items; one `diffedit edit` call per item on the first --cli-items (each call imports
torch and loads the models again); `edit()` + `EditResult.save` in a Python loop over all items, models loaded once; the batch under
`torchrun --nproc-per-node 2`, whose pictures are compared byte for byte with one process run with `--threads 1` (torchrun gives each
process one thread; CPU sums in another order with another thread count) and with the default one-process run.

Random weights: the pictures are noise, the work is the real work. Nothing is downloaded except with --gpu and no --standins
(the real checkpoints from the Hugging Face Hub).
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE, TARGET = 'a horse', 'a zebra'

def _quiet():
    os.environ.setdefault('TRANSFORMERS_VERBOSITY', 'error'); os.environ.setdefault('DIFFUSERS_VERBOSITY', 'error')
    import warnings; warnings.filterwarnings('ignore')  # library deprecation chatter, not ours

# ---------------------------------------------------------------- timing
def _sync(dev):
    import torch
    if dev.type == 'cuda': torch.cuda.synchronize()

def paired(ours, theirs, rounds:int, dev)->dict:
    "Seconds of `ours` and `theirs`: a warm-up each, then `rounds` rounds in alternating order; per-round ratios ours/theirs."
    ts = dict(ours=[], theirs=[])
    fns = dict(ours=ours, theirs=theirs)
    for f in (ours, theirs): f(); _sync(dev)
    for r in range(rounds):
        for k in (('ours', 'theirs') if r % 2 == 0 else ('theirs', 'ours')):
            _sync(dev); t = time.perf_counter(); fns[k](); _sync(dev); ts[k].append(time.perf_counter() - t)
    return dict(ts, ratios=[o / t for o, t in zip(ts['ours'], ts['theirs'])])

def peak_gib(f, dev)->float:
    "Peak CUDA memory allocated during one run of `f`, GiB (nan on CPU)."
    import torch
    if dev.type != 'cuda': return float('nan')
    torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats(); f(); _sync(dev)
    return torch.cuda.max_memory_allocated() / 2**30

def _mm(v): return f"{min(v):.3f} / {statistics.median(v):.3f}"
def _ratio(v): return f"{statistics.median(v):.3f} ({min(v):.2f}-{max(v):.2f})"

# ---------------------------------------------------------------- models and the work of each side
def _ids(a, tmp, build=True)->dict:
    "Model ids: the sd15 preset's with --gpu or --standins (real, or stand-ins via HF_HUB_CACHE); else tiny random folders in `tmp`."
    if a.gpu or a.standins:
        from diffedit.settings import PRESETS
        return {k: getattr(PRESETS['sd15'], f'{k}_model') for k in ('seg', 'inpaint', 'sd')}
    if build:
        from diffedit.tiny import tiny_clipseg, tiny_inpaint, tiny_sd
        tiny_clipseg(tmp/'seg'); tiny_inpaint(tmp/'inpaint'); tiny_sd(tmp/'sd')
    return {k: str(tmp/k) for k in ('seg', 'inpaint', 'sd')}

def _models(a, dev, tmp, build=True):
    "Our `Models` (our loaders: fp16 weight files on CUDA where the repository has them)."
    from diffedit.edit import Models
    i = _ids(a, tmp, build)
    return Models('sd15', seg_model=i['seg'], inpaint_model=i['inpaint'], sd_model=i['sd'], device=dev)

def _their_models(a, dev, tmp, kinds):
    "The same models loaded the way a diffusers/transformers user would: `from_pretrained`, fp16 files on CUDA if there."
    import torch
    from types import SimpleNamespace
    from transformers import CLIPSegForImageSegmentation, CLIPSegProcessor
    from diffusers import StableDiffusionInpaintPipeline, StableDiffusionPipeline, DDIMScheduler
    from diffedit.segment import ClipSeg
    i, dt = _ids(a, tmp, build=False), torch.float16 if dev.type == 'cuda' else torch.float32
    def pipe(cls, name, **kw):
        try: p = cls.from_pretrained(name, torch_dtype=dt, variant='fp16' if dev.type == 'cuda' else None, **kw)
        except (OSError, ValueError): p = cls.from_pretrained(name, torch_dtype=dt, **kw)
        return p.to(dev)
    m = SimpleNamespace()
    if 'seg' in kinds:
        m.seg = ClipSeg(model=CLIPSegForImageSegmentation.from_pretrained(i['seg'], dtype=dt).to(dev).eval(),
                        processor=CLIPSegProcessor.from_pretrained(i['seg']), device=dev, dtype=dt)
    if 'inpaint' in kinds: m.inpaint = pipe(StableDiffusionInpaintPipeline, i['inpaint'])
    if 'sd' in kinds:
        m.sd = pipe(StableDiffusionPipeline, i['sd'], safety_checker=None, requires_safety_checker=False)
        m.sd.scheduler = DDIMScheduler.from_config(m.sd.scheduler.config)
    return m

def _work(a, models, dev, check=True):
    "The functions to time, by row: {row: (ours, theirs)}."
    import numpy as np, torch
    from PIL import Image
    from diffedit.inpaint import inpaint
    from diffedit.edit import edit
    from diffedit.resize import resize_for_sd
    img = Image.open(ROOT/'nbs'/'images'/'horse.png').convert('RGB')  # 480x320: resized like a user's picture
    r = resize_for_sd(img, size=a.size)
    mask = Image.open(ROOT/'nbs'/'images'/'horse_mask.png').convert('L').resize(r.image.size, Image.NEAREST)
    seeds, steps, g = list(range(a.n)), a.steps, 7.5
    gens = lambda: [torch.Generator().manual_seed(s) for s in seeds]
    rows = {}
    random = not a.gpu or a.standins  # random weights: a mask that cannot come out empty
    if 'seed' in a.rows:
        pipe, seg = models.inpaint, models.seg
        pipe.set_progress_bar_config(disable=True)
        def theirs_call(m): return pipe(prompt=TARGET, negative_prompt=SOURCE, image=r.image, mask_image=m, height=r.image.height,
                                        width=r.image.width, num_images_per_prompt=a.n, generator=gens(),
                                        num_inference_steps=steps, guidance_scale=g).images
        def theirs_edit():
            inputs = seg.processor(text=[SOURCE, TARGET], images=[img]*2, padding=True, return_tensors='pt')
            inputs = {k: v.to(dev, seg.dtype if v.is_floating_point() else v.dtype) for k, v in inputs.items()}
            with torch.inference_mode(): heat = torch.sigmoid(seg.model(**inputs).logits.float())
            m = ((heat[0] - heat[1]) > 0).cpu().numpy().astype(np.uint8) * 255
            return theirs_call(Image.fromarray(m).resize(r.image.size, Image.NEAREST))
        rows['seed method, inpaint step'] = (
            lambda: inpaint(pipe, r.image, mask, TARGET, negative_prompt=SOURCE, seeds=seeds, num_inference_steps=steps, guidance_scale=g),
            lambda: theirs_call(mask))
        rows['seed method, whole edit'] = (
            lambda: edit(img, SOURCE, TARGET, n=a.n, seed=0, method='clipseg', models=models, size=a.size,
                         **(dict(threshold=0.0, sigma=1.0) if random else {}),
                         num_inference_steps=steps, guidance_scale=g, progress=False).images,
            theirs_edit)
    if 'seed' in a.rows and check:
        # same work, same result: our variation i is the pipeline's seed-i picture (checked before timing)
        alone = pipe(prompt=TARGET, negative_prompt=SOURCE, image=r.image, mask_image=mask, height=r.image.height, width=r.image.width,
                     generator=torch.Generator().manual_seed(seeds[-1]), num_inference_steps=steps, guidance_scale=g).images[0]
        diff = np.abs(np.asarray(rows['seed method, inpaint step'][0]()[-1], np.int16) - np.asarray(alone, np.int16)).max()
        print(f"check: our seed-{seeds[-1]} variation vs the pipeline run alone with that seed: max pixel difference {diff} (of 255)")
    if 'paper' in a.rows:
        from diffusers import StableDiffusionDiffEditPipeline, DDIMScheduler, DDIMInverseScheduler
        sd = models.sd
        de = StableDiffusionDiffEditPipeline(vae=sd.vae, text_encoder=sd.text_encoder, tokenizer=sd.tokenizer, unet=sd.unet,
                                             scheduler=DDIMScheduler.from_config(sd.scheduler.config),
                                             inverse_scheduler=DDIMInverseScheduler.from_config(sd.scheduler.config),
                                             safety_checker=None, feature_extractor=None, requires_safety_checker=False)
        de.set_progress_bar_config(disable=True)
        def theirs_paper():  # diffusers' defaults: 10 noise maps at strength 0.5, inversion and decoding at 0.5
            gen = torch.Generator().manual_seed(0)
            m = de.generate_mask(image=r.image, source_prompt=SOURCE, target_prompt=TARGET, num_maps_per_mask=10,
                                 mask_encode_strength=0.5, num_inference_steps=steps, guidance_scale=g, generator=gen)
            lat = de.invert(prompt=SOURCE, image=r.image, inpaint_strength=0.5, num_inference_steps=steps, generator=gen).latents
            return de(prompt=TARGET, negative_prompt=SOURCE, mask_image=m, image_latents=lat, inpaint_strength=0.5,
                      num_inference_steps=steps, guidance_scale=g, generator=gen).images
        rows["paper's method, whole edit (n=1)"] = (
            lambda: edit(img, SOURCE, TARGET, n=1, seed=0, method='noise', models=models, size=a.size, threshold=0.0 if random else None,
                         mask_strength=0.5, strength=0.5, num_inference_steps=steps, guidance_scale=g, progress=False).images,
            theirs_paper)
    return rows, img, r

def cold_one(a):
    "One cold run in this fresh process: load the models a side needs, then its first call. Prints JSON."
    import torch
    dev = torch.device('cuda' if a.gpu else 'cpu')
    tmp = Path(a.cold_dir)
    side, row = a.cold_one.split(':', 1)
    kinds = ('seg', 'inpaint') if row.startswith('seed') else ('sd',)
    t0 = time.perf_counter()
    if side == 'ours':
        models = _models(a, dev, tmp, build=False)
        for k in kinds: models.get(k)
    else: models = _their_models(a, dev, tmp, kinds)
    _sync(dev); load = time.perf_counter() - t0
    if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats()
    a = argparse.Namespace(**{**vars(a), 'rows': ['seed' if row.startswith('seed') else 'paper']})
    rows, _, _ = _work(a, models, dev, check=False)
    f = rows[row][0 if side == 'ours' else 1]
    _sync(dev); t = time.perf_counter(); f(); _sync(dev)
    print('COLD', json.dumps(dict(load=load, first=time.perf_counter() - t,
                                  peak=torch.cuda.max_memory_allocated() / 2**30 if dev.type == 'cuda' else float('nan'))))

def cold(a, row:str, rounds:int)->dict:
    "Cold seconds (load, first call) of each side of `row`, each run in a fresh process, sides alternating."
    out = dict(ours=[], theirs=[])
    tmp = tempfile.mkdtemp()
    if not (a.gpu or a.standins): _ids(a, Path(tmp))  # the tiny folders once, so that building them is not timed as loading
    for r in range(rounds):
        for side in (('ours', 'theirs') if r % 2 == 0 else ('theirs', 'ours')):
            cmd = [sys.executable, __file__, '--cold-one', f'{side}:{row}', '--cold-dir', tmp, '--size', str(a.size),
                   '-n', str(a.n), '--steps', str(a.steps)] + (['--gpu'] if a.gpu else []) + (['--standins', a.standins] if a.standins else [])
            p = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
            if p.returncode: sys.exit(f'benchmark: cold run {side}:{row} failed:\n{p.stderr[-3000:]}')
            out[side].append(json.loads(p.stdout.split('COLD ', 1)[1]))
    return out

# ---------------------------------------------------------------- 12 MP host-side row
HOST_SIZE = (4032, 3024)

def _photo(path:Path):
    "A 4032x3024 JPEG with smooth content and sensor-like noise (a phone photo's size and file size)."
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    W, H = HOST_SIZE
    small = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(small).resize((W, H), Image.BICUBIC), np.int16)
    img = np.clip(base + rng.normal(0, 6, (H, W, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(img).save(path, quality=92)

def host_child(a):
    "One checkout's host-side seconds (this process: that checkout's package first on sys.path, one CPU core). Prints JSON."
    if hasattr(os, 'sched_setaffinity'): os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    import torch; torch.set_num_threads(1)
    from types import SimpleNamespace
    import numpy as np
    from PIL import Image, ImageOps
    import diffedit, diffedit.edit as E
    from diffedit.segment import ClipSeg
    from diffedit.tiny import word_tokenizer
    from transformers import CLIPSegProcessor, ViTImageProcessor
    assert Path(diffedit.__file__).resolve().is_relative_to(Path(a.host_child).resolve()), diffedit.__file__
    # CIDAS/clipseg-rd64-refined's processor (352 px); tokenizing two short prompts costs the same with any vocabulary
    proc = CLIPSegProcessor(image_processor=ViTImageProcessor(size={'height': 352, 'width': 352}, resample=2,
                                                              image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]),
                            tokenizer=word_tokenizer())
    class Timed:  # the processor, timed
        def __init__(self, f): self.f, self.t = f, 0.0
        def __call__(self, *args, **kw):
            t = time.perf_counter(); r = self.f(*args, **kw); self.t += time.perf_counter() - t; return r
        def __getattr__(self, k): return getattr(self.f, k)
    class FakeCLIPSeg(torch.nn.Module):  # fixed logits at 352 px: an ellipse the source prompt sees and the target less
        config = SimpleNamespace(text_config=SimpleNamespace(max_position_embeddings=77))
        def forward(self, input_ids=None, pixel_values=None, **kw):
            H, W = pixel_values.shape[-2:]
            yy, xx = torch.meshgrid(torch.linspace(-1, 1, H), torch.linspace(-1, 1, W), indexing='ij')
            blob = 6 * (1 - (xx / 0.45)**2 - (yy / 0.55)**2) - 2
            logits = torch.stack([blob - 4 * (i > 0) for i in range(input_ids.shape[0])])
            return SimpleNamespace(logits=logits[0] if len(logits) == 1 else logits)
    class FakePipe:  # what edit reads of a pipeline besides its forward passes
        tokenizer = proc.tokenizer
        def set_progress_bar_config(self, **kw): pass
    timed = Timed(proc)
    seg = ClipSeg(model=FakeCLIPSeg(), processor=timed, device=torch.device('cpu'), dtype=torch.float32)
    E.inpaint = lambda pipe, image, mask, prompt, negative_prompt=None, seeds=(0,), **kw: [ImageOps.invert(image.convert('RGB')) for _ in seeds]
    models = E.Models('sd15', device='cpu', seg=seg, inpaint=FakePipe())  # components passed in: nothing loads
    runs = []
    with tempfile.TemporaryDirectory() as d:
        for i in range(a.repeats + 1):  # the first is a warm-up
            timed.t = 0.0
            t0, c0 = time.perf_counter(), time.process_time()
            res = E.edit(a.photo, SOURCE, TARGET, n=3, models=models, progress=False)
            t1 = time.perf_counter()
            res.save(Path(d)/str(i))
            save, cpu = time.perf_counter() - t1, time.process_time() - c0
            t = res.timings
            model = t.get('inpaint', 0) + t.get('load_models', 0)  # the stubbed forward passes and the (cached) loads
            runs.append(dict(load=t['load_image'], clipseg_pre=timed.t, mask=t['mask'] - timed.t, paste_back=t['paste_back'],
                             save=save, total=(t1 - t0) - model + save, but_save=(t1 - t0) - model, cpu=cpu, mask_frac=float((np.asarray(res.mask) > 127).mean())))
    print('HOST', json.dumps(runs[1:]))

def host(a):
    "The 12 MP row for each of `a.tree`, one process per checkout and round, checkouts alternating."
    trees = [str(Path(t).resolve()) for t in (a.tree or [str(ROOT)])]
    tmp = Path(tempfile.mkdtemp()); photo = tmp/'photo.jpg'; _photo(photo)
    res = {t: [] for t in trees}
    for r in range(a.rounds):
        for t in (trees if r % 2 == 0 else trees[::-1]):
            env = {**os.environ, 'PYTHONPATH': t, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}
            p = subprocess.run([sys.executable, __file__, '--host-child', t, '--photo', str(photo), '--repeats', str(a.repeats)],
                               capture_output=True, text=True, env=env, cwd=tmp)
            if p.returncode: sys.exit(f'benchmark: host run in {t} failed:\n{p.stderr[-3000:]}')
            res[t].extend(json.loads(p.stdout.split('HOST ', 1)[1]))
    parts = ['load', 'clipseg_pre', 'mask', 'paste_back', 'but_save', 'save', 'total', 'cpu']
    print(f"\n12 MP host-side seconds: {HOST_SIZE[0]}x{HOST_SIZE[1]} JPEG, seed method, n=3, models' forward passes stubbed, "
          f"one CPU core; min / median of {a.rounds}x{a.repeats} runs per checkout, checkouts alternating; wall seconds per part, "
          f"`but_save` all but saving, `total` all, `cpu` the process's CPU seconds for all of it (steadier than wall time on a shared machine)\n")
    print('| checkout | ' + ' | '.join(parts) + ' | mask area |')
    print('|---|' + '---|' * (len(parts) + 1))
    for t in trees:
        v = res[t]
        print(f"| {_describe(t)} | " + ' | '.join(_mm([x[k] for x in v]) for k in parts) + f" | {v[0]['mask_frac']:.0%} |")
    if len(trees) > 1:
        base = statistics.median(x['total'] for x in res[trees[0]])
        for t in trees[1:]:
            print(f"\ntotal, median: {_describe(t)} takes {statistics.median(x['total'] for x in res[t]) / base:.2f}x of {_describe(trees[0])}")
    for t in trees:
        m, c = statistics.median(x['total'] for x in res[t]), min(x['cpu'] for x in res[t])
        print(f"budget (< 1 s host-side): {_describe(t)} {'within' if m < 1 else 'OVER'} (median {m:.2f} s wall, least {c:.2f} s CPU)")

def _describe(tree)->str:
    try: rev = subprocess.run(['git', '-C', tree, 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()
    except OSError: rev = ''
    dirty = subprocess.run(['git', '-C', tree, 'status', '--porcelain', '--', 'diffedit'], capture_output=True, text=True).stdout.strip()
    return f"{Path(tree).name}@{rev}{'+changes' if dirty else ''}"

# ---------------------------------------------------------------- --batch: many items, one process or two, against one call per item
_LOOP = """
import csv, json, sys, time
from pathlib import Path
from diffedit.core import quiet_libraries; quiet_libraries(False)
from diffedit.core import DiffEditError
from diffedit.edit import edit, Models
m, out, steps = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
models = Models('toy', device='cpu')
t = time.perf_counter()
failed = 0
for r in csv.DictReader(open(m)):
    try: res = edit(m.parent/r['image'], r['source'], r['target'], n=1, seed=int(r['seed']), models=models, num_inference_steps=steps, progress=False)
    except DiffEditError: failed += 1; continue  # an empty mask: the batch records it and goes on, so does this loop
    res.save(out/Path(r['image']).stem)
print(json.dumps(dict(loop=time.perf_counter() - t, failed=failed)))
"""

def _toy_manifest(d:Path, n:int)->Path:
    "`n` toy recolouring items (held-out scenes), pictures beside the manifest."
    import csv
    from diffedit.toy import toy_scene, caption, EVAL_SEED0
    rows = []
    for i in range(n):
        s = toy_scene(EVAL_SEED0 + i, size=64); s.image.save(d/f'scene{i:03d}.png')
        c, sh = s.objects[0]
        rows.append(dict(image=f'scene{i:03d}.png', source=s.captions[0], target=caption('red' if c != 'red' else 'blue', sh), seed=i))
    with open(d/'edits.csv', 'w', newline='') as f:
        w = csv.DictWriter(f, list(rows[0])); w.writeheader(); w.writerows(rows)
    return d/'edits.csv'

def _timed(cmd, ok=(0,), **kw)->tuple:
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, 'HF_HUB_OFFLINE': '1'}, **kw)
    if r.returncode not in ok: sys.exit(f"benchmark: {' '.join(map(str, cmd[:4]))} ... failed ({r.returncode}): {r.stderr[-2000:]}")
    return time.perf_counter() - t, r

def _pictures(out:Path)->dict:
    import hashlib
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob('*/*.png')) if p.parent.name != 'thumbs'}

def batch_rows(a):
    "Items per second of `diffedit batch` (one and two processes), one `diffedit edit` per item, and an `edit()` loop."
    sys.path.insert(0, str(ROOT))
    tmp = Path(tempfile.mkdtemp())
    m = _toy_manifest(tmp, a.items)
    steps, py = a.steps, sys.executable
    flags = ['--models', 'toy', '--device', 'cpu', '-n', '1', '--steps', str(steps), '--no-progress']
    res = {}
    t, _ = _timed([py, '-m', 'diffedit.batch', m, '--out', tmp/'batch', *flags], ok=(0, 1)); res['batch'] = (a.items, t)
    t, r = _timed([py, '-c', _LOOP, m, tmp/'loop', str(steps)]); res['loop'] = (a.items, t, json.loads(r.stdout.strip().splitlines()[-1]))
    import csv
    rows = list(csv.DictReader(open(m)))[:a.cli_items]
    cli = [str(Path(py).parent/'diffedit')] if (Path(py).parent/'diffedit').exists() else [py, '-m', 'diffedit.cli']
    t0 = time.perf_counter()
    for r in rows:
        _timed([*cli, 'edit', tmp/r['image'], '--source', r['source'], '--target', r['target'], '-n', '1', '--seed', r['seed'],
                '--steps', str(steps), '--models', 'toy', '--device', 'cpu', '--out', tmp/'cli'/Path(r['image']).stem], ok=(0, 1))
    res['cli'] = (len(rows), time.perf_counter() - t0)
    t, _ = _timed([py, '-m', 'diffedit.batch', m, '--out', tmp/'one-thread', '--threads', '1', *flags], ok=(0, 1)); res['one thread'] = (a.items, t)
    torchrun = Path(py).parent/'torchrun'
    t, _ = _timed([str(torchrun), '--nproc-per-node', '2', '-m', 'diffedit.batch', m, '--out', tmp/'two', *flags], ok=(0, 1)); res['two'] = (a.items, t)
    same_cli = sum(_pictures(tmp/'cli')[k] == v for k, v in _pictures(tmp/'batch').items() if k in _pictures(tmp/'cli'))
    two, one1, one2 = _pictures(tmp/'two'), _pictures(tmp/'one-thread'), _pictures(tmp/'batch')
    import torch
    print(f"CPU ({os.cpu_count()} cores, torch {torch.get_num_threads()} threads), toy models, 64 px scenes, n=1, {steps} steps; "
          f"each side a fresh process timed from start to exit (imports and model loading included)\n")
    print('| way | items | seconds | items/s | vs one `diffedit edit` per item |')
    print('|---|---|---|---|---|')
    base = res['cli'][0] / res['cli'][1]
    for name, label in [('cli', 'one `diffedit edit` call per item'), ('loop', '`edit()` + `save` in a Python loop (one process)'),
                        ('batch', '`diffedit batch`, one process'), ('one thread', '`diffedit batch --threads 1`, one process'),
                        ('two', '`diffedit batch` under `torchrun --nproc-per-node 2`')]:
        k, t = res[name][:2]
        print(f"| {label} | {k} | {t:.1f} | {k/t:.2f} | {k/t/base:.1f}x |")
    import csv as _csv
    failed = sum(r['status'] == 'failed' for r in _csv.DictReader(open(tmp/'batch'/'summary.csv')))
    print(f"\nthe loop's own time, models loaded: {res['loop'][2]['loop']:.1f} s ({a.items/res['loop'][2]['loop']:.2f} items/s); "
          f"items whose mask came out empty (recorded as failed, counted in items/s): {failed} in the batch, {res['loop'][2]['failed']} in the loop")
    print(f"pictures: two processes vs one process --threads 1: {'identical' if two == one1 else 'DIFFERENT'} ({len(two)} files); "
          f"vs one process, {torch.get_num_threads()} threads: {sum(two[k] == one2.get(k) for k in two)} of {len(two)} files identical; "
          f"batch vs the per-item CLI calls: {same_cli} of {len(_pictures(tmp/'cli'))} identical")
    shutil.rmtree(tmp, ignore_errors=True)

# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--gpu', action='store_true', help="CUDA, fp16, the sd15 preset's full-size models (default: CPU, tiny models)")
    ap.add_argument('--standins', default=None, help='build/use full-size random stand-ins in this folder (offline; on CPU: slow)')
    ap.add_argument('--host', action='store_true', help='the 12 MP host-side row only')
    ap.add_argument('--tree', action='append', help='with --host: a checkout to measure (repeat to compare; default this one)')
    ap.add_argument('--rows', default='seed,paper', help='comma-separated: seed (inpainting method), paper (DiffEdit noise method)')
    ap.add_argument('--size', type=int, default=None, help='long side of the work size (default 128 CPU / 512 GPU)')
    ap.add_argument('-n', type=int, default=3, help='variations of the seed method (default 3)')
    ap.add_argument('--steps', type=int, default=None, help='denoising steps (default 20 CPU / 50 GPU)')
    ap.add_argument('--rounds', type=int, default=None, help='timed rounds per row (default 5 CPU / 5 GPU / 3 host)')
    ap.add_argument('--repeats', type=int, default=3, help='with --host: timed runs per process (default 3)')
    ap.add_argument('--cold-rounds', type=int, default=None, help='fresh-process runs per side (default 0 CPU / 2 GPU)')
    ap.add_argument('--cold-one', help=argparse.SUPPRESS); ap.add_argument('--cold-dir', help=argparse.SUPPRESS)
    ap.add_argument('--batch', action='store_true', help='the batch rows only: diffedit batch vs one diffedit edit per item vs an edit() loop (CPU, toy)')
    ap.add_argument('--items', type=int, default=200, help='with --batch: toy items in the manifest (default 200)')
    ap.add_argument('--cli-items', type=int, default=20, help='with --batch: items timed with one diffedit edit call each (default 20)')
    ap.add_argument('--host-child', help=argparse.SUPPRESS); ap.add_argument('--photo', help=argparse.SUPPRESS)
    a = ap.parse_args()
    a.rows = [r.strip() for r in a.rows.split(',') if r.strip()]
    a.size, a.steps = a.size or (512 if a.gpu else 128), a.steps or (50 if a.gpu else 20)
    os.environ.setdefault('HF_HUB_OFFLINE', '0' if a.gpu and not a.standins else '1')
    _quiet()
    if a.host_child: return host_child(a)
    if a.batch: return batch_rows(a)
    if a.host:
        a.rounds = a.rounds or 3
        return host(a)
    if a.standins:  # before anything imports huggingface_hub, which reads HF_HUB_CACHE once
        sys.path.insert(0, str(ROOT))
        os.environ['HF_HUB_CACHE'] = str(Path(a.standins).resolve()/'hub'); os.environ['HF_HUB_OFFLINE'] = '1'
        sys.path.insert(0, str(ROOT/'tools')); from standins import sd15_standins  # a test fixture, not the package's
        assert str(sd15_standins(Path(a.standins).resolve())) == os.environ['HF_HUB_CACHE']  # built now if missing
    sys.path.insert(0, str(ROOT))
    import torch
    import diffusers.utils.logging as dl, transformers.utils.logging as tl
    for lg in (dl, tl): lg.disable_progress_bar()  # loading bars
    if a.gpu and not torch.cuda.is_available(): sys.exit('benchmark: --gpu asked for but no CUDA GPU is available')
    if a.cold_one: return cold_one(a)
    dev = torch.device('cuda' if a.gpu else 'cpu')
    rounds = a.rounds or 5
    tmp = Path(tempfile.mkdtemp())
    models = _models(a, dev, tmp)
    t = time.perf_counter()
    for k in ('seg', 'inpaint', 'sd'): models.get(k)
    load = time.perf_counter() - t
    rows, img, r = _work(a, models, dev)
    kind = 'full-size random stand-ins' if a.standins else 'the sd15 preset' if a.gpu else 'tiny random models'
    what = (f"{'CUDA ' + torch.cuda.get_device_name() + ', fp16' if a.gpu else 'CPU (' + str(torch.get_num_threads()) + ' threads), fp32'}, {kind}; "
            f"input {img.size[0]}x{img.size[1]}, work size {r.image.size[0]}x{r.image.size[1]}, n={a.n} (seed method), {a.steps} steps, "
            f"CFG 7.5; warm: {rounds} alternating rounds after a warm-up; models loaded in {load:.1f} s; torch {torch.__version__}")
    print(what + '\n')
    print('| row | diffedit min / median (s) | diffusers min / median (s) | ratio ours/theirs, median (range) |' + (' peak GiB ours / diffusers |' if a.gpu else ''))
    print('|---|---|---|---|' + ('---|' if a.gpu else ''))
    for name, (ours, theirs) in rows.items():
        p = paired(ours, theirs, rounds, dev)
        mem = f" {peak_gib(ours, dev):.2f} / {peak_gib(theirs, dev):.2f} |" if a.gpu else ''
        print(f"| {name} | {_mm(p['ours'])} | {_mm(p['theirs'])} | {_ratio(p['ratios'])} |{mem}", flush=True)
    cr = a.cold_rounds if a.cold_rounds is not None else (2 if a.gpu else 0)
    if cr:
        print(f"\ncold (a fresh process per run, sides alternating, {cr} each): load + first call, seconds; peak GiB of the first call\n")
        print('| row | diffedit load / first | diffusers load / first | peak GiB ours / diffusers |')
        print('|---|---|---|---|')
        for name in [k for k in rows if 'whole edit' in k]:
            c = cold(a, name, cr)
            f = lambda side, k: statistics.median(x[k] for x in c[side])
            print(f"| {name} | {f('ours', 'load'):.2f} / {f('ours', 'first'):.2f} | {f('theirs', 'load'):.2f} / {f('theirs', 'first'):.2f} | "
                  f"{max(x['peak'] for x in c['ours']):.2f} / {max(x['peak'] for x in c['theirs']):.2f} |", flush=True)

if __name__ == '__main__': main()
