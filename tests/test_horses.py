"The horse world: scenes, the stripe and coat tests against the drawing's truth, and scoring edits of each kind."
import numpy as np
import pytest
from diffedit.core import DiffEditError
from diffedit.toy import horse_scene, horse_mask, paint_animal, toy_scene, EVAL_SEED0, COATS, ANIMALS, STRIPES
from diffedit.metrics import stripes, is_zebra, is_horse, coat_of, edit_task, score_edit, KINDS, evaluate

def test_scenes_are_seeded_and_exact():
    for i in range(40):
        a, b = horse_scene(EVAL_SEED0 + i), horse_scene(EVAL_SEED0 + i)
        assert np.array_equal(np.asarray(a.image), np.asarray(b.image)) and a.captions == b.captions
        assert sum(o[1] in ANIMALS for o in a.objects) in (1, 2)
        total = np.sum(a.masks, 0)
        assert total.max() == 1  # objects never overlap
        img = np.asarray(a.image)
        for (coat, kind), m in zip(a.objects, a.masks):
            if kind == 'horse': assert (img[m] == COATS[coat]).all()
            if kind == 'zebra': assert {tuple(p) for p in img[m]} == {STRIPES['dark'], STRIPES['light']}
    assert horse_scene(EVAL_SEED0, size=(96, 64)).image.size == (96, 64)
    assert [o[1] for o in horse_scene(EVAL_SEED0 + 5, animals=('horse', 'zebra')).objects][:2] in (['horse', 'zebra'], ['zebra', 'horse'])

def test_shape_scenes_unchanged():
    "Adding horses left the shapes-only world as it was: the first shipped stages and the recolouring scores read it."
    s = toy_scene(EVAL_SEED0 + 13)
    assert s.caption == 'a white circle and a green circle and a red triangle' and int(np.asarray(s.image, np.int64).sum()) == 2007495

def test_horse_mask_faces_and_fits():
    m, along = horse_mask(32, 32, 50, 64, 64)
    ys, xs = np.nonzero(m)
    assert xs.min() >= 32 - 25 - 1 and xs.max() <= 32 + 25 + 1  # `s` is the width
    flipped, _ = horse_mask(32, 32, 50, 64, 64, facing=-1)
    assert abs(int(flipped.sum()) - int(m.sum())) <= 4 and (flipped[:, ::-1] == m).mean() > 0.98
    assert np.isfinite(along[m]).mean() > 0.9  # only the ear and tail have no stripes coordinate

def test_stripe_and_coat_tests_on_the_truth():
    z = h = 0; zebra_ok = horse_ok = 0
    for i in range(200):
        s = horse_scene(EVAL_SEED0 + i)
        for (coat, kind), m in zip(s.objects, s.masks):
            if kind == 'zebra': z += 1; zebra_ok += is_zebra(s.image, m) and not is_horse(s.image, m)
            if kind == 'horse':
                h += 1; horse_ok += is_horse(s.image, m) and not is_zebra(s.image, m) and coat_of(s.image, m)[0] == coat
    assert z > 60 and h > 60 and zebra_ok/z > 0.97 and horse_ok == h

def test_piebald_is_not_a_zebra():
    "Two big patches, dark and light, pass the shares but not the bands: the test needs stripes, not just both colours."
    m, _ = horse_mask(32, 32, 50, 64, 64)
    img = np.full((64, 64, 3), 120.)
    img[m] = STRIPES['dark']; img[m & (np.arange(64)[None] > 32)] = STRIPES['light']
    st = stripes(img.astype(np.uint8), m)
    assert st['dark'] > 0.2 and st['light'] > 0.2 and not is_zebra(img.astype(np.uint8), m)

def _paint_zebra_over(s, j):
    "The scene with animal `j` repainted as a zebra of the same silhouette, by hand."
    img, m = np.asarray(s.image).astype(np.float64).copy(), s.masks[j]
    upright = np.where(m, np.arange(img.shape[1])[None].repeat(img.shape[0], 0), np.nan)  # bands across the rows
    return paint_animal(img, 'zebra', m, upright, period=6).round().astype(np.uint8)

def test_score_edit_kinds():
    s, j, src, tgt, goal = edit_task(EVAL_SEED0 + 4, kind='horse->zebra')
    assert (src, tgt, goal) == ('a horse', 'a zebra', 'zebra') and s.objects[j][1] == 'horse'
    same = score_edit(s, j, goal, s.image, s.masks[j])  # nothing edited: still a horse
    assert same['became_target'] is False and same['iou'] == 1.0 and same['exact_outside']
    zebra = _paint_zebra_over(s, j)
    assert score_edit(s, j, goal, zebra, s.masks[j]) == dict(iou=1.0, became_target=True, shape_kept=True, exact_outside=True)
    s2, j2, src2, tgt2, goal2 = edit_task(EVAL_SEED0 + 4, kind='zebra->horse')
    assert (src2, tgt2, goal2) == ('a zebra', 'a horse', 'horse') and s2.objects[j2][1] == 'zebra'
    assert score_edit(s2, j2, goal2, s2.image, s2.masks[j2])['became_target'] is False
    brown = np.asarray(s2.image).copy(); brown[s2.masks[j2]] = COATS['brown']
    assert score_edit(s2, j2, goal2, brown, s2.masks[j2]) == dict(iou=1.0, became_target=True, shape_kept=True, exact_outside=True)
    outside = brown.copy(); outside[0, 0] = 255 - outside[0, 0]
    assert score_edit(s2, j2, goal2, outside, s2.masks[j2])['exact_outside'] is False

def test_kinds_refused():
    with pytest.raises(DiffEditError, match='recolour, horse->zebra, zebra->horse'): edit_task(EVAL_SEED0, kind='cat->dog')
    with pytest.raises(DiffEditError, match='use some of'): evaluate(scenes=1, kinds=('horse->cat',))
    assert KINDS == ('recolour', 'horse->zebra', 'zebra->horse')
