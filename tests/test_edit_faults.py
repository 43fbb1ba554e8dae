"edit() faults that only the lead's modules can fix (issue 19): several threads, and the input's colour profile."
import threading
import numpy as np
from diffedit.edit import edit, Models
from diffedit.toy import toy_scene, EVAL_SEED0

def _jobs():
    scenes = [toy_scene(EVAL_SEED0 + i, size=64, n_objects=1) for i in (3, 7, 11, 13)]
    return [(s.image, s.captions[0], s.captions[0].replace(s.objects[0][0], 'blue' if s.objects[0][0] != 'blue' else 'red'), m, steps)
            for s, m, steps in zip(scenes, ('clipseg', 'clipseg', 'noise', 'clipseg'), (4, 9, 6, 13))]  # other step counts: a shared scheduler would mix them

def _run(models_for, jobs):
    out = [None]*len(jobs)
    def go(i, image, source, target, method, steps):
        out[i] = edit(image, source, target, models=models_for(i), method=method, n=2, num_inference_steps=steps, progress=False)
    ts = [threading.Thread(target=go, args=(i, *j)) for i, j in enumerate(jobs)]
    for t in ts: t.start()
    for t in ts: t.join(timeout=600)
    return out

def test_threads_share_one_models_safely():
    jobs, shared = _jobs(), Models('toy', device='cpu')
    alone = [edit(im, s, t, models=shared, method=m, n=2, num_inference_steps=k, progress=False) for im, s, t, m, k in jobs]
    for together in (_run(lambda i: shared, jobs), _run(lambda i, own=[Models('toy', device='cpu') for _ in jobs]: own[i], jobs)):
        for a, b in zip(alone, together):
            assert b is not None
            for x, y in zip(a.images, b.images): assert (np.asarray(x) == np.asarray(y)).all()

def test_outputs_keep_the_inputs_colour_profile(tmp_path):
    "The edited pictures and the grid carry the input's ICC profile (issue 19, kind 10); the grey mask has none."
    from PIL import Image, ImageCms
    prof = ImageCms.ImageCmsProfile(ImageCms.createProfile('sRGB')).tobytes()
    sc = toy_scene(2_000_000_002); sc.image.save(tmp_path/'in.png', icc_profile=prof)
    res = edit(tmp_path/'in.png', sc.captions[0], 'a blue circle', models='toy', device='cpu', n=1, num_inference_steps=2, progress=False)
    got = {p.name: Image.open(p).info.get('icc_profile') for p in res.save(tmp_path/'out') if p.suffix == '.png'}
    assert got == {'edit_0_seed0.png': prof, 'mask.png': None, 'grid.png': prof}
