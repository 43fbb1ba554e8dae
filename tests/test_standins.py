"The stand-ins' fixtures (`tools/standins.py`) on tiny models: the hub cache loads by the real ids offline; tokenizers save as the SD repos ship them."
import sys
from pathlib import Path
import torch
from transformers import CLIPSegForImageSegmentation, CLIPTokenizer
from diffusers import StableDiffusionInpaintPipeline
from diffedit.tiny import tiny_clipseg, tiny_inpaint, clip_tokenizer
from diffedit.segment import CLIPSEG_ID
from diffedit.inpaint import INPAINT_ID
sys.path.insert(0, str(Path(__file__).resolve().parent.parent/'tools'))
from standins import hub_cache, save_tokenizer

def test_hub_cache_loads_by_id(tmp_path):
    hub = hub_cache({CLIPSEG_ID: tiny_clipseg(tmp_path/'clipseg'), INPAINT_ID: tiny_inpaint(tmp_path/'inpaint')}, tmp_path/'hub')
    assert sorted(str(p.relative_to(hub)) for p in hub.glob('*/*/*')) == [
        'models--CIDAS--clipseg-rd64-refined/refs/main',
        'models--CIDAS--clipseg-rd64-refined/snapshots/8bd5cd1383e8364e8cb2119775519532ef2600eb',
        'models--stable-diffusion-v1-5--stable-diffusion-inpainting/refs/main',
        'models--stable-diffusion-v1-5--stable-diffusion-inpainting/snapshots/cd0da38eee50e3ae8ed58d62da634505d915f423']
    seg = CLIPSegForImageSegmentation.from_pretrained(CLIPSEG_ID, cache_dir=hub, local_files_only=True)
    pipe = StableDiffusionInpaintPipeline.from_pretrained(INPAINT_ID, cache_dir=hub, local_files_only=True, use_safetensors=True)
    assert pipe.unet.config.in_channels == 9
    ref = CLIPSegForImageSegmentation.from_pretrained(tmp_path/'clipseg').state_dict()
    assert all(torch.equal(v, ref[k]) for k, v in seg.state_dict().items())  # the same weights as the folder's

def test_save_tokenizer_as_sd_repos(tmp_path):
    tok = clip_tokenizer()
    long_prompt = ' '.join(['a zebra with black and white stripes standing in tall golden grass'] * 10)
    save_tokenizer(tok, tmp_path, tokenizer_json=False)  # vocab.json + merges.txt, no tokenizer.json
    assert {'merges.txt', 'tokenizer_config.json', 'vocab.json'} <= {p.name for p in tmp_path.iterdir()}
    assert not (tmp_path/'tokenizer.json').exists()
    assert CLIPTokenizer.from_pretrained(tmp_path)(long_prompt).input_ids == tok(long_prompt).input_ids
