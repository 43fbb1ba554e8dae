"""Rerun notebooks in place so their saved outputs come from an honest run: `python tools/run_nbs.py NB [NB ...]`.

Each notebook runs top to bottom in a fresh kernel from `nbs/`, offline (`HF_HUB_OFFLINE=1`), as the docs site will
show it. Cells flagged `gpu`/`slow` (and `eval: false`) are skipped and keep no output, as CI skips them. A notebook
that fails is left as it was; the failing cell is printed. NB is a path or a name (`03_mask`).
"""
import copy, os, re, sys, time
from pathlib import Path
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbdev.config import get_config

NBS = Path(__file__).resolve().parent.parent/'nbs'
SKIP = set(get_config(NBS.parent).tst_flags.split())  # the flags nbdev-test and CI skip (pyproject's tst_flags: gpu, slow)

def skipped(src:str)->bool:
    "Flagged `gpu`/`slow`, or `eval: false`: not run, output cleared."
    flags = {w for l in src.splitlines() if l.startswith('#|') for w in re.split(r'[\s:]+', l[2:]) if w}
    return bool(flags & SKIP) or bool(re.search(r'^#\|\s*eval:\s*false', src, re.M))

def run(path:Path, timeout:int=900)->bool:
    nb = nbformat.read(path, as_version=4)
    work = copy.deepcopy(nb)  # a copy whose skipped cells are blank
    for c in work.cells:
        if c.cell_type == 'code' and skipped(c.source): c.source = ''
    t0 = time.time()
    client = NotebookClient(work, timeout=timeout, kernel_name='python3', resources={'metadata': {'path': str(NBS)}},
                            extra_arguments=['--InlineBackend.figure_formats=retina'])  # figures at twice the pixels, as saved before
    try: client.execute()
    except CellExecutionError as e:
        print(f'{path.name}: FAILED, left unchanged\n{str(e)[:3000]}', file=sys.stderr); return False
    for c, w in zip(nb.cells, work.cells):
        if c.cell_type != 'code': continue
        c.outputs, c.execution_count = ([], None) if skipped(c.source) else (w.outputs, w.execution_count)
        c.metadata.pop('execution', None)
    nbformat.write(nb, path)
    print(f'{path.name}: ran in {time.time() - t0:.0f} s')
    return True

if __name__ == '__main__':
    # ipywidgets is not installed here (Colab has it): tqdm's 'IProgress not found' would be a warning no reader sees
    os.environ.update(HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1', MPLBACKEND='module://matplotlib_inline.backend_inline',
                      PYTHONWARNINGS='ignore:IProgress not found')
    names = sys.argv[1:] or sys.exit(__doc__)
    paths = [Path(n) if n.endswith('.ipynb') else NBS/f'{n}.ipynb' for n in names]
    sys.exit(0 if all([run(p) for p in paths]) else 1)
