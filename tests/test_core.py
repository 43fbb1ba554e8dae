"""diffedit.core's error paths, moved out of the 00_core lesson: URLs from a local server, loading models that fail."""
import http.server, threading, time, warnings
from pathlib import Path
import numpy as np
import pytest
from PIL import Image
from diffedit.core import DiffEditError
from diffedit.inputs import read_image as load_image
from diffedit.settings import ArgError
from diffedit.hub import from_pretrained

@pytest.fixture(scope='module')
def server(tmp_path_factory):
    "A small web server on 127.0.0.1 serving a folder, with a path that streams without Content-Length and one that answers slowly."
    d = tmp_path_factory.mktemp('www')
    Image.fromarray(np.arange(48*32, dtype=np.uint8).reshape(32, 48)).save(d/'photo.png')
    (d/'notes.txt').write_text('not an image')
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k): super().__init__(*a, directory=str(d), **k)
        def log_message(self, *a): pass
        def do_GET(self):
            if self.path == '/endless':  # no Content-Length: only streaming can stop it
                self.send_response(200); self.end_headers()
                try:
                    for _ in range(64): self.wfile.write(b'\0' * 65536)
                except (BrokenPipeError, ConnectionResetError): pass
            elif self.path == '/slow': time.sleep(1); super().do_GET()
            else: super().do_GET()
    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address): pass  # a client that gave up (the time-out test) is expected
    s = Server(('127.0.0.1', 0), Handler)
    threading.Thread(target=s.serve_forever, daemon=True).start()
    yield d, f'http://127.0.0.1:{s.server_address[1]}'
    s.shutdown(); s.server_close()

def test_url_reads(server):
    d, base = server
    assert (np.asarray(load_image(f'{base}/photo.png'))[..., 0] == np.asarray(Image.open(d/'photo.png'))).all()

@pytest.mark.parametrize('path,kw,msg', [('photo.png', dict(max_bytes=100), 'larger than max_bytes=100'),
                                         ('endless', dict(max_bytes=200_000), 'larger than max_bytes'),
                                         ('nothing.png', {}, 'HTTP 404'), ('slow', dict(timeout=0.2), 'timeout=0.2'),
                                         ('notes.txt', {}, 'not an image'), ('photo.png', dict(max_pixels=100), 'megapixels')])
def test_url_errors(server, path, kw, msg):
    with pytest.raises(DiffEditError, match=msg.replace('(', r'\(')): load_image(f'{server[1]}/{path}', **kw)

@pytest.fixture(scope='module')
def sd(tmp_path_factory):
    "A tiny text-to-image pipeline saved twice: full (float32) weight files only, and fp16 variant files only."
    import torch
    from diffusers import StableDiffusionPipeline
    from diffedit.tiny import tiny_sd
    d = tmp_path_factory.mktemp('sd')
    tiny_sd(d/'full')
    StableDiffusionPipeline.from_pretrained(d/'full').save_pretrained(d/'fp16', variant='fp16')
    return d

def test_fp16_variant_files(sd):
    "A diffusers pipeline in float16 loads the fp16 weight files where the folder has them (it has no others here)."
    import torch
    from diffusers import StableDiffusionPipeline
    with warnings.catch_warnings():
        warnings.simplefilter('error', UserWarning)  # no fallback notice
        p = from_pretrained(StableDiffusionPipeline, sd/'fp16', 'pipeline', dtype=torch.float16)
    assert p.unet.dtype == torch.float16

def test_fp16_fallback_to_full_files(sd):
    "Without fp16 files: the full ones, converted, with a one-line notice."
    import torch
    from diffusers import StableDiffusionPipeline
    with pytest.warns(UserWarning, match='no fp16 weight files') as rec:
        p = from_pretrained(StableDiffusionPipeline, sd/'full', 'pipeline', dtype=torch.float16)
    assert p.unet.dtype == torch.float16 and len([r for r in rec if 'fp16' in str(r.message)]) == 1
    p = from_pretrained(StableDiffusionPipeline, sd/'full', 'pipeline')  # float32: the full files, no variant asked
    assert p.unet.dtype == torch.float32

def test_wrong_kind_and_corrupt_weights(sd, tmp_path):
    "An inpainting-less check: a text-to-image folder loads; truncated safetensors (SafetensorError) is one line, cut between words."
    import shutil
    from diffusers import StableDiffusionPipeline
    from transformers import CLIPSegForImageSegmentation, CLIPTextModel
    from diffedit.toy import TOY_MODELS
    shutil.copytree(TOY_MODELS/'clipseg', tmp_path/'seg')
    f = tmp_path/'seg'/'model.safetensors'; f.write_bytes(f.read_bytes()[:1000])
    with pytest.raises(DiffEditError, match='cannot load the CLIPSeg model') as e:
        from_pretrained(CLIPSegForImageSegmentation, tmp_path/'seg', 'CLIPSeg model')
    assert len(str(e.value).splitlines()) == 1
    with pytest.raises(DiffEditError, match="not 'clip_text_model'|cannot load"):
        from_pretrained(CLIPTextModel, TOY_MODELS/'clipseg', 'text encoder')
    with pytest.raises(DiffEditError, match='4'):
        from_pretrained(StableDiffusionPipeline, TOY_MODELS/'inpaint', 'Stable Diffusion pipeline')

def test_unreachable_hub(monkeypatch):
    "Online with the Hub unreachable: an immediate line naming HF_HUB_OFFLINE=1, the toy models and local folders."
    import diffedit.hub as core
    from transformers import AutoConfig
    monkeypatch.setattr(core, '_offline', lambda kw: bool(kw.get('local_files_only')))
    monkeypatch.setattr(core, '_endpoint', lambda: 'http://127.0.0.1:9')  # nothing listens there
    t = time.time()
    with pytest.raises(ArgError) as e: from_pretrained(AutoConfig, 'nobody/no-such-model', 'test model')
    assert time.time() - t < 10
    msg = str(e.value)
    assert 'HF_HUB_OFFLINE=1' in msg and "models='toy'" in msg and 'local folder' in msg
    assert "--models toy" in e.value.render({'models_toy': '--models toy'})

# --- the lessons' loaders through the hub: the one-line errors Part 2 gives them ---

def test_lesson_loaders_through_the_hub(tmp_path):
    from diffedit.segment import load_clipseg, CLIPSEG_ID
    from diffedit.inpaint import load_inpaint
    from diffedit.toy import TOY_MODELS
    (tmp_path/'empty').mkdir()
    cases = [(lambda: load_clipseg(tmp_path/'empty', device='cpu', loader=from_pretrained), 'not a saved CLIPSeg'),
             (lambda: load_clipseg(device='cpu', loader=from_pretrained), f"{CLIPSEG_ID!r}: not a model folder, and not in the local Hugging Face cache"),
             (lambda: load_inpaint(TOY_MODELS/'sd', device='cpu', loader=from_pretrained), 'not an inpainting model'),
             (lambda: load_inpaint(TOY_MODELS/'clipseg', device='cpu', loader=from_pretrained), 'cannot load the inpainting model'),
             (lambda: load_inpaint('nobody/no-such-inpainting-model', device='cpu', loader=from_pretrained), 'cannot load the inpainting model')]
    for f, msg in cases:
        with pytest.raises(DiffEditError) as e: f()
        assert msg in str(e.value) and '\n' not in str(e.value), str(e.value)
