"""The `diffedit` console script, run in a subprocess as a user runs it: offline, on tiny random models saved to folders.

Fast on purpose (64-128 px work size, 2-3 steps). The tiny CLIPSeg is random, so tests of the clipseg path use a
low --threshold, or their own --mask, to get a non-empty mask.
"""
import hashlib, json, os, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
from PIL import Image

SCRIPT = Path(sys.executable).parent/'diffedit'  # installed by `pip install -e .` (settings.ini: diffedit=diffedit.cli:main)
ENV = {**os.environ, 'HF_HUB_OFFLINE': '1', 'TRANSFORMERS_OFFLINE': '1', 'PYTHONWARNINGS': 'default'}

def run(*args, cwd=None):
    "Run the console script; return the CompletedProcess (text stdout/stderr)."
    cmd = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, '-m', 'diffedit.cli']
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, env=ENV, cwd=cwd, timeout=600)

def sha(p): return hashlib.sha256(Path(p).read_bytes()).hexdigest()
def arr(p): return np.asarray(Image.open(p).convert('RGB'))

@pytest.fixture(scope='module')
def w(tmp_path_factory):
    "A folder with tiny models, a 300x200 picture and a mask (white = edit)."
    from diffedit.tiny import tiny_clipseg, tiny_inpaint, tiny_sd
    d = tmp_path_factory.mktemp('cli')
    tiny_clipseg(d/'clipseg'); tiny_inpaint(d/'inpaint'); tiny_sd(d/'sd')
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (200, 300, 3), dtype=np.uint8))  # 300 wide, 200 high
    img.save(d/'in.png')
    m = Image.new('L', (300, 200), 0); m.paste(255, (80, 50, 230, 160)); m.save(d/'mask.png')
    Image.new('L', (300, 200), 0).save(d/'black.png')
    (d/'corrupt.png').write_bytes(b'\x89PNG\r\n\x1a\n' + b'not really a png' * 10)
    (d/'notamodel').mkdir(); (d/'notamodel'/'config.json').write_text('{"hello": 1}')
    return d

def tiny(w, steps=2): return ['--seg-model', w/'clipseg', '--inpaint-model', w/'inpaint', '--sd-model', w/'sd',
                              '--steps', steps, '--size', 128, '--device', 'cpu']

def test_console_script_installed():
    assert SCRIPT.exists(), f"{SCRIPT} is missing: install the package with `pip install -e .`"
    r = run('--help')
    assert r.returncode == 0 and 'edit' in r.stdout and 'demo' in r.stdout and 'eval' in r.stdout

def test_edit_writes_everything(w):
    "N variations of 300x200, the mask, the grid and the JSON; pixels outside the mask are the input's; the input is untouched."
    before = sha(w/'in.png')
    r = run('edit', w/'in.png', '--source', 'a horse', '--target', 'a zebra', '-n', 3, '--mask', w/'mask.png',
            '--out', w/'out', *tiny(w, 3))
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in (w/'out').iterdir())
    assert names == ['edit.json', 'edit_0_seed0.png', 'edit_1_seed1.png', 'edit_2_seed2.png', 'grid.png', 'mask.png']
    inp, m = arr(w/'in.png'), np.asarray(Image.open(w/'out'/'mask.png')) > 127
    assert (m == (np.asarray(Image.open(w/'mask.png')) > 127)).all()
    for i in range(3):
        out = arr(w/'out'/f'edit_{i}_seed{i}.png')
        assert out.shape == (200, 300, 3)
        assert (out[~m] == inp[~m]).all()       # outside the mask: exactly the input
        assert np.abs(out[m].astype(int) - inp[m]).mean() > 1  # inside: edited
    rec = json.loads((w/'out'/'edit.json').read_text())
    assert rec['seeds'] == [0, 1, 2] and rec['params']['seeds'] == [0, 1, 2]
    assert rec['params']['method'] == 'clipseg' and rec['params']['source'] == 'a horse' and rec['params']['target'] == 'a zebra'
    assert rec['params']['model_ids']['inpaint'] == str((w/'inpaint').resolve())
    assert rec['params']['input_size'] == [300, 200] and rec['params']['num_inference_steps'] == 3
    assert {'diffedit', 'torch', 'diffusers', 'transformers'} <= set(rec['versions'])
    assert rec['timings']['total'] > 0 and rec['wall_seconds'] > 0 and rec['command'][:2] == ['diffedit', 'edit']
    assert sorted(rec['files']) == [n for n in names]
    assert sha(w/'in.png') == before
    assert not [p for p in (w/'out').iterdir() if p.name.startswith('.')]  # no temporary files left

def test_clipseg_mask_and_seeds(w):
    "The computed mask path; same seed -> identical files, another seed -> different; variation i = seed+i alone."
    common = ['--source', 'a horse', '--target', 'a zebra', '--threshold', '0.02', *tiny(w)]
    a = run('edit', w/'in.png', '-n', 2, '--out', w/'s_a', *common)
    assert a.returncode == 0, a.stderr
    b = run('edit', w/'in.png', '-n', 2, '--out', w/'s_b', *common)
    c = run('edit', w/'in.png', '-n', 1, '--seed', 1, '--out', w/'s_c', *common)
    assert b.returncode == 0 and c.returncode == 0, b.stderr + c.stderr
    for f in ['edit_0_seed0.png', 'edit_1_seed1.png', 'mask.png']: assert sha(w/'s_a'/f) == sha(w/'s_b'/f)
    assert (arr(w/'s_a'/'edit_0_seed0.png') != arr(w/'s_a'/'edit_1_seed1.png')).any()
    assert np.abs(arr(w/'s_c'/'edit_0_seed1.png').astype(int) - arr(w/'s_a'/'edit_1_seed1.png')).max() <= 2
    m = np.asarray(Image.open(w/'s_a'/'mask.png')) > 127
    assert m.any() and (arr(w/'s_a'/'edit_0_seed0.png')[~m] == arr(w/'in.png')[~m]).all()

def test_noise_method(w):
    "--method noise uses the text-to-image model (noise mask + DDIM decoding), at the input's size."
    r = run('edit', w/'in.png', '--source', 'a horse', '--target', 'a zebra', '-n', 1, '--method', 'noise',
            '--threshold', '0.02', '--mask-strength', '0.7', '--out', w/'noise', *tiny(w))
    assert r.returncode == 0, r.stderr
    rec = json.loads((w/'noise'/'edit.json').read_text())
    assert rec['params']['method'] == 'noise' and rec['params']['model_ids']['sd'] == str((w/'sd').resolve())
    assert (rec['params']['mask_strength'], rec['params']['strength']) == (0.7, 0.5)
    out, m = arr(w/'noise'/'edit_0_seed0.png'), np.asarray(Image.open(w/'noise'/'mask.png')) > 127
    assert out.shape == (200, 300, 3) and (out[~m] == arr(w/'in.png')[~m]).all()

def test_no_overwrite_without_force(w):
    args = ['edit', w/'in.png', '--source', 'a horse', '--target', 'a cat', '-n', 1, '--mask', w/'mask.png', '--out', w/'f', *tiny(w)]
    assert run(*args).returncode == 0
    first = sha(w/'f'/'edit_0_seed0.png')
    r = run(*args[:5], 'a dog', *args[6:])
    assert r.returncode == 1 and 'already holds' in r.stderr and '--force' in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert sha(w/'f'/'edit_0_seed0.png') == first
    r = run(*args[:5], 'a dog', *args[6:], '--force')
    assert r.returncode == 0, r.stderr
    assert json.loads((w/'f'/'edit.json').read_text())['params']['target'] == 'a dog'

def test_never_writes_the_input(w):
    d = w/'own'; d.mkdir()
    Image.open(w/'in.png').save(d/'mask.png')  # an input picture named like one of the outputs
    before = sha(d/'mask.png')
    r = run('edit', d/'mask.png', '--source', 'a horse', '--target', 'a zebra', '-n', 1, '--mask', w/'mask.png', '--out', d, '--force', *tiny(w))
    assert r.returncode != 0 and 'refusing to overwrite the input' in r.stderr
    assert sha(d/'mask.png') == before and sorted(p.name for p in d.iterdir()) == ['mask.png']

BAD = {  # name: (arguments after IMAGE's place, text the one-line error must contain)
    'missing image': (['{w}/nope.png', '--source', 'a horse', '--target', 'a zebra'], 'no such file'),
    'corrupt image': (['{w}/corrupt.png', '--source', 'a horse', '--target', 'a zebra'], 'corrupt'),
    'empty source': (['{w}/in.png', '--source', ' ', '--target', 'a zebra'], 'source prompt is empty'),
    'empty target': (['{w}/in.png', '--source', 'a horse', '--target', ''], 'target prompt is empty'),
    'source == target': (['{w}/in.png', '--source', 'a horse', '--target', 'A horse'], 'the same'),
    'n < 1': (['{w}/in.png', '--source', 'a horse', '--target', 'a zebra', '-n', '0'], '-n=0'),
    'not a model folder': (['{w}/in.png', '--source', 'a horse', '--target', 'a zebra', '--mask', '{w}/mask.png',
                            '--inpaint-model', '{w}/notamodel'], 'cannot load the inpainting model'),
    'a model of the wrong kind': (['{w}/in.png', '--source', 'a horse', '--target', 'a zebra', '--mask', '{w}/mask.png',
                                   '--inpaint-model', '{w}/sd'], 'not an inpainting model'),
    'hub id offline': (['{w}/in.png', '--source', 'a horse', '--target', 'a zebra', '--threshold', '0.02',
                        '--seg-model', 'nobody/no-such-clipseg'], 'cannot load the CLIPSeg'),
    'empty mask (threshold 1)': (['{w}/in.png', '--source', 'a horse', '--target', 'a zebra', '--threshold', '1'], 'mask is empty'),
    'empty mask (all-black --mask)': (['{w}/in.png', '--source', 'a horse', '--target', 'a zebra', '--mask', '{w}/black.png'], 'mask is empty'),
    'missing mask file': (['{w}/in.png', '--source', 'a horse', '--target', 'a zebra', '--mask', '{w}/nomask.png'], 'the mask'),
    'unknown preset': (['{w}/in.png', '--source', 'a horse', '--target', 'a zebra', '--models', 'sd9'], 'unknown models preset'),
    'bad method': (['{w}/in.png', '--source', 'a horse', '--target', 'a zebra', '--method', 'magic'], 'invalid choice'),
    'bad number': (['{w}/in.png', '--source', 'a horse', '--target', 'a zebra', '-n', 'three'], 'invalid int'),
}

@pytest.mark.parametrize('case', list(BAD))
def test_bad_input(w, case):
    "One line on stderr, a non-zero exit code, no traceback, nothing written."
    args, contains = BAD[case]
    out = w/f'bad-{abs(hash(case))}'
    # the tiny models come first so that a case's own --inpaint-model/--seg-model (argparse: last one wins) overrides them
    r = run('edit', *tiny(w), *[a.format(w=w) for a in args], '--out', out)
    assert r.returncode != 0
    assert 'Traceback' not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert contains in r.stderr, r.stderr
    assert not out.exists()

def test_app_command():
    "`diffedit app`: its arguments checked in a blink; without the app extra, one line naming it."
    r = run('app', '--models', 'sd9')
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and '--models' in r.stderr, r.stderr
    code = "import sys; sys.modules['gradio'] = None; import diffedit.cli as c; sys.exit(c.main(['app', '--port', '7999']))"
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=ENV, timeout=300)
    assert r.returncode == 1 and r.stderr.strip().splitlines() == ['diffedit app: error: the app needs gradio: install the extra with pip install "diffedit[app]"'], r.stderr

def test_eval_formats():
    "`diffedit eval --format csv|json` prints the same numbers machine-readable (in process: the CLI's own `main`)."
    import contextlib, csv, io
    from diffedit.cli import main
    out, env = {}, dict(os.environ)
    try:
        for f in ('csv', 'json'):
            o = io.StringIO()
            with contextlib.redirect_stdout(o), contextlib.redirect_stderr(io.StringIO()):
                assert main(['eval', '--models', 'toy', '--scenes', '2', '--device', 'cpu', '--format', f]) == 0
            out[f] = o.getvalue()
    finally: os.environ.clear(); os.environ.update(env)  # main sets TQDM_DISABLE and the libraries' verbosity for its process
    rows, js = list(csv.DictReader(io.StringIO(out['csv']))), json.loads(out['json'])
    assert [r['method'] for r in rows] == [j['method'] for j in js] == ['clipseg']*3
    assert [r['kind'] for r in rows] == [j['kind'] for j in js] == ['recolour', 'horse->zebra', 'zebra->horse']
    assert [float(r['median_iou']) for r in rows] == [j['median_iou'] for j in js] and js[0]['scenes'] == 2
