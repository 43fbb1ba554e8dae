"""`diffedit edit` as a hostile user runs it (issue 10): every bad input and every fault ends with one clear line.

Each failing case must: exit 1 (2 for command-line syntax; 130/143 for Ctrl-C/SIGTERM), print exactly one line on
stderr naming the fix, no traceback, leave nothing in the output folder (or an existing folder byte-identical), and
leave the input untouched. A run that succeeds writes all files, with the umask's mode, and strict JSON.
Runs use the shipped toy models at 64 px (or tiny random ones saved to folders), so the suite stays fast.
"""
import hashlib, json, os, shlex, shutil, signal, subprocess, sys, textwrap, time
from pathlib import Path
import numpy as np
import pytest
from PIL import Image

ENV = {**os.environ, 'HF_HUB_OFFLINE': '1', 'TRANSFORMERS_OFFLINE': '1'}
ENV.pop('DIFFEDIT_DEBUG', None)
# run `main` in a fresh interpreter, after the driver's own setup (a fault to inject); report whether torch was imported
DRIVER = """
import os, sys, signal, builtins, importlib
{setup}
import diffedit.cli
code = diffedit.cli.main(sys.argv[1:])
print('TORCH' if 'torch' in sys.modules else 'NOTORCH')
sys.exit(code)
"""

def run(*args, setup='', env=None, umask=None, cwd=None, wait=True):
    "Run the CLI (through DRIVER) with `args`; return the CompletedProcess, or the Popen if not `wait`."
    cmd = [sys.executable, '-c', DRIVER.format(setup=textwrap.dedent(setup)), *[str(a) for a in args]]
    kw = dict(env=env or ENV, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
              preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)
    if not wait: return subprocess.Popen(cmd, **kw)
    return subprocess.run(cmd, timeout=300, **kw)

def snapshot(d:Path, deep=True)->dict:
    "Every file in `d` (below it too if `deep`; hidden ones too) with its hash: the folder's exact state."
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else 'dir'
            for p in sorted(d.rglob('*') if deep else d.iterdir())} if d.exists() else None

def one_line(r, code=1, contains=()):
    "The failure contract: exit code, exactly one stderr line, no traceback, the expected words."
    err = r.stderr.strip()
    assert r.returncode == code, (r.returncode, r.stderr)
    assert len(err.splitlines()) == 1, r.stderr
    assert 'Traceback' not in r.stderr, r.stderr
    for c in ([contains] if isinstance(contains, str) else contains): assert c in err, (c, err)

def strict_json(p): return json.loads(Path(p).read_text(), parse_constant=lambda c: pytest.fail(f'{c} in {p}'))

@pytest.fixture(scope='module')
def w(tmp_path_factory):
    "A scene (64x64 toy picture), its prompts, masks, broken files and model folders."
    from diffedit.toy import toy_scene, TOY_MODELS
    d = tmp_path_factory.mktemp('rel')
    s = toy_scene(2_000_000_002)
    s.image.save(d/'in.png')
    src, tgt = s.captions[0], s.captions[0].replace(s.objects[0][0], 'blue')
    (d/'prompts.json').write_text(json.dumps([src, tgt]))
    m = Image.new('L', s.image.size, 0); m.paste(255, (8, 8, 40, 40)); m.save(d/'mask.png')
    t = Image.new('RGBA', s.image.size, (0, 0, 0, 0)); t.paste((255, 255, 255, 255), (8, 8, 40, 40)); t.save(d/'transparent_mask.png')
    (d/'corrupt.png').write_bytes(b'\x89PNG\r\n\x1a\n' + b'not a png' * 10)
    Image.new('L', (9500, 9500)).save(d/'huge.png')  # 90 megapixels in a few KB: refused from its header
    (d/'afile').write_text('x')
    (d/'notamodel').mkdir(); (d/'notamodel'/'config.json').write_text('{"hello": 1}')
    shutil.copytree(TOY_MODELS/'clipseg', d/'badseg')
    f = d/'badseg'/'model.safetensors'; f.write_bytes(f.read_bytes()[:1000])  # truncated weights: a SafetensorError
    return d

def base(w, *extra, out=None):
    src, tgt = json.loads((w/'prompts.json').read_text())
    return ['edit', w/'in.png', '--source', src, '--target', tgt, '--models', 'toy', '--device', 'cpu', '-n', '2', *extra,
            *(['--out', out] if out is not None else [])]

# ---------------------------------------------------------------- bad arguments: checked before torch is imported
ARGS = {  # kind: {case: (extra arguments, words the line must hold)}
    'number': {'steps 0': (['--steps', '0'], '--steps=0'), 'steps 1001': (['--steps', '1001'], '--steps=1001'),
               'size 0': (['--size', '0'], '--size=0'), 'size not /8': (['--size', '100'], 'multiple of 8'),
               'size huge': (['--size', '4096'], '--size=4096'), 'n 0': (['-n', '0'], '-n=0'), 'n 1000': (['-n', '1000'], '-n=1000'),
               'seed -1': (['--seed', '-1'], '--seed=-1'), 'feather -1': (['--feather', '-1'], '--feather=-1'),
               'batch 0': (['--batch-size', '0'], '--batch-size=0'), 'sigma absurd': (['--sigma', '1e9'], '--sigma'),
               'sigma -1': (['--sigma', '-1'], '--sigma'), 'threshold 1.5': (['--threshold', '1.5'], '--threshold=1.5')},
    'non-finite': {'guidance nan': (['--guidance', 'nan'], ['--guidance=nan', 'finite']),
                   'guidance inf': (['--guidance', 'inf'], '--guidance=inf'), 'guidance -1': (['--guidance', '-1'], '--guidance=-1'),
                   'eta nan': (['--eta', 'nan'], '--eta=nan')},
    'unused by the method': {'strength 0 (clipseg)': (['--strength', '0'], '--strength=0.0'),
                             'mask-strength 2 (clipseg)': (['--mask-strength', '2'], '--mask-strength=2.0'),
                             'eta 2 (clipseg)': (['--eta', '2'], '--eta=2.0')},
    'text': {'empty source': (['--source', ' '], 'source prompt is empty'), 'same prompts': (['--target', '__SRC__'], 'the same'),
             'unknown preset': (['--models', 'sd9'], '--models'), 'device gpu': (['--device', 'gpu'], "--device='gpu'"),
             'device cuda:x': (['--device', 'cuda:x'], '--device'), 'device braces': (['--device', '{x}'], "--device='{x}'")},
    'input': {'missing picture': (['__IMG__', 'nope.png'], 'no such file'), 'corrupt picture': (['__IMG__', 'corrupt.png'], 'corrupt'),
              'picture is a folder': (['__IMG__', 'notamodel'], 'folder'), 'huge picture': (['__IMG__', 'huge.png'], 'megapixels'),
              'missing mask': (['--mask', 'nomask.png'], 'the mask'), 'corrupt mask': (['--mask', 'corrupt.png'], 'the mask')},
    'output folder': {'empty --out': (['--out', ''], '--out'), 'out is a file': (['--out', 'afile'], 'is a file'),
                      'parent is a file': (['--out', 'afile/sub'], 'is a file'), 'name too long': (['--out', 'x' * 300], 'too long')},
}
CASES = [(k, c) for k in ARGS for c in ARGS[k]]

@pytest.mark.parametrize('kind,case', CASES, ids=[f'{k}: {c}' for k, c in CASES])
def test_bad_argument(w, kind, case):
    extra, words = ARGS[kind][case]
    args = base(w, out=w/f'o-{abs(hash(case))}')
    src = args[3]
    extra = [e.replace('__SRC__', src.upper()) for e in extra]
    if extra[0] == '__IMG__': args[1], extra = w/extra[1], []
    elif extra[0] == '--mask': extra = ['--mask', w/extra[1]]
    elif extra[0] == '--out' and extra[1]: args, extra = args[:-2], ['--out', w/extra[1]]
    elif extra[0] == '--out': args = args[:-2]
    before = snapshot(w, deep=False)
    r = run(*args, *extra, cwd=w)
    one_line(r, 1, words)
    assert r.stdout.strip() == 'NOTORCH', 'the mistake should be found before torch is imported'
    assert snapshot(w, deep=False) == before  # nothing written anywhere (no output folder, input untouched)

SYNTAX = {'n three': ['-n', 'three'], 'steps 1.5': ['--steps', '1.5'], 'method magic': ['--method', 'magic'], 'no --target': ['--target']}

@pytest.mark.parametrize('case', list(SYNTAX))
def test_bad_syntax(w, case):
    args = base(w, out=w/'syntax')
    r = run(*(args[:4] + args[6:] if case == 'no --target' else args + SYNTAX[case]))
    one_line(r, 2)
    assert not (w/'syntax').exists()

def test_demo_twice(tmp_path):
    "The README's main command twice: the demo replaces its own output (the same pictures); into another edit's folder it refuses, naming --force, before any library is imported."
    first = run('demo', '--device', 'cpu', cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert sorted(os.listdir(tmp_path/'diffedit-demo')) == ['after.png', 'before.png', 'demo.png', 'mask.png']
    before = snapshot(tmp_path)
    again = run('demo', '--device', 'cpu', cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert snapshot(tmp_path) == before  # the same seeded pictures, replaced whole
    (tmp_path/'edit'/'x').mkdir(parents=True); (tmp_path/'edit'/'edit.json').write_text('{}')
    r = run('demo', '--device', 'cpu', '--out', tmp_path/'edit', cwd=tmp_path)
    one_line(r, 1, '--force')
    assert r.stdout.strip() == 'NOTORCH' and sorted(os.listdir(tmp_path/'edit')) == ['edit.json', 'x']

# ---------------------------------------------------------------- runs that load models, batched in one process
# Importing torch and loading the models once for ~20 runs keeps the suite fast. Each case's hook (a fault, or a signal sent to
# the process itself at one stage) is installed before `main` runs and removed after; `main` catches SIGTERM and Ctrl-C
# as the script does, so the process goes on to the next case.
BATCH = """
import os, sys, io, json, signal, builtins, importlib, contextlib
cases = json.load(open(sys.argv[1]))
import diffedit.cli
results = {}
for c in cases:
    g = dict(os=os, signal=signal, builtins=builtins, importlib=importlib)
    exec(c.get('setup', ''), g)
    err = io.StringIO()
    old = os.umask(c['umask']) if c.get('umask') is not None else None
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()): code = diffedit.cli.main(c['args'])
    except BaseException as e: code = f'raised {type(e).__name__}: {e}'
    finally:
        if 'undo' in g: g['undo']()
        if old is not None: os.umask(old)
    results[c['name']] = dict(code=code, stderr=err.getvalue())
print(json.dumps(results))
"""

def hook(obj, fn, when, action):
    "Driver code: on the `when`-th call of `obj.fn`, do `action` (raise, or send a signal), then call the real one."
    return f"""
obj = {obj}; real = getattr(obj, '{fn}'); calls = [0]
def hit(*a, **k):
    calls[0] += 1
    if calls[0] == {when}: {action}
    return real(*a, **k)
setattr(obj, '{fn}', hit)
def undo(): setattr(obj, '{fn}', real)
"""
MOD = "importlib.import_module('{}')".format
FAULTS = {  # case: (driver setup, exit code, words)
    'os.replace fails mid-commit': (hook(MOD('os'), 'replace', 4, "raise OSError(5, 'Input/output error')"), 1, 'nothing was written'),
    'disk full (ENOSPC)': (hook(MOD('builtins'), 'open', 1, 'pass').replace('if calls[0] == 1: pass',
                           "if '.diffedit-new-' in str(a[0]): raise OSError(28, 'No space left on device')"), 1, 'No space left'),
    'Image.save fails': (hook(MOD('PIL.Image') + '.Image', 'save', 1, "raise OSError('cannot write PNG')"), 1, 'cannot write PNG'),
    'CUDA out of memory': (hook(MOD('diffedit.edit'), 'inpaint', 1, "raise __import__('torch').cuda.OutOfMemoryError('CUDA out of memory')"),
                           1, ['--batch-size', '--size']),
}
STAGES = {'load': (MOD('diffedit.edit'), '_prepare', 1), 'mask': (MOD('diffedit.edit'), 'mask_maps', 1), 'repaint': (MOD('diffedit.edit'), 'repaint', 1),
          'write': (MOD('diffedit.edit'), '_png', 1), 'commit': (MOD('os'), 'replace', 3)}  # commit: after two of the old files moved aside
for stage, (obj, fn, when) in STAGES.items():
    FAULTS[f'SIGTERM at {stage}'] = (hook(obj, fn, when, 'os.kill(os.getpid(), signal.SIGTERM)'), 143, 'terminated')
for stage in ('repaint', 'commit'):
    obj, fn, when = STAGES[stage]
    FAULTS[f'SIGINT at {stage}'] = (hook(obj, fn, when, 'os.kill(os.getpid(), signal.SIGINT)'), 130, 'interrupted')

def broken_models(d:Path)->dict:
    "Copies of the toy models, each broken one way (issue 19, kinds 1, 9, 10): {case: (extra arguments, words the line must hold)}."
    import torch
    from safetensors.torch import load_file, save_file
    from diffedit.toy import TOY_MODELS
    def cp(src, name): shutil.copytree(TOY_MODELS/src, d/name); return d/name
    def edit_weights(f, drop=lambda k: False, add=None):
        sd = {k: v for k, v in load_file(f).items() if not drop(k)}; save_file({**sd, **(add or {})}, f, metadata={'format': 'pt'})
    edit_weights(cp('clipseg', 'seg-no-decoder')/'model.safetensors', lambda k: k.startswith('decoder.'))
    te = cp('inpaint', 'te-missing')/'text_encoder'/'model.safetensors'; first = sorted(load_file(te))[5]
    edit_weights(te, lambda k: k == first)
    edit_weights(cp('inpaint', 'te-extra')/'text_encoder'/'model.safetensors', add={'bogus.weight': torch.zeros(2)})
    os.remove(cp('inpaint', 'no-tokenizer')/'tokenizer'/'tokenizer.json')
    os.remove(cp('clipseg', 'seg-no-tokenizer')/'tokenizer.json')
    un = cp('inpaint', 'unet-missing')/'unet'/'diffusion_pytorch_model.safetensors'; first = sorted(load_file(un))[3]
    edit_weights(un, lambda k: k == first)
    un = cp('inpaint', 'unet-bin')/'unet'/'diffusion_pytorch_model.safetensors'; torch.save(load_file(un), un.with_suffix('.bin')); os.remove(un)
    c = cp('clipseg', 'cfg-abc')/'config.json'; j = json.loads(c.read_text()); j['text_config']['hidden_size'] = 'abc'; c.write_text(json.dumps(j))
    (cp('clipseg', 'cfg-list')/'config.json').write_text('[1, 2]')
    c = cp('inpaint', 'unet-cfg-abc')/'unet'/'config.json'; j = json.loads(c.read_text()); j['cross_attention_dim'] = 'abc'; c.write_text(json.dumps(j))
    cp('clipseg', 'unreadable')
    seg, inp = '--seg-model', '--inpaint-model'
    return {'CLIPSeg without its decoder weights': ([seg, d/'seg-no-decoder'], ['incomplete', 'decoder.']),
            'a text encoder missing one tensor': ([inp, d/'te-missing'], ['incomplete', 'text_encoder', 'lacks']),
            'a text encoder with an unknown tensor': ([inp, d/'te-extra'], ['bogus.weight', 'unknown weights']),
            'a pipeline without tokenizer.json': ([inp, d/'no-tokenizer'], ['tokenizer', 'no-tokenizer']),
            'CLIPSeg without tokenizer.json': ([seg, d/'seg-no-tokenizer'], ['tokenizer', 'seg-no-tokenizer']),
            'a UNet missing one tensor': ([inp, d/'unet-missing'], ['incomplete', 'unet']),
            'a UNet stored only as .bin': ([inp, d/'unet-bin'], ['.bin', 'unet/']),
            'a config value of the wrong type': ([seg, d/'cfg-abc'], ['hidden_size', 'cfg-abc']),
            'a config that is a JSON list': ([seg, d/'cfg-list'], ['config.json', 'JSON list']),
            'a UNet config value of the wrong type': ([inp, d/'unet-cfg-abc'], ['unet-cfg-abc', 'cannot load the inpainting model']),
            'an unreadable model.safetensors': ([seg, d/'unreadable'], ['model.safetensors is not readable', 'permission'])}

# tests run as root, whom file permissions do not stop: the unreadable file is simulated where the package asks, and where it opens
UNREADABLE = '''
import builtins
real_access, real_open = os.access, builtins.open
def no(p): return str(p).endswith('unreadable/model.safetensors')
os.access = lambda p, *a, **k: False if no(p) else real_access(p, *a, **k)
def opener(f, *a, **k):
    if no(f): raise PermissionError(13, 'Permission denied', str(f))
    return real_open(f, *a, **k)
builtins.open = opener
def undo(): os.access = real_access; builtins.open = real_open
'''

@pytest.fixture(scope='module')
def batch(w, tmp_path_factory):
    "Run every model-loading case in one process; return {case: (code, stderr)} and the folders they used."
    from diffedit.toy import TOY_MODELS
    d = tmp_path_factory.mktemp('batch')
    src, tgt = json.loads((w/'prompts.json').read_text())
    fast = ['--steps', '2']
    cases = [dict(name='previous', args=base(w, '-n', '3', *fast, out=d/'previous'))]
    for i, (name, (setup, _, _)) in enumerate(FAULTS.items()):
        cases.append(dict(name=name, setup=setup, args=base(w, '-n', '1', '--force', *fast, out=d/f'fault{i}')))
    cases.append(dict(name='new folder, SIGTERM at commit', setup=FAULTS['SIGTERM at commit'][0], args=base(w, '-n', '1', *fast, out=d/'new'/'a'/'b')))
    cases += [dict(name='success, umask 027', umask=0o027, args=base(w, '-n', '3', *fast, out=d/'fresh'/'out')),
              dict(name='force, fewer variations', umask=0o027, args=base(w, '-n', '1', *fast, '--force', out=d/'fresh'/'out')),
              dict(name='transparent mask', args=base(w, '-n', '1', *fast, '--mask', w/'transparent_mask.png', out=d/'transparent')),
              dict(name='long prompt', args=base(w, '-n', '1', *fast, out=d/'long')[:5] + [' '.join([tgt] * 40)] + base(w, '-n', '1', *fast, out=d/'long')[6:])]
    bad = {'corrupt CLIPSeg weights (SafetensorError)': (['--seg-model', w/'badseg'], 'cannot load the CLIPSeg'),
           'a folder that is no model': (['--inpaint-model', w/'notamodel'], 'cannot load the inpainting model'),
           'an inpainting pipeline as --sd-model': (['--method', 'noise', '--sd-model', TOY_MODELS/'inpaint'], 'input channels'),
           'a CLIPSeg folder as --inpaint-model': (['--inpaint-model', TOY_MODELS/'clipseg'], 'cannot load the inpainting model'),
           'a Hub id not downloaded, offline': (['--seg-model', 'nobody/no-such-clipseg'], 'HF_HUB_OFFLINE=1'),
           'mask empty at threshold 1': (['--threshold', '1'], 'mask is empty')}
    bad.update({k: (extra, words) for k, (extra, words) in broken_models(d/'broken').items()})  # issue 19, kinds 1 and 9
    cases += [dict(name=k, args=base(w, '-n', '1', *fast, *extra, out=d/f'bad{i}'), setup=UNREADABLE if 'unreadable' in k else '')
              for i, (k, (extra, _)) in enumerate(bad.items())]
    for c in cases: c['args'] = [str(a) for a in c['args']]
    (d/'cases.json').write_text(json.dumps(cases))
    # the fault cases run in copies of a previous edit's folder (made by the first case): copy it there when it exists
    copier = "import shutil, pathlib\nfor i in range({}):\n    shutil.copytree(r'{}', r'{}'.format(i))\n".format(
        len(FAULTS), d/'previous', str(d/'fault{}'))
    prep = BATCH.replace("for c in cases:", "first, cases = cases[:1], cases[1:]\nfor c in first + ['COPY'] + cases:\n    if c == 'COPY':\n        pathlib.Path(r'" + str(d/'previous') + "', 'notes.txt').write_text('mine')\n" + textwrap.indent(copier, '        ') + "        continue")
    prep = prep.replace('import os, sys,', 'import pathlib, os, sys,')
    r = subprocess.run([sys.executable, '-c', prep, str(d/'cases.json')], env=ENV, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(r.stdout.strip().splitlines()[-1])
    return d, res, bad

class R:  # a result shaped like a CompletedProcess, for `one_line`
    def __init__(self, d): self.returncode, self.stderr = d['code'], d['stderr']

@pytest.mark.parametrize('case', list(FAULTS))
def test_fault(w, batch, case):
    "A fault or a signal at any stage of a --force run: one line, and the previous run's files exactly as they were."
    d, res, _ = batch
    _, code, words = FAULTS[case]
    one_line(R(res[case]), code, words)
    i = list(FAULTS).index(case)
    assert snapshot(d/f'fault{i}') == snapshot(d/'previous')

def test_fault_new_folder_leaves_nothing(batch):
    "A signal while moving files into a folder the run created: no folder, no temporary file left."
    d, res, _ = batch
    one_line(R(res['new folder, SIGTERM at commit']), 143, 'terminated')
    assert not (d/'new').exists()

def test_success_umask_force(batch):
    "All files, the umask's mode (0640 under 027, not 0600), strict JSON; --force with fewer variations leaves nothing stale."
    d, res, _ = batch
    assert res['success, umask 027']['code'] == 0, res['success, umask 027']['stderr']
    assert res['force, fewer variations']['code'] == 0, res['force, fewer variations']['stderr']
    out = d/'fresh'/'out'
    names = ['edit.json', 'edit_0_seed0.png', 'grid.png', 'mask.png']
    assert sorted(os.listdir(out)) == names
    assert out.stat().st_mode & 0o777 == 0o750 and (d/'fresh').stat().st_mode & 0o777 == 0o750
    for n in names: assert (out/n).stat().st_mode & 0o777 == 0o640, n
    rec = strict_json(out/'edit.json')
    assert rec['params']['n'] == 1 and sorted(rec['files']) == names

def test_transparent_mask(batch):
    "A mask painted white on transparency: transparent means keep (it read as all white, repainting everything)."
    d, res, _ = batch
    assert res['transparent mask']['code'] == 0, res['transparent mask']['stderr']
    assert (np.asarray(Image.open(d/'transparent'/'mask.png')) > 127).mean() == pytest.approx(32*32/64/64)

def test_long_prompt_recorded(batch):
    "A prompt over 77 tokens is truncated (the lessons' notice) and edit.json says so."
    d, res, _ = batch
    r = res['long prompt']
    assert r['code'] == 0 and 'Traceback' not in r['stderr'] and 'tokens' in r['stderr'], r['stderr']
    notes = strict_json(d/'long'/'edit.json')['params']['notices']
    assert len(notes) == 1 and 'target prompt' in notes[0]

def test_bad_models(batch):
    "Corrupt weights (SafetensorError), no model, a model of the wrong kind, an uncached Hub id: one line each, nothing written."
    d, res, bad = batch
    wrong = {}
    for i, (k, (_, words)) in enumerate(bad.items()):
        try: one_line(R(res[k]), 1, words); assert not (d/f'bad{i}').exists(), 'wrote files'
        except AssertionError as e: wrong[k] = str(e)[:300]
    assert not wrong, f"{len(wrong)} do not hold: {sorted(wrong)}; {wrong}"  # every case that does not hold, by name


# ---------------------------------------------------------------- runs that need their own process
@pytest.mark.parametrize('sig,code,words', [('SIGTERM', 143, 'terminated'), ('SIGINT', 130, 'interrupted')])
def test_signal_while_importing(w, tmp_path, sig, code, words):
    "A signal while the model libraries are imported (Ctrl-C during `import torch`): one line, nothing written."
    setup = hook(MOD('diffedit.cli'), '_quiet_libraries', 1, f'os.kill(os.getpid(), signal.{sig})')
    r = run(*base(w, out=tmp_path/'o'), setup=setup)
    one_line(r, code, words)
    assert os.listdir(tmp_path) == []

def test_never_overwrites_input_or_mask(w, tmp_path):
    "The user's mask.png or a picture named like an output, in --out: refused even with --force, before the models run."
    shutil.copy(w/'mask.png', tmp_path/'mask.png'); shutil.copy(w/'in.png', tmp_path/'grid.png')
    before = snapshot(tmp_path)
    r = run(*base(w, '--mask', tmp_path/'mask.png', '--force', out=tmp_path))
    one_line(r, 1, 'refusing to overwrite the mask'); assert r.stdout.strip() == 'NOTORCH'
    args = base(w, '--force', out=tmp_path); args[1] = tmp_path/'grid.png'
    one_line(run(*args), 1, 'refusing to overwrite the input picture')
    assert snapshot(tmp_path) == before

def test_two_runs_one_folder(w, tmp_path):
    "The second run fails at once (the folder is reserved); the first writes its whole set."
    slow = hook(MOD('diffedit.edit'), 'repaint', 1, '__import__("time").sleep(3)').replace("obj = ", "import diffedit.edit\nobj = ")
    out = tmp_path/'out'
    first = run(*base(w, '-n', '1', '--steps', '2', out=out), setup=slow, wait=False)
    for _ in range(1200):
        if (out/'.diffedit.lock').exists() or first.poll() is not None: break
        time.sleep(0.05)
    second = run(*base(w, '-n', '2', out=out))
    o, e = first.communicate(timeout=300)
    assert first.returncode == 0, e
    one_line(second, 1, 'another diffedit run')
    assert second.stdout.strip() == 'NOTORCH'
    assert sorted(os.listdir(out)) == ['edit.json', 'edit_0_seed0.png', 'grid.png', 'mask.png']
    assert strict_json(out/'edit.json')['params']['n'] == 1

def test_unreachable_hub_fails_fast(w, tmp_path):
    "Online but the Hub unreachable: seconds, not minutes of retries; the line names HF_HUB_OFFLINE=1, --models toy and local folders."
    env = {k: v for k, v in ENV.items() if k not in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE')}
    env['HF_ENDPOINT'] = 'http://127.0.0.1:9'  # nothing listens there
    t = time.time()
    r = run(*base(w, '-n', '1', '--seg-model', 'nobody/no-such-clipseg', out=tmp_path/'o'), env=env)
    one_line(r, 1, ['HF_HUB_OFFLINE=1', '--models toy', 'local folder', '127.0.0.1'])
    assert time.time() - t < 60 and not (tmp_path/'o').exists()


# ================================================================ issue 19: the next round of faults
# ---------------------------------------------------------------- kind 3: output sets whole or absent after any crash
KILL = """
import os, sys, signal, shutil
from pathlib import Path
from diffedit.outdir import OutDir
out, fn, k, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
mod = shutil if fn == 'rmtree' else os
real, calls = getattr(mod, fn, None), [0]
def hit(*a, **kw):
    calls[0] += 1
    if calls[0] == k: os.kill(os.getpid(), signal.SIGKILL)
    return real(*a, **kw)
if fn != 'lock': setattr(mod, fn, hit)
names = [f'edit_{i}_seed{i}.png' for i in range(n)] + ['mask.png', 'grid.png', 'edit.json']
od = OutDir(out, names, force=True)
if fn == 'lock': os.kill(os.getpid(), signal.SIGKILL if k == 9 else k)  # killed while holding the folder
od.write({m: b'new ' + m.encode() for m in names})
"""

def _names(n): return [f'edit_{i}_seed{i}.png' for i in range(n)] + ['mask.png', 'grid.png', 'edit.json']
def _visible(d): return {p.name: p.read_bytes() for p in d.iterdir() if not p.name.startswith('.')}

def _killed(out, fn, k, n=1):
    r = subprocess.run([sys.executable, '-c', KILL, str(out), fn, str(k), str(n)], env=ENV, capture_output=True, text=True, timeout=120)
    assert r.returncode == -signal.SIGKILL, (r.returncode, r.stderr[-2000:])

# 5 previous files moved aside and 4 new ones moved in: kill -9 before each of the 9 renames, and after the last
KILLS = [('replace', k) for k in range(1, 10)] + [('rmtree', 1)]

@pytest.mark.parametrize('fn,k', KILLS, ids=[f'{fn} {k}' for fn, k in KILLS])
def test_kill9_over_previous_set(tmp_path, fn, k):
    "kill -9 at any step of a --force write: the next run finds the previous set or the whole new one, never a mix, nothing hidden left."
    from diffedit.outdir import check_out_dir, OutDir
    out = tmp_path/'out'; out.mkdir(); (out/'notes.txt').write_text('mine')
    old = {m: b'old ' + m.encode() for m in _names(2)}
    for m, b in old.items(): (out/m).write_bytes(b)
    _killed(out, fn, k)
    with pytest.warns(UserWarning, match=r'unfinished run \(process \d+\).*(rolled back|completed)') as rec:
        check_out_dir(out, _names(1), force=True)
    assert len(rec) == 1
    new = {m: b'new ' + m.encode() for m in _names(1)}
    assert _visible(out) == {'notes.txt': b'mine', **(new if fn == 'rmtree' else old)}
    assert [p.name for p in out.iterdir() if p.name.startswith('.')] == []  # no lock, journal or temporary folder left
    with OutDir(out, _names(1), force=True) as od: od.write(new)             # and the rerun works
    assert _visible(out) == {'notes.txt': b'mine', **new}

@pytest.mark.parametrize('k', [1, 2, 3, 4])
def test_kill9_into_new_folder(tmp_path, k):
    "kill -9 between the renames into a new folder: the rerun finds no partial set and writes its own, without --force."
    from diffedit.outdir import OutDir
    out = tmp_path/'a'/'b'
    _killed(out, 'replace', k)
    with pytest.warns(UserWarning, match='rolled back'):
        with OutDir(out, _names(1)) as od: od.write({m: b'again' for m in _names(1)})
    assert sorted(os.listdir(out)) == sorted(_names(1))

@pytest.mark.parametrize('sig', [9, int(signal.SIGHUP), int(signal.SIGUSR1)], ids=['SIGKILL', 'SIGHUP', 'SIGUSR1'])
def test_dead_lock_taken_over(tmp_path, sig):
    "A run killed while holding the folder: the next one takes its lock over with one notice and cleans its leftovers."
    from diffedit.outdir import OutDir
    out = tmp_path/'out'
    r = subprocess.run([sys.executable, '-c', KILL, str(out), 'lock', str(sig), '1'], env=ENV, capture_output=True, timeout=120)
    assert r.returncode == -(sig), r.stderr
    assert (out/'.diffedit.lock').exists()
    (out/'.diffedit-new-x1').mkdir(); (out/'.diffedit-demo-x2').mkdir()  # a dead run's temporary folders
    with pytest.warns(UserWarning, match=r'unfinished run \(process \d+\).*lock is taken over') as rec:
        with OutDir(out, _names(1)) as od: od.write({m: b'x' for m in _names(1)})
    assert len(rec) == 1 and sorted(os.listdir(out)) == sorted(_names(1))

def test_failed_rollback_keeps_previous_files(tmp_path, monkeypatch):
    "Renames failing while the previous files are being put back: nothing is deleted, the line says where they are, the next run restores them."
    from diffedit.core import DiffEditError
    from diffedit.outdir import OutDir, check_out_dir
    out = tmp_path/'out'; out.mkdir()
    old = {m: b'old ' + m.encode() for m in _names(2)}
    for m, b in old.items(): (out/m).write_bytes(b)
    real, calls = os.replace, [0]
    def failing(*a):
        calls[0] += 1
        if calls[0] >= 3: raise OSError(5, 'Input/output error')
        return real(*a)
    monkeypatch.setattr(os, 'replace', failing)
    with pytest.raises(DiffEditError) as e:
        with OutDir(out, _names(1), force=True) as od: od.write({m: b'new' for m in _names(1)})
    msg = str(e.value)
    assert 'nothing was written' not in msg and 'next diffedit run' in msg and '\n' not in msg, msg
    kept = {p.name: p.read_bytes() for p in out.rglob('*') if p.is_file() and p.read_bytes().startswith(b'old')}
    assert kept == old  # all of them, somewhere in the folder
    monkeypatch.setattr(os, 'replace', real)
    with pytest.warns(UserWarning, match='rolled back'): check_out_dir(out, _names(1), force=True)
    assert _visible(out) == old and not any(p.name.startswith('.') for p in out.iterdir())

# ---------------------------------------------------------------- kind 10: output paths said as what they are
@pytest.mark.parametrize('case,words', [('link to a missing drive', 'does not exist'), ('link loop', 'loops'),
                                        ('parent a link to a missing drive', 'does not exist')])
def test_out_symlinks(tmp_path, case, words):
    "A --out through a symbolic link to nowhere, or a loop: one line saying so (not 'another run is writing', not a RuntimeError)."
    from diffedit.core import DiffEditError
    from diffedit.outdir import OutDir
    (tmp_path/'in.png').write_bytes(b'')
    if case == 'link loop': os.symlink(tmp_path/'loop', tmp_path/'loop'); out = tmp_path/'loop'
    else:
        os.symlink('/mnt/no-such-drive/photos', tmp_path/'link')
        out = tmp_path/'link' if case.startswith('link') else tmp_path/'link'/'sub'
    with pytest.raises(DiffEditError) as e: OutDir(out, _names(1), input=tmp_path/'in.png')
    assert words in str(e.value) and 'another diffedit run' not in str(e.value), str(e.value)
    assert sorted(os.listdir(tmp_path)) == sorted(['in.png', out.name if case != 'parent a link to a missing drive' else 'link'])

# ---------------------------------------------------------------- kind 2: one deadline for every network read
@pytest.fixture(scope='module')
def bad_servers():
    "Servers on 127.0.0.1 that misbehave: HTTP 500 to everything, a body or headers one byte at a time, and a black hole (never accepts)."
    import http.server, socket, threading
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a): pass
        def do_GET(self):
            try:
                if self.path.startswith('/drip-head'):
                    for b in b'HTTP/1.1 200 OK\r\n': self.wfile.write(bytes([b])); self.wfile.flush(); time.sleep(0.25)
                elif self.path.startswith('/drip'):
                    self.send_response(200); self.send_header('Content-Type', 'image/png'); self.end_headers()
                    for _ in range(40): self.wfile.write(b'\x89'); self.wfile.flush(); time.sleep(0.25)  # 10 s at most
                else: self.send_error(500, 'Internal Server Error')
            except OSError: pass  # the client gave up: expected
    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True
        def handle_error(self, *a): pass
    s = Server(('127.0.0.1', 0), Handler)
    threading.Thread(target=s.serve_forever, daemon=True).start()
    hole = socket.socket(); hole.bind(('127.0.0.1', 0)); hole.listen(64)  # connections complete in the backlog, nothing answers
    yield f'http://127.0.0.1:{s.server_address[1]}', f'http://127.0.0.1:{hole.getsockname()[1]}'
    s.shutdown(); s.server_close(); hole.close()

def _within(seconds, f):
    "Run `f` in a thread; fail if it has not returned after `seconds` (old code hung for minutes); return what it raised."
    import threading
    box = {}
    def go():
        try: f()
        except BaseException as e: box['e'] = e
    t = threading.Thread(target=go, daemon=True); t0 = time.time(); t.start(); t.join(seconds)
    assert not t.is_alive(), f'still waiting after {seconds} s'
    return box.get('e'), time.time() - t0

@pytest.mark.parametrize('where,path,words', [('server', '/x', 'a server error'), ('hole', '', 'did not answer within 2 s'),
                                              ('server', '/drip-head', 'did not answer within 2 s')])
def test_hub_deadline(bad_servers, monkeypatch, where, path, words):
    "Online, the Hub endpoint answering HTTP 500, never answering, or answering byte by byte: one line in seconds saying which."
    import huggingface_hub.constants as hc
    from transformers import AutoConfig
    from diffedit.hub import from_pretrained
    url = (bad_servers[0] if where == 'server' else bad_servers[1]) + path
    monkeypatch.delenv('HF_HUB_OFFLINE', raising=False); monkeypatch.delenv('TRANSFORMERS_OFFLINE', raising=False)
    monkeypatch.setattr(hc, 'HF_HUB_OFFLINE', False); monkeypatch.setattr(hc, 'ENDPOINT', url)
    monkeypatch.setenv('DIFFEDIT_HUB_TIMEOUT', '2')
    e, took = _within(20, lambda: from_pretrained(AutoConfig, 'nobody/no-such-model', 'test model'))
    assert e is not None and type(e).__name__ == 'ArgError', repr(e)
    msg = str(e)
    assert words in msg and 'no such model' not in msg and 'HF_HUB_OFFLINE=1' in msg and '\n' not in msg, msg
    assert took < 6, took

@pytest.mark.parametrize('path', ['/drip', '/drip-head'])
def test_url_picture_deadline(bad_servers, path):
    "A picture URL sending a byte at a time: refused when the whole download's deadline passes, not after the server gives up."
    from diffedit.core import DiffEditError
    from diffedit.inputs import read_image
    e, took = _within(20, lambda: read_image(bad_servers[0] + path, timeout=1))
    assert isinstance(e, DiffEditError) and 'timeout=1s for the whole download' in str(e), repr(e)
    assert took < 3, took

def test_url_server_error(bad_servers):
    from diffedit.core import DiffEditError
    from diffedit.inputs import read_image
    with pytest.raises(DiffEditError, match='HTTP 500.*server error'): read_image(bad_servers[0] + '/pic.png', timeout=2)

# ---------------------------------------------------------------- kind 6: masks by their range, prompts by their type
def _masks(d):
    "The same 32x32 square in a 64x64 mask, in every numeric type and file format a user may hand in."
    sq = np.zeros((64, 64), bool); sq[8:40, 8:40] = True
    Image.fromarray((sq * 65535).astype(np.uint16)).save(d/'m16.png')                    # a 16-bit PNG
    Image.fromarray((sq * 255).astype(np.float32)).save(d/'mf.tif')                      # float, 0-255
    p = Image.new('RGBA', (64, 64), (0, 0, 0, 0)); p.paste((255, 255, 255, 110), (8, 8, 40, 40)); p.save(d/'m43.png')  # white at 43%
    return sq, {'16-bit PNG': d/'m16.png', 'float 0-255 TIFF': d/'mf.tif', 'painted at 43% opacity': d/'m43.png',
                'uint16 array': (sq * 65535).astype(np.uint16), 'float 0-255 array': (sq * 255.).astype(np.float32),
                'uint8 0/1 array': sq.astype(np.uint8), 'int64 0-255 array': sq.astype(np.int64) * 255, 'bool array': sq,
                'float 0-1 array': sq.astype(np.float64), 'torch float 0-255': 'torch'}

def test_read_mask_by_range(tmp_path):
    "Every numeric type is read by its range: the square, not 99.7% white or an empty mask."
    import torch
    from diffedit.inputs import read_mask
    sq, cases = _masks(tmp_path)
    for name, m in cases.items():
        if m == 'torch' if isinstance(m, str) else False: m = torch.from_numpy(sq.astype(np.float32) * 255)
        got = read_mask(m, (64, 64))
        assert got.dtype == bool and got.shape == (64, 64) and (got == sq).all(), (name, got.mean())
    assert read_mask(cases['16-bit PNG'], (128, 128)).sum() == 4 * sq.sum()  # brought to the picture's size

def test_read_mask_refusals(tmp_path):
    from diffedit.core import DiffEditError
    from diffedit.inputs import read_mask
    for m, words in [(np.zeros((8, 8), np.uint16), 'empty'), (np.full((8, 8), np.nan), 'NaN'), (np.array([['a', 'b'], ['c', 'd']]), 'numbers'),
                     (np.zeros((8, 8, 2, 2)), 'shape'), (tmp_path/'none.png', 'the mask: cannot read')]:
        with pytest.raises(DiffEditError, match=words): read_mask(m, (8, 8))

@pytest.mark.parametrize('source,words', [(b'a horse', 'bytes, not text'), (['a horse'], 'of type list, not text'), (3, 'of type int, not text'),
                                          ('\u200b\u200b \u2060', 'only invisible characters'), ('a \ud800 horse', 'lone surrogate'),
                                          ('a caf\udce9 horse', 'not UTF-8')])
def test_prompt_types(source, words):
    "Prompts of another type refused by type (not called empty); text that is not text refused in one line."
    from diffedit.inputs import check_text
    from diffedit.settings import ArgError
    with pytest.raises(ArgError) as e: check_text(source, 'a zebra')
    assert words in str(e.value) and '\n' not in str(e.value), str(e.value)

def test_prompt_decoding_and_quoting():
    "UTF-8 bytes that arrived as surrogates are decoded; a message quoting a 10,000-character prompt cuts it."
    from diffedit.inputs import check_text
    from diffedit.settings import ArgError
    assert check_text('a caf\udcc3\udca9 horse', 'a zebra') == ('a café horse', 'a zebra')
    with pytest.raises(ArgError) as e: check_text('horse ' * 1700, 'HORSE ' * 1700)
    assert len(str(e.value)) < 200

def test_latin1_terminal_prompt(w):
    "A prompt typed in a Latin-1 terminal (bytes that are not UTF-8): one line, before torch, not a TypeError."
    args = [os.fsencode(str(a)) for a in base(w, out=w/'latin1')]
    args[3] = b'a caf\xe9 horse'
    r = subprocess.run([sys.executable.encode(), b'-c', DRIVER.format(setup='').encode(), *args], env=ENV, capture_output=True, timeout=120)
    r = subprocess.CompletedProcess(r.args, r.returncode, r.stdout.decode(), r.stderr.decode())
    one_line(r, 1, ['source prompt is not UTF-8', '0xe9'])
    assert r.stdout.strip() == 'NOTORCH' and not (w/'latin1').exists()

# ---------------------------------------------------------------- kind 8: pictures read once (pipes, /dev/stdin)
def test_picture_from_a_pipe_read_twice(w):
    "A picture from a pipe is read once: the check before the models and the edit's own read see the same bytes."
    import threading
    from diffedit.inputs import read_image
    data = (w/'in.png').read_bytes()
    r, wfd = os.pipe()
    threading.Thread(target=lambda: (os.write(wfd, data), os.close(wfd)), daemon=True).start()
    try:
        a, b = read_image(f'/dev/fd/{r}'), read_image(f'/dev/fd/{r}')
    finally: os.close(r)
    assert (np.asarray(a) == np.asarray(Image.open(w/'in.png').convert('RGB'))).all() and (np.asarray(b) == np.asarray(a)).all()

def test_cli_edit_from_stdin(w, tmp_path):
    "`cat in.png | diffedit edit /dev/stdin ...` writes the edit (it said 'not an image file')."
    args = base(w, '-n', '1', '--steps', '2', out=tmp_path/'o'); args[1] = '/dev/stdin'
    cmd = [sys.executable, '-c', DRIVER.format(setup=''), *[str(a) for a in args]]
    r = subprocess.run(cmd, env=ENV, input=(w/'in.png').read_bytes(), capture_output=True, timeout=300)  # a pipe, as `cat in.png |`
    assert r.returncode == 0, r.stderr.decode()
    assert sorted(os.listdir(tmp_path/'o')) == ['edit.json', 'edit_0_seed0.png', 'grid.png', 'mask.png']

# ---------------------------------------------------------------- kind 10: unreadable, not corrupt
def test_unreadable_picture_is_not_corrupt(w, monkeypatch):
    "A picture we may not read (simulated: tests run as root, whom permissions do not stop): 'permission denied', not 'corrupt'."
    import builtins
    from diffedit.core import DiffEditError
    from diffedit.inputs import read_image
    real = builtins.open
    def denied(f, *a, **k):
        if str(f).endswith('in.png'): raise PermissionError(13, 'Permission denied', str(f))
        return real(f, *a, **k)
    monkeypatch.setattr(builtins, 'open', denied)
    with pytest.raises(DiffEditError) as e: read_image(w/'in.png')
    assert 'permission denied' in str(e.value) and 'corrupt' not in str(e.value), str(e.value)

# ---------------------------------------------------------------- kinds 7, 10, 11: the command line after the work, names, cheap checks
def test_signal_after_the_files_are_written_ascii_terminal(w, tmp_path):
    "PYTHONIOENCODING=ascii and a non-ASCII folder, SIGTERM just after the demo's files were moved in: paths printed escaped, the line says the files are complete."
    setup = hook(MOD('diffedit.cli'), '_print', 4, 'os.kill(os.getpid(), signal.SIGTERM)')  # before printing the last path
    r = run('demo', '--device', 'cpu', '--out', tmp_path/'café', setup=setup, env={**ENV, 'PYTHONIOENCODING': 'ascii'})
    last = r.stderr.strip().splitlines()[-1]  # after the demo's progress bars
    assert r.returncode == 143 and 'Traceback' not in r.stderr and 'nothing was written' not in r.stderr, r.stderr[-500:]
    assert 'terminated' in last and 'the 4 files had been written' in last and 'complete' in last and 'caf\\xe9' in last, last
    assert r.stdout.count('caf\\xe9') == 3 and sorted(os.listdir(tmp_path/'café')) == ['after.png', 'before.png', 'demo.png', 'mask.png']

def test_closed_stderr(w, tmp_path):
    "stderr closed (2>&-): the work is done and the exit status says so."
    cmd = ' '.join(shlex.quote(c) for c in [sys.executable, '-c', DRIVER.format(setup=''), 'demo', '--device', 'cpu', '--out', str(tmp_path/'quiet')])
    r = subprocess.run(['bash', '-c', cmd + ' 2>&-'], env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and len(os.listdir(tmp_path/'quiet')) == 4, (r.returncode, r.stdout)

NODIFFUSERS = "import atexit\natexit.register(lambda: print('DIFFUSERS' if 'diffusers' in sys.modules else 'NODIFFUSERS'))"

@pytest.mark.parametrize('case', ['question mark in a file name', 'file URL with a space'])
def test_default_out_name(w, tmp_path, case):
    "The default folder is named after the picture as the user named it: a file's '?' is kept, a file:// URL's %20 is a space."
    name = 'what?.png' if case.startswith('question') else 'my pic.png'
    shutil.copy(w/'in.png', tmp_path/name)
    (tmp_path/f'{Path(name).stem}-edit').write_text('in the way')  # the folder's name, shown by the line that refuses it
    args = base(w, out=None); args[1] = name if case.startswith('question') else (tmp_path/name).as_uri()
    r = run(*args, cwd=tmp_path)
    one_line(r, 1, [f"{Path(name).stem}-edit", 'is a file'])
    assert r.stdout.strip() == 'NOTORCH'

def test_cheap_checks_before_the_model_libraries(w, tmp_path):
    "A mask of another shape, an empty mask: before torch; a picture too small and CUDA asked for without one: before the model libraries."
    Image.new('L', (32, 64), 255).save(tmp_path/'tall.png'); Image.new('L', (64, 64), 0).save(tmp_path/'black.png')
    Image.new('RGB', (4, 64)).save(tmp_path/'thin.png')
    for mask, words in (('tall.png', 'the mask is 32x64'), ('black.png', 'the mask is empty')):
        r = run(*base(w, '--mask', tmp_path/mask, out=tmp_path/'o'))
        one_line(r, 1, words); assert r.stdout.strip() == 'NOTORCH', mask
    args = base(w, out=tmp_path/'o2'); args[1] = tmp_path/'thin.png'
    for extra, words in (([], 'too small'), (['--device', 'cuda'], 'no CUDA GPU')):
        a = args if not extra else base(w, *extra, out=tmp_path/'o3')
        r = run(*a, setup=NODIFFUSERS)
        one_line(r, 1, words); assert r.stdout.split() == ['TORCH', 'NODIFFUSERS'], (words, r.stdout)
    assert not any((tmp_path/o).exists() for o in ('o', 'o2', 'o3'))

# ---------------------------------------------------------------- kinds 5 and 12: the app's uploads, temporary files, previews, port, SIGTERM
@pytest.fixture(scope='module')
def app_served(w, tmp_path_factory):
    "The app with the toy models on a free port, driven through gradio_client as the page drives it."
    pytest.importorskip('gradio'); gc = pytest.importorskip('gradio_client')
    import socket
    from diffedit import app
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    d = tmp_path_factory.mktemp('appfaults')
    demo = app.launch(models='toy', port=port, device='cpu', block=False)
    yield dict(demo=demo, client=gc.Client(demo.local_url, verbose=False, download_files=str(d/'dl')), dir=d, gc=gc, app=app)
    demo.close()

def _preview(a, pic, source='a purple triangle', target='a blue triangle'):
    return a['client'].predict(a['gc'].handle_file(str(pic)), source, target, 'toy', 'clipseg', 1, 0, 2, 0.5, 0.55, 1.0, api_name='/preview')

def test_app_bad_uploads(app_served):
    "A 144-megapixel PNG of a few KB, a text file, an empty file: one readable line each, the huge one refused from its header."
    import resource
    d = app_served['dir']
    Image.new('L', (12000, 12000)).save(d/'huge.png'); (d/'notes.png').write_text('not a picture'); (d/'empty.png').write_bytes(b'')
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for name, words in (('huge.png', 'megapixels'), ('notes.png', 'not an image'), ('empty.png', 'cannot read image')):
        *_, status = _preview(app_served, d/name)
        assert words in status and 'Traceback' not in status and 'preprocess' not in status, (name, status)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000, 'the huge picture was decoded'  # KiB

def test_app_urls_public_only(app_served):
    "The URL box refuses the server's own network (127.0.0.1, a redirect to file://) unless the app allows private addresses."
    with pytest.raises(Exception, match='private or local address'):
        app_served['client'].predict('http://127.0.0.1:9/p.png', api_name='/load_url')
    from diffedit.inputs import _Redirects
    import urllib.request
    from diffedit.core import DiffEditError
    with pytest.raises(DiffEditError, match='not an http'):
        _Redirects().redirect_request(urllib.request.Request('http://example.com/a.png'), None, 302, 'Found', {}, 'file:///etc/passwd')

def test_app_temporary_files(app_served):
    "Every edit and URL load goes into the app's own folder, the oldest dropped; closing the app deletes it."
    a, scratch = app_served, app_served['demo'].scratch
    for seed in (1, 2):
        a['client'].predict(a['gc'].handle_file(str(Path(scratch.root)/'toy_2000000004.png')), 'a blue triangle',
                            'a red triangle', 'toy', None, 'clipseg', 1, seed, 2, 0.4, 0.55, 1.0, api_name='/edit')
    subs = [p for p in scratch.root.iterdir() if p.is_dir()]
    assert len(subs) == 2 and all((p/'edit.json').exists() for p in subs)
    from diffedit.app import _Scratch
    s = _Scratch(keep=2); made = [s.new() for _ in range(3)]
    assert [p.exists() for p in made] == [False, True, True]
    s.close(); assert not s.root.exists()

def test_app_preview_never_waits_for_an_edit(app_served, monkeypatch):
    "While an edit repaints (slowed to 6 s), a new picture's preview, which runs CLIPSeg, answers at once."
    import threading
    import diffedit.edit as de
    a, real, inside = app_served, de.repaint, threading.Event()
    def slow(*args, **kw): inside.set(); time.sleep(6); return real(*args, **kw)
    monkeypatch.setattr(de, 'repaint', slow)
    from diffedit.toy import toy_scene
    pic, other = a['dir']/'wait1.png', a['dir']/'wait2.png'
    toy_scene(2_000_000_010).image.save(pic); toy_scene(2_000_000_001).image.save(other)
    t = threading.Thread(target=lambda: a['client'].predict(a['gc'].handle_file(str(pic)), 'a blue circle', 'a red circle', 'toy', None,
                                                            'clipseg', 1, 0, 2, 0.4, 0.55, 1.0, api_name='/edit'), daemon=True)
    t.start(); assert inside.wait(60)
    t0 = time.time(); *_, status = _preview(a, other); took = time.time() - t0
    assert status.startswith('mask:') and '1 model run' in status, status
    assert took < 4, f'the preview waited {took:.1f} s for the edit'
    t.join(60)

def test_app_port_taken(app_served):
    "A taken port: one line naming it (not 'unexpected OSError ... please report it')."
    from diffedit.core import DiffEditError
    port = int(app_served['demo'].local_url.rstrip('/').rsplit(':', 1)[1])
    with pytest.raises(DiffEditError, match=f'port {port} is taken'): app_served['app'].launch(models='toy', port=port, device='cpu', block=False)

def test_app_sigterm_is_a_clean_stop(w, tmp_path):
    "SIGTERM, how a service is stopped: exit 0, no error line, its temporary folder gone."
    pytest.importorskip('gradio')
    import socket
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    (tmp_path/'tmp').mkdir()
    p = run('app', '--models', 'toy', '--device', 'cpu', '--port', port, env={**ENV, 'TMPDIR': str(tmp_path/'tmp')}, wait=False)
    line = p.stdout.readline()  # the app's URL, once it serves
    assert 'diffedit app: http' in line, (line, p.stderr.read() if p.poll() is not None else '')
    assert any(q.name.startswith('diffedit-app-') for q in (tmp_path/'tmp').iterdir())
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0 and 'error' not in err, (p.returncode, err[-800:])
    assert not any(q.name.startswith('diffedit-app-') for q in (tmp_path/'tmp').iterdir()), list((tmp_path/'tmp').iterdir())

def test_app_stop_before_gradio_loop_is_clean():
    "A SIGTERM right after the URL is printed, before gradio's own loop catches it: still a clean stop, not 'interrupted'."
    from diffedit.app import _serve
    class Demo:
        closed = False
        def block_thread(self): raise KeyboardInterrupt  # what the SIGTERM handler raises, here before the loop's try
        def close(self): self.closed = True
    d = Demo()
    try: _serve(d, 'diffedit app: http://127.0.0.1:1')
    except KeyboardInterrupt: pytest.fail("the stop escaped _serve: the CLI would say 'interrupted (Ctrl-C)' and exit 130")
    assert d.closed
