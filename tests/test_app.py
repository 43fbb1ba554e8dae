"""The app (`diffedit.app`) served on a free localhost port with the toy models, driven through `gradio_client`.

Offline (conftest sets HF_HUB_OFFLINE). One server for the module; the mask preview, the edit, bad input and
concurrency each go through the page's own API, as the browser does.
"""
import hashlib, json, socket, zipfile, threading
from pathlib import Path
import numpy as np
import pytest
from PIL import Image

gr = pytest.importorskip('gradio', reason='the app needs the `app` extra: pip install "diffedit[app]"')
gradio_client = pytest.importorskip('gradio_client')
from diffedit import app
from diffedit.edit import edit, Models
from diffedit.toy import toy_scene

SEED = 2_000_000_001  # a tuning scene (never a held-out one): a purple triangle, circle and yellow square

def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@pytest.fixture(scope='module')
def served(tmp_path_factory):
    "The app on a free port, a client, and a toy scene saved as a file."
    d = tmp_path_factory.mktemp('app')
    sc = toy_scene(SEED); sc.image.save(d/'scene.png')
    big = toy_scene(2_000_000_004, size=(150, 100)).image; big.save(d/'big.png')  # a blue triangle, larger than the toy models' 64 px, not square
    demo = app.launch(models='toy', port=free_port(), device='cpu', block=False)
    client = gradio_client.Client(demo.local_url, verbose=False, download_files=str(d/'downloads'))
    yield dict(client=client, dir=d, scene=sc, big=big, url=demo.local_url)
    demo.close()

# the API's order: picture, prompts, preset, [editor,] then the settings in `app.APP_SETTINGS` order:
# method, n, seed, num_inference_steps, threshold, noise_threshold, sigma
def preview(c, pic, threshold, sigma=1.0, method='clipseg', source='a purple triangle', target='a blue triangle'):
    return c['client'].predict(gradio_client.handle_file(str(pic)), source, target, 'toy', method, 1, 0, 20, threshold, 0.55, sigma,
                               api_name='/preview')

def mask_of(path, size=(64, 64)):
    "The previewed mask at the picture's size (the page shows small pictures enlarged, pixel for pixel)."
    return np.asarray(Image.open(path).convert('L').resize(size, Image.NEAREST)) > 127

def test_preview_second_threshold_without_model_call(served):
    "The first preview runs CLIPSeg once; another threshold re-uses its heatmaps, and the mask follows the threshold."
    before = app.MODEL_CALLS['clipseg']
    heat, soft, ed, m1, status1 = preview(served, served['dir']/'scene.png', 0.3)
    assert app.MODEL_CALLS['clipseg'] == before + 1, status1
    heat2, soft2, ed2, m2, status2 = preview(served, served['dir']/'scene.png', 0.6)
    assert app.MODEL_CALLS['clipseg'] == before + 1, 'the second threshold re-ran the model'
    assert 'from the cache' in status2
    a, b = mask_of(m1), mask_of(m2)
    assert a.shape == b.shape == (64, 64) and b.sum() < a.sum() and (b <= a).all()  # a higher threshold: a subset
    # the preview's mask is the one `edit` makes with that threshold and smoothing
    res = edit(served['scene'].image, 'a purple triangle', 'a blue triangle', n=1, models=Models('toy', device='cpu'),
               threshold=0.6, sigma=1.0, num_inference_steps=1, progress=False)
    assert ((np.asarray(res.mask) > 127) == b).all()

def test_edit_matches_edit_byte_for_byte(served):
    "The Edit button's pictures, mask and record are `edit()`'s with the same seed, to the byte (a picture larger than the work size)."
    kw = dict(n=2, seed=5, method='clipseg', num_inference_steps=4, threshold=0.4, sigma=1.0)
    gallery, files, status = served['client'].predict(
        gradio_client.handle_file(str(served['dir']/'big.png')), 'a blue triangle', 'a red triangle', 'toy', None, kw['method'],
        kw['n'], kw['seed'], kw['num_inference_steps'], kw['threshold'], 0.55, kw['sigma'], api_name='/edit')
    got = {Path(f).name: Path(f) for f in files}
    res = edit(served['big'], 'a blue triangle', 'a red triangle', models=Models('toy', device='cpu'), progress=False, **kw)
    want = res.save(served['dir']/'direct')
    for p in want:
        if p.suffix == '.png': assert got[p.name].read_bytes() == p.read_bytes(), p.name
    rec, ref = json.loads(got['edit.json'].read_text()), json.loads((served['dir']/'direct'/'edit.json').read_text())
    assert rec['params'] == ref['params'] and rec['seeds'] == ref['seeds'] == [5, 6]
    with zipfile.ZipFile(got['diffedit-edit.zip']) as z: assert sorted(z.namelist()) == sorted(p.name for p in want)
    assert len(gallery) == 2

def test_bad_input_one_line_then_keeps_working(served):
    "An empty source prompt gets edit()'s one-line message; the next request works."
    with pytest.raises(Exception) as e:
        served['client'].predict(gradio_client.handle_file(str(served['dir']/'scene.png')), '  ', 'a blue triangle', 'toy', None,
                                 'clipseg', 1, 0, 2, 0.4, 0.55, 1.0, api_name='/edit')
    msg = str(e.value)
    assert 'the source prompt is empty' in msg and '\n' not in msg.strip(), msg
    with pytest.raises(Exception) as e:
        served['client'].predict('https://', api_name='/load_url')
    assert 'cannot read image' in str(e.value)
    for local in (str(served['dir']/'scene.png'), (served['dir']/'scene.png').as_uri()):  # a shared page must not read the server's files
        with pytest.raises(Exception, match=r'paste an http\(s\):// URL'): served['client'].predict(local, api_name='/load_url')
    *_, status = preview(served, served['dir']/'scene.png', 0.5)
    assert status.startswith('mask:')

def test_missing_weights_one_line(served):
    "Real presets offline: the preview says which model is missing, the edit fails with that one line, the app carries on."
    c, pic = served['client'], gradio_client.handle_file(str(served['dir']/'scene.png'))
    *_, status = c.predict(pic, 'a purple triangle', 'a blue triangle', 'sd15', 'clipseg', 1, 0, 50, 0.3, 0.5, 8.0, api_name='/preview')
    assert 'cannot load' in status and 'offline' in status, status
    with pytest.raises(Exception, match='cannot load'):
        c.predict(pic, 'a purple triangle', 'a blue triangle', 'sd15', None, 'clipseg', 1, 0, 2, 0.3, 0.5, 8.0, api_name='/edit')
    *_, status = preview(served, served['dir']/'scene.png', 0.5)
    assert status.startswith('mask:')

def test_core_does_not_import_gradio():
    "Gradio is an optional extra: the package's other modules never import it."
    import subprocess, sys
    r = subprocess.run([sys.executable, '-c', "import sys, diffedit.edit, diffedit.cli; print('gradio' in sys.modules)"],
                       capture_output=True, text=True, timeout=300)
    assert r.stdout.strip() == 'False', r.stderr

def test_two_concurrent_edits_both_finish(served):
    "Two users press Edit at once (one of them with bad input): the queue runs both; the good one finishes."
    c1 = gradio_client.Client(served['url'], verbose=False, download_files=str(served['dir']/'c1'))
    c2 = gradio_client.Client(served['url'], verbose=False, download_files=str(served['dir']/'c2'))
    pic = gradio_client.handle_file(str(served['dir']/'scene.png'))
    args = lambda seed: (pic, 'a purple triangle', 'a blue triangle', 'toy', None, 'clipseg', 1, seed, 3, 0.4, 0.55, 1.0)
    jobs = [c1.submit(*args(1), api_name='/edit'), c2.submit(*args(2), api_name='/edit'),
            served['client'].submit(pic, 'a purple triangle', 'a purple triangle', 'toy', None, 'clipseg', 1, 0, 3, 0.4, 0.55, 1.0, api_name='/edit')]
    outs = [j.result(timeout=300) for j in jobs[:2]]
    for (gallery, files, status), seed in zip(outs, (1, 2)):
        assert any(Path(f).name == f'edit_0_seed{seed}.png' for f in files)
    with pytest.raises(Exception, match='source and target are the same'): jobs[2].result(timeout=300)

def test_painted_mask_is_used(served):
    "A mask painted with the brush (the editor's layer, at the models' size) is the edit's mask, at the picture's size."
    from diffedit.resize import resize_for_sd
    d, big = served['dir'], served['big']
    work = resize_for_sd(big, size=64).image
    layer = np.zeros((work.height, work.width, 4), np.uint8); layer[5:20, 5:30] = app._MASK_RGBA
    work.save(d/'work.png'); Image.fromarray(layer, 'RGBA').save(d/'layer.png')
    ed = dict(background=gradio_client.handle_file(str(d/'work.png')), layers=[gradio_client.handle_file(str(d/'layer.png'))], composite=None)
    gallery, files, status = served['client'].predict(gradio_client.handle_file(str(d/'big.png')), 'a blue triangle', 'a red triangle',
                                                      'toy', ed, 'clipseg', 1, 0, 2, 0.4, 0.55, 1.0, api_name='/edit')
    assert 'your painted mask' in status
    got = {Path(f).name: Path(f) for f in files}
    want = app.picture_mask(layer[..., 3] > 0, big.size)
    assert ((np.asarray(Image.open(got['mask.png'])) > 127) == want).all()
    assert json.loads(got['edit.json'].read_text())['params']['mask'] == 'given'
