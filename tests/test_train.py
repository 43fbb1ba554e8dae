"The one training loop (`fit`), pinned to the numbers of the three copied loops it replaced, and the training CLI."
import json
from dataclasses import replace
import pytest, torch
import torch.nn.functional as F
from torch.testing import assert_close
from diffedit.train import STAGES, fit, main, make_text_encoder, toy_tokenizer, train_stage, grow_words, run_tokenizer, _Texts
from diffedit.toy import SHAPE_WORDS
from transformers import CLIPTextModel

# Losses of the first three steps (batch 4, the shipped learning rates) of every stage of the shipped run, trained in
# its order in one folder, as `train_vae`, `train_clipseg` and `train_unet` gave them before they became `fit` (each
# stage's log name: 'unet_inpaint2' is the stage `inpaint2`). Step 1 pins each kind's batches and loss; steps 2-3 the
# optimiser and schedule; the later stages the checkpoints (the VAE's scaling factor, the UNets' EMA) they go on from.
LOSSES = {
    'vae': [0.2847888, 0.2517952, 0.2485222],
    'clipseg': [2.4775002, 2.5651498, 2.4655721],
    'clipseg2': [2.9478681, 2.6896114, 2.8498139],
    'clipseg3': [2.2791386, 2.3394804, 2.7732718],   # p_hard
    'unet_inpaint': [0.9468309, 1.1502093, 0.8517834],   # inpaint_masks
    'unet': [1.0303710, 1.1246548, 1.1282804],   # p_scene 0.7
    'clipseg4': [2.7617674, 2.4274054, 2.8791256],   # p_hard, focus, p_focus
    'clipseg5': [2.5590174, 2.5122006, 2.8563159],
    'unet_inpaint2': [1.1035776, 0.9348228, 0.9760852],   # object_masks, ema_decay 0.998
    'unet2': [0.9057548, 0.9230984, 0.8884131],
    'unet3': [0.9532047, 1.0700419, 1.0473297],   # p_scene 0.3
    # the horse stages (after 'words'), pinned when they were added
    'vae2': [0.3052686, 0.3475136, 0.2013051],   # p_animals 0.6: horse scenes
    'clipseg6': [2.6574364, 2.7614467, 2.7588663],   # animal queries
    'clipseg7': [2.6332328, 2.4165061, 2.4667816],   # black, grey, white horses oversampled
    'clipseg8': [2.3609555, 2.7545395, 2.687237],   # grey horses
    'unet_inpaint3': [1.1024604, 0.9521328, 1.1143171],
    'unet_inpaint4': [2.1591787, 2.0801301, 2.1342094],   # + the recipe's guided prediction
    'clipseg9': [2.7354071, 2.5940773, 2.9173918],
    'unet_inpaint5': [2.204113, 2.1269374, 1.9836588],   # + shapes' negative prompts
    'unet4': [1.0745831, 0.880361, 0.9291165],
    'unet_inpaint6': [2.153347, 1.3891976, 2.205296],   # guided loss for the animals only, guidance 2-6
    'unet5': [0.8127173, 1.0812042, 1.0941972],
    # session 6: lower rates on both worlds; CLIPSeg keeps an EMA (a stage's EMA starts from its checkpoint)
    'clipseg10': [2.4395535, 2.7683799, 2.7031059],
    'unet_inpaint7': [2.0544019, 1.5881026, 1.9584038],
    'unet6': [1.065985, 1.0650226, 1.0781909],
    'clipseg11': [3.0321176, 2.7091839, 2.6945646],
    'unet_inpaint8': [1.0869639, 1.1378995, 0.9278286],
    'clipseg12': [2.8048549, 2.5112734, 2.6359272],
    'unet_inpaint9': [0.7792296, 1.5506462, 0.8971951],
    'clipseg13': [2.4180083, 3.1138396, 2.8513954],
    'unet_inpaint10': [2.234549, 2.1282387, 1.0900176],
    'clipseg14': [2.6110466, 2.466095, 2.5829964],   # reads the scene at 128 px
}
SCALING_FACTOR = 0.9758181571960449  # the VAE's, set from the latents of 256 scenes when it is saved

@pytest.fixture(scope='module')
def run(tmp_path_factory):
    d, threads = tmp_path_factory.mktemp('run'), torch.get_num_threads()
    torch.set_num_threads(1)  # as the numbers were recorded; and on a busy CPU, 6 s instead of 45
    try:
        make_text_encoder(toy_tokenizer(SHAPE_WORDS), 0).save_pretrained(d/'text_encoder', safe_serialization=True)  # the first stages' words
        logs = []
        for s in STAGES:
            if s.kind == 'words': grow_words(d); continue
            logs.append(train_stage(d, replace(s, steps=3, bs=4), seed=0, log_every=100))
        yield d, logs
    finally: torch.set_num_threads(threads)

def test_stages_pinned(run):
    _, logs = run
    got = {l.name: [h['loss'] for h in l.hist] for l in logs}
    assert list(got) == list(LOSSES)
    assert_close(got, LOSSES, rtol=1e-5, atol=1e-6)  # threads and CPUs move them by about 1e-7
    assert_close(logs[0].record['scaling_factor'], SCALING_FACTOR, rtol=1e-5, atol=0)

def test_records(run):
    d, logs = run
    rec = {s.name: l.record for s, l in zip([s for s in STAGES if s.kind != 'words'], logs)}
    assert {k: (r['steps'], r['batch_size'], r['stopped_at']) for k, r in rec.items() if r['stopped_at']} == \
           {'vae': (3, 4, 1000), 'clipseg4': (3, 4, 700), 'inpaint3': (3, 4, 1100)}
    assert rec['inpaint2']['ema_decay'] == rec['sd2']['ema_decay'] == 0.998 and rec['sd3']['ema_decay'] == 0.999
    assert rec['clipseg10']['ema_decay'] == 0.995 and rec['clipseg12']['ema_decay'] == 0.998 and 'ema_decay' not in rec['clipseg9']
    assert rec['clipseg14']['ema_decay'] == 0.99
    assert set(rec['clipseg']['final']) == {'loss', 'iou'} and set(rec['vae']['final']) == {'loss', 'psnr'}
    assert {p.name for p in d.iterdir() if p.is_dir()} == {'text_encoder', 'vae', 'clipseg', 'unet', 'unet_inpaint'}
    assert (d/'unet_inpaint2.log').read_text().startswith('unet_inpaint2 step 3/3 loss')

def test_fit_stop_checkpoints_ema():
    lin, xs, seen, saved = torch.nn.Linear(1, 1), torch.linspace(-1, 1, 8)[:, None], [], []
    def loss_fn(m):
        seen.append(m.weight.item())
        return F.mse_loss(m(xs), 3*xs), dict(w=m.weight.item())
    log = fit(lin, loss_fn, lambda m: saved.append(m.weight.item()), steps=10, lr=1, stop=5, ckpt_every=2,
              ema_decay=0.5, ema_warmup=False)
    assert len(log.hist) == 5 and len(saved) == 3  # stopped at 5 of 10; saved after steps 2, 4 and the last
    assert [h['w'] for h in log.hist] == seen
    w0, w1, w2 = seen[:3]
    assert_close(saved[0], 0.25*w0 + 0.25*w1 + 0.5*w2)  # what is saved is the EMA, not the weights
    assert lin.weight.item() != saved[-1]

def test_cli(tmp_path, capsys):
    main(['--run', str(tmp_path), '--out', '', '--models', 'clipseg', '--steps', 'clipseg=3', '--stop', 'clipseg=2'])
    r = json.loads((tmp_path/'train.json').read_text())['clipseg']
    assert (r['steps'], r['batch_size'], r['stopped_at']) == (3, 32, 2)
    assert (tmp_path/'clipseg'/'model.safetensors').exists()
    with pytest.raises(ValueError, match='no stage'): main(['--run', str(tmp_path), '--out', '', '--models', 'clipseg99'])
    main(['--run', str(tmp_path), '--out', str(tmp_path/'out'), '--export-only'])
    assert (tmp_path/'out'/'clipseg'/'config.json').exists() and not (tmp_path/'out'/'sd').exists()
    assert "'clipseg': 0.9" in capsys.readouterr().out

def test_grow_words(tmp_path):
    "New words get new embeddings; every caption of the shapes-only world encodes exactly as before (the trained models read it)."
    old = toy_tokenizer(SHAPE_WORDS)
    make_text_encoder(old, 0).save_pretrained(tmp_path/'text_encoder', safe_serialization=True)
    te0 = CLIPTextModel.from_pretrained(tmp_path/'text_encoder')
    grow_words(tmp_path)
    new, te1 = run_tokenizer(tmp_path), CLIPTextModel.from_pretrained(tmp_path/'text_encoder')
    assert len(new) > len(old) and new.tokenize('a brown horse and a zebra') == ['a</w>', 'brown</w>', 'horse</w>', 'and</w>', 'a</w>', 'zebra</w>']
    caps = ['a red circle', 'a white square and a blue triangle', '']
    assert torch.equal(_Texts(old, te0)(caps), _Texts(new, te1)(caps))
    h = _Texts(new, te1)(['a horse', 'a zebra'])
    assert (h[0] - h[1]).abs().max() > 0.1  # the new words are told apart

def test_clipseg_at_larger_size():
    "CLIPSeg read at 128 px (`clipseg14` on): every weight kept but the position embeddings, whose grid is the old one enlarged."
    from transformers import CLIPSegForImageSegmentation
    from diffedit.train import _clipseg_reading, make_clipseg
    te = make_text_encoder(toy_tokenizer(SHAPE_WORDS), 0)
    m = make_clipseg(te, 0)  # 64 px: 16x16 patches
    assert _clipseg_reading(m, te, 0, 64) is m and _clipseg_reading(m, te) is m
    big, k = _clipseg_reading(m, te, 0, 128), 'clip.vision_model.embeddings.position_embedding.weight'
    old, new = m.state_dict(), big.state_dict()
    assert big.config.vision_config.image_size == 128 and new[k].shape == (1 + 32*32, old[k].shape[1])
    assert [n for n in old if n != k and not n.endswith('position_ids') and not torch.equal(old[n], new[n])] == []
    assert torch.equal(new[k][0], old[k][0])  # the class token's
    grid = lambda w, g: w[1:].T.reshape(1, -1, g, g)
    back = F.avg_pool2d(grid(new[k], 32), 2)  # each old patch is 2x2 new ones: their mean is close to the old embedding
    assert (back - grid(old[k], 16)).abs().mean() < 0.2*(grid(old[k], 16).transpose(-1, -2) - grid(old[k], 16)).abs().mean()
    x = torch.rand(1, 3, 128, 128)
    assert big(input_ids=torch.tensor([[0, 5, 1]]), pixel_values=x).logits.shape[-2:] == (128, 128)
