"The package's shape (issue 16): one settings object reaching every front end, no private names across modules, core for lessons."
import ast, inspect, subprocess, sys
from pathlib import Path
import pytest
import diffedit
from diffedit.settings import FIELDS, Settings, PRESETS

PKG = Path(diffedit.__file__).parent
MODULES = sorted(p for p in PKG.glob('*.py') if p.name not in ('_modidx.py',))

def test_no_private_names_across_modules():
    "No module imports another module's `_private` name (a name another module needs is public, or lives in a module of its own)."
    bad = []
    for p in MODULES:
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or '').startswith('diffedit')):
                bad += [f'{p.name}: from {"." * node.level}{node.module} import {a.name}' for a in node.names if a.name.startswith('_')]
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.attr.startswith('_') and not node.attr.startswith('__'):
                pass  # attribute access on objects is not an import
    assert bad == [], bad

def test_private_import_walker_finds_one(tmp_path):
    "The walker above finds a private import when there is one (so its silence means something)."
    src = "from .noise import _embed\nfrom diffedit.core import load_image\n"
    found = [a.name for n in ast.walk(ast.parse(src)) if isinstance(n, ast.ImportFrom) for a in n.names if a.name.startswith('_')]
    assert found == ['_embed']

def test_core_is_for_lessons():
    "core holds what lessons use, in at most 200 lines; no settings, hub or output-folder machinery."
    text = (PKG/'core.py').read_text()
    assert len(text.splitlines()) <= 200, len(text.splitlines())
    for word in ('OutDir', 'BOUNDS', 'pthread_sigmask', '_hub_reachable', 'ArgError'): assert word not in text, word

def _edit_flags():
    from diffedit.cli import _parser
    p = _parser()
    sub = next(a for a in p._actions if a.__class__.__name__ == '_SubParsersAction').choices['edit']
    group = next(g for g in sub._action_groups if g.title.startswith('settings'))
    return {a.dest: a.option_strings for a in group._group_actions}

def test_every_setting_is_a_flag_and_every_flag_a_setting():
    flags = _edit_flags()
    assert set(flags) == set(FIELDS), set(flags) ^ set(FIELDS)
    from diffedit.cli import FLAGS
    for k, opts in flags.items(): assert FLAGS[k] in opts  # errors name the flag the parser takes

def test_every_app_setting_is_a_control():
    pytest.importorskip('gradio')
    from diffedit import app
    demo = app.build_app('toy', device='cpu')
    want = {k for k, f in FIELDS.items() if f.metadata['app']}
    assert set(demo.setting_controls) == want == set(app.APP_SETTINGS)
    for k, c in demo.setting_controls.items(): assert c.elem_id == f'setting-{k}'

def test_presets_are_settings_and_the_record_is_their_fields():
    from dataclasses import asdict
    assert all(isinstance(p, Settings) for p in PRESETS.values())
    from diffedit.segment import CLIPSEG_ID
    from diffedit.inpaint import INPAINT_ID
    from diffedit.noise import SD_ID
    assert (PRESETS['sd15'].seg_model, PRESETS['sd15'].inpaint_model, PRESETS['sd15'].sd_model) == (CLIPSEG_ID, INPAINT_ID, SD_ID)
    from diffedit.edit import edit, Models
    from diffedit.toy import toy_scene
    sc = toy_scene(2_000_000_002)
    res = edit(sc.image, sc.captions[0], 'a blue circle', models=Models('toy', device='cpu'), n=1, num_inference_steps=2, progress=False)
    assert set(asdict(PRESETS['toy'])) <= set(res.params)

def test_edit_reads_as_the_method():
    "`edit`'s body (after its docstring) is at most 40 lines."
    from diffedit.edit import edit
    lines = inspect.getsource(edit).split('"""')[-1] if '"""' in inspect.getsource(edit) else inspect.getsource(edit)
    body = inspect.getsource(edit).split(')->EditResult:', 1)[1].splitlines()[2:]  # after the signature and the docstring
    assert len([l for l in body if l.strip()]) <= 40, len(body)

def test_models_passed_in_and_no_module_cache():
    "A `Models` owns its pipelines (no module-level cache); components passed in are used as they are."
    import diffedit.edit as E
    assert not [k for k, v in vars(E).items() if isinstance(v, dict) and k.isupper() is False and k.startswith('_LOADED')]
    a, b = E.Models('toy', device='cpu'), E.Models('toy', device='cpu')
    assert a.seg is not b.seg  # two holders, two loads: dropping one frees its models
    c = E.Models('toy', device='cpu', seg=a.seg)
    assert c.seg is a.seg

def test_progress_false_is_quiet(tmp_path):
    "edit(progress=False) in a plain Python process prints nothing but what the libraries print at import."
    code = ("from diffedit.edit import edit, Models\nfrom diffedit.toy import toy_scene\nimport sys\n"
            "sc = toy_scene(2_000_000_002)\nprint('--start--', file=sys.stderr)\n"
            "edit(sc.image, sc.captions[0], 'a blue circle', models='toy', device='cpu', n=1, num_inference_steps=2, progress=False)\n"
            "print('--end--', file=sys.stderr)\n")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300, env={'HF_HUB_OFFLINE': '1', 'PATH': '/usr/bin:/bin'})
    assert r.returncode == 0, r.stderr
    during = r.stderr.split('--start--')[1].split('--end--')[0]
    assert during.strip() == '' and r.stdout == '', during

def test_python_m_diffedit():
    r = subprocess.run([sys.executable, '-m', 'diffedit', '--version'], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.startswith('diffedit '), r.stderr

def test_every_command_has_a_description():
    from diffedit.cli import _parser
    p = _parser()
    sub = next(a for a in p._actions if a.__class__.__name__ == '_SubParsersAction')
    for name, sp in sub.choices.items(): assert sp.description, name
