"""Run notebooks as a Colab reader would: `python tools/colab_check.py [NB ...]` (default: index and the lessons).

Each notebook is copied alone into an empty folder and its cells run top to bottom (skipping cells flagged
`gpu`/`slow` and `eval: false`) in a fresh virtual environment that holds only what Colab ships (here: Python and
the CPU build of torch) plus what the notebook's own install cell installs. The install cell's git URL is swapped
for this repository, so the check sees the working tree as a `pip install git+...` would. A notebook that reads a
repository file, imports something its install cell does not install, or needs a model it cannot load offline fails.
Notebooks whose install cells ask for the same packages share one environment.
"""
import json, os, re, shutil, subprocess, sys, tempfile, time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GIT_URL = 'git+https://github.com/diffedit-dev/diffedit'
LESSONS = ['index'] + sorted(p.stem for p in (REPO/'nbs').glob('0*.ipynb'))  # appendices (10+) need the repository

# Runs inside the fresh environment: exec each runnable code cell in one namespace, as a kernel would.
RUNNER = r'''
import json, re, sys, traceback
nb = json.load(open(sys.argv[1]))
ns = {'__name__': '__main__'}
for i, c in enumerate(nb['cells']):
    if c['cell_type'] != 'code': continue
    src = ''.join(c['source'])
    flags = {w for l in src.splitlines() if l.startswith('#|') for w in re.split(r'[\s:]+', l[2:]) if w}
    if flags & {'gpu', 'slow'} or re.search(r'^#\|\s*eval:\s*false', src, re.M): continue
    src = '\n'.join(l for l in src.splitlines() if not l.lstrip().startswith(('%', '!')))
    try: exec(compile(src, f'<cell {i}>', 'exec'), ns)
    except BaseException:
        traceback.print_exc(); print(f'FAILED in cell {i}:\n{src[:500]}', file=sys.stderr); sys.exit(1)
'''

def install_spec(nb:dict)->str:
    "The pip requirement the notebook's install cell asks for (with the git URL)."
    for c in nb['cells']:
        m = re.search(r"""['"]([^'"]*@\s*""" + re.escape(GIT_URL) + r""")['"]""", ''.join(c['source']))
        if m: return m[1]
    raise SystemExit(f'no install cell with {GIT_URL!r} found')

def make_env(root:Path)->Path:
    "A fresh venv with what Colab ships that matters here: the CPU build of torch (pinned as tools/setup.sh does)."
    subprocess.run([sys.executable, '-m', 'venv', str(root)], check=True)
    py = root/'bin'/'python'
    subprocess.run([str(py), '-m', 'pip', 'install', '-q', 'torch==2.13.0'], check=True)
    return py

def main(names):
    work = Path(tempfile.mkdtemp(prefix='colab-check-'))
    (work/'runner.py').write_text(RUNNER)
    envs, failed, t00 = {}, [], time.time()
    env = {**os.environ, 'HF_HUB_OFFLINE': '1', 'TRANSFORMERS_OFFLINE': '1', 'MPLBACKEND': 'Agg', 'PYTHONWARNINGS': 'ignore'}
    env.pop('PYTHONPATH', None); env.pop('VIRTUAL_ENV', None)
    try:
        for name in names:
            src = REPO/'nbs'/f'{name}.ipynb'
            nb = json.loads(src.read_text())
            spec = install_spec(nb)
            if spec not in envs: envs[spec] = make_env(work/f'env{len(envs)}')
            d = work/name; d.mkdir()
            text = src.read_text().replace(GIT_URL, f'file://{REPO}')  # the repository stands in for the git URL
            (d/src.name).write_text(text)
            t0 = time.time()
            r = subprocess.run([str(envs[spec]), str(work/'runner.py'), src.name], cwd=d, env=env,
                               capture_output=True, text=True, timeout=900)
            ok = r.returncode == 0
            print(f"{'ok  ' if ok else 'FAIL'} {name:16s} {time.time()-t0:6.1f} s  ({spec.split('@')[0].strip()})", flush=True)
            if not ok: failed.append(name); print(r.stderr[-3000:], file=sys.stderr)
    finally: shutil.rmtree(work, ignore_errors=True)
    print(f"colab check: {len(names)-len(failed)}/{len(names)} notebooks ran alone in {time.time()-t00:.0f} s")
    return 1 if failed else 0

if __name__ == '__main__': sys.exit(main(sys.argv[1:] or LESSONS))
