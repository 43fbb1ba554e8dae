"""The `sd15` preset at full size, offline, on a CPU: `pytest -m slow` (the default run skips these).

The models are random-weight stand-ins of the preset's three checkpoints (`tools/standins.py`: the hub
repositories' exact configurations, CLIP's 49408-token tokenizer, about 11 GB), built once into $DIFFEDIT_STANDINS
(kept between sessions) or else a temporary folder, and laid out as a Hugging Face cache. Every edit names the models
by their hub ids (`--models sd15`) with HF_HUB_CACHE pointing at that cache and HF_HUB_OFFLINE=1.

Edits run in child processes: huggingface_hub reads HF_HUB_CACHE when it is imported, and each child's peak memory is
its own (printed). The shapes are the real ones (a 1024x680 picture worked at 512x336); the CPU time is kept down with
n <= 2, 1-2 denoising steps and 2 noise draws for the DiffEdit mask (the preset's default is the paper's 10).
"""
import json, os, resource, subprocess, sys, time
from pathlib import Path
import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow

IDS = dict(seg='CIDAS/clipseg-rd64-refined', inpaint='stable-diffusion-v1-5/stable-diffusion-inpainting',
           sd='stable-diffusion-v1-5/stable-diffusion-v1-5')
METHODS = ('clipseg', 'noise', 'intersection', 'union')
SIZE, WORK = (1024, 680), [512, 336]
# Random CLIPSeg heatmaps of two prompts differ by a little, pixel by pixel: little smoothing and a low threshold keep a mask
THRESHOLD, SIGMA = 0.01, 1.0
LONG = ' '.join(['a zebra with black and white stripes standing in tall golden grass'] * 8
                + ['under a dramatic evening sky full of clouds, photographed with long lens'] * 2)  # 120 words, ~130 CLIP tokens
SCRIPT = Path(sys.executable).parent/'diffedit'

# A child process: run `edit()` or the CLI's `main()` for each job, with the noise draws cut to `draws`, print JSON.
CHILD = r'''
import json, resource, sys, time
jobs, draws = json.loads(sys.argv[1]), int(sys.argv[2])
from diffedit.core import quiet_libraries; quiet_libraries(progress=False)
import diffedit.edit as E
from diffedit.cli import main
import diffedit.settings as S
S.PRESETS['sd15'] = S.replace(S.PRESETS['sd15'], noise_draws=draws)  # presets are data: the sd15 preset with fewer draws
secs = {}
for j in jobs:
    t = time.perf_counter()
    if 'argv' in j: assert main(j['argv']) == 0, j['argv']
    else: E.edit(j['image'], j['source'], j['target'], models='sd15', **j['kw']).save(j['out'])
    secs[j['name']] = round(time.perf_counter() - t, 1)
print('RESULT', json.dumps(dict(seconds=secs, peak_gb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2))))
'''

def say(capsys, *a):
    with capsys.disabled(): print('\n[slow]', *a, flush=True)

@pytest.fixture(scope='module')
def hub(tmp_path_factory):
    "(environment with HF_HUB_CACHE at the stand-in cache, a folder holding a 1024x680 picture)."
    root = Path(os.environ.get('DIFFEDIT_STANDINS') or tmp_path_factory.mktemp('standins'))
    t = time.perf_counter()
    r = subprocess.run([sys.executable, str(Path(__file__).resolve().parent.parent/'tools'/'standins.py'), str(root)],
                       capture_output=True, text=True, env={**os.environ, 'HF_HUB_OFFLINE': '1'})
    assert r.returncode == 0, r.stderr[-3000:]
    cache = r.stdout.strip().splitlines()[-1]
    print(f'stand-ins ready in {cache} ({time.perf_counter() - t:.0f} s)')
    d = tmp_path_factory.mktemp('slow')
    y, x = np.mgrid[0:SIZE[1], 0:SIZE[0]]
    img = np.stack([x * 255 // SIZE[0], y * 255 // SIZE[1], 128 + 0 * x], -1).astype(np.uint8)  # a gradient...
    img[200:500, 300:700] = (200, 120, 40)                                                   # ...with an object
    Image.fromarray(img).save(d/'in.png')
    env = {**os.environ, 'HF_HUB_CACHE': cache, 'HF_HUB_OFFLINE': '1', 'TRANSFORMERS_OFFLINE': '1'}
    return env, d

def child(env, jobs, draws=2):
    r = subprocess.run([sys.executable, '-c', CHILD, json.dumps(jobs), str(draws)], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-4000:]
    return json.loads(r.stdout.split('RESULT ', 1)[1])

def arr(p): return np.asarray(Image.open(p).convert('RGB'))

def check(out, d, method, n, steps, target='a zebra'):
    "Files, sizes, pixels outside the mask, and the record of one edit saved in `out`."
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f'edit_{i}_seed{i}.png' for i in range(n)] + ['mask.png', 'grid.png', 'edit.json']), names
    inp, mask = arr(d/'in.png'), np.asarray(Image.open(out/'mask.png')) > 127
    assert mask.shape == (SIZE[1], SIZE[0]) and mask.any()
    outs = [arr(out/f'edit_{i}_seed{i}.png') for i in range(n)]
    for o in outs:
        assert o.shape == (SIZE[1], SIZE[0], 3)
        assert (o[~mask] == inp[~mask]).all()                      # outside the mask: the input, exactly
        assert np.abs(o[mask].astype(int) - inp[mask]).mean() > 1  # inside: painted
    if n > 1: assert (outs[0] != outs[1]).any()                    # another seed, another picture
    rec = json.loads((out/'edit.json').read_text())
    p = rec['params']
    assert p['method'] == method and p['models'] == 'sd15' and p['target'] == target and p['prompt'] == target
    assert p['input_size'] == list(SIZE) and p['work_size'] == WORK
    assert p['n'] == n and rec['seeds'] == list(range(n)) and p['num_inference_steps'] == steps
    assert p['device'] == 'cpu' and p['dtype'] == 'float32'
    want = dict(seg=IDS['seg'] if method != 'noise' else None, inpaint=IDS['inpaint'] if method == 'clipseg' else None,
                sd=IDS['sd'] if method != 'clipseg' else None)
    assert p['model_ids'] == want, p['model_ids']  # found by hub id in the cache, not as folders
    assert rec['timings']['total'] > 0
    return rec

def test_console_script(hub, capsys):
    "`diffedit edit ... --models sd15` as a user types it: CLIPSeg mask, SD inpainting at 512x336, pasted back at 1024x680."
    env, d = hub
    cmd = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, '-m', 'diffedit.cli']
    t = time.perf_counter()
    r = subprocess.run(cmd + ['edit', str(d/'in.png'), '--source', 'a horse', '--target', 'a zebra', '-n', '2', '--steps', '1',
                              '--threshold', str(THRESHOLD), '--sigma', str(SIGMA), '--models', 'sd15', '--device', 'cpu', '--out', str(d/'cli')],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-4000:]
    rec = check(d/'cli', d, 'clipseg', 2, 1)
    assert rec['command'][:2] == ['diffedit', 'edit'] and rec['wall_seconds'] > 0
    say(capsys, f'console script, clipseg, n=2, 1 step: {time.perf_counter() - t:.0f} s, '
                f'peak {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20:.2f} GB (largest child so far)')

def test_every_method(hub, capsys):
    "`edit()` with every mask method, n=2, on the non-square picture."
    env, d = hub
    steps = dict(clipseg=1, noise=2, intersection=2, union=2)  # DDIM at strength 0.5 needs 2 steps for one of decoding
    jobs = [dict(name=m, image=str(d/'in.png'), source='a horse', target='a zebra', out=str(d/f'edit_{m}'),
                 kw=dict(method=m, n=2, num_inference_steps=steps[m], threshold=THRESHOLD, sigma=SIGMA, device='cpu', progress=False))
            for m in METHODS]
    res = child(env, jobs)
    for m in METHODS: check(d/f'edit_{m}', d, m, 2, steps[m])
    say(capsys, f'edit(), every method, n=2: seconds {res["seconds"]}, peak {res["peak_gb"]} GB')

def test_long_prompt_every_method(hub, capsys):
    "A 120-word prompt (about 130 CLIP tokens) through every method, by the command line's `main`: every text encoder truncates."
    env, d = hub
    steps = dict(clipseg=1, noise=2, intersection=2, union=2)
    jobs = [dict(name=m, argv=['edit', str(d/'in.png'), '--source', 'a horse', '--target', LONG, '-n', '1', '--steps', str(steps[m]),
                               '--method', m, '--threshold', str(THRESHOLD), '--sigma', str(SIGMA), '--models', 'sd15', '--device', 'cpu',
                               '--out', str(d/f'long_{m}'), '--no-progress'])
            for m in METHODS]
    res = child(env, jobs)
    for m in METHODS: check(d/f'long_{m}', d, m, 1, steps[m], target=LONG)
    say(capsys, f'120-word target, every method, n=1: seconds {res["seconds"]}, peak {res["peak_gb"]} GB')
