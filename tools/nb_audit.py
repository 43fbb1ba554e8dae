"""Audit the notebooks as a tutorial: `python tools/nb_audit.py [--check]`.

Prints one row per notebook, in reading order:
- cells, figures (outputs holding a picture);
- fwd: imports of a `diffedit` module exported by a *later* notebook (any cell, hidden or not; `index`
  is the overview of the finished package and may import anything);
- gpu-rel: `#| gpu` cells that read a repository-relative file (a notebook opened alone on Colab has none);
- md>150: markdown cells over 150 words;
- noisy: outputs with a warning, a traceback or a local `.venv` path;
- test_fail: `test_fail` calls in visible cells (error-path tests belong in hidden cells or `tests/`);
- med/long: median and longest visible code cell, in lines (`#|` flag lines not counted);
- md_words: words of markdown; raise: `raise` statements in visible exported cells.
With `--check`, exits 1 unless fwd, gpu_rel, md150, noisy and test_fail are 0 and lessons 01-05 have >= 3 figures;
with `--lessons` too, the method lessons (METHOD) must also have median <= 3, longest <= 25, raise <= 3, figures >= 4.
"""
import json, re, statistics, sys
from pathlib import Path

NBS = Path(__file__).resolve().parent.parent/'nbs'
_IMPORT = re.compile(r'^\s*(?:from\s+diffedit\.(\w+)\s+import|import\s+diffedit\.(\w+))', re.M)
_REL = re.compile(r"""['"](?!https?://)(?:\.{1,2}/|images/|nbs/|tests/|diffedit/)[^'"]*['"]""")
_NOISY = re.compile(r'Warning\b|Traceback|/\.venv/|site-packages/|Loading weights|torchvision|it/s\]')

def _src(c): return ''.join(c['source']) if isinstance(c['source'], list) else c['source']
def _flags(s): return {w for l in s.splitlines() if l.startswith('#|') for w in l[2:].replace(':', ' ').split()}

def _out_text(o):
    if o.get('output_type') == 'error': return 'Traceback'
    if o.get('output_type') == 'stream': return ''.join(o.get('text', ''))
    return ''.join(o.get('data', {}).get('text/plain', ''))

def audit(nbs=NBS):
    paths = sorted(p for p in nbs.glob('*.ipynb') if not p.name.startswith('_') and p.stem != 'index')
    paths += [nbs/'index.ipynb'] if (nbs/'index.ipynb').exists() else []
    order = {}  # module -> position of the notebook that exports it
    for i, p in enumerate(paths):
        for c in json.loads(p.read_text())['cells']:
            m = re.search(r'^#\|\s*default_exp\s+(\w+)', _src(c), re.M)
            if m: order[m[1]] = i
    rows = []
    for i, p in enumerate(paths):
        cells = json.loads(p.read_text())['cells']
        r = dict(notebook=p.stem, cells=len(cells), figures=0, fwd=0, gpu_rel=0, md150=0, noisy=0, test_fail=0, med=0, long=0, md_words=0, raise_=0)
        sizes = []
        for c in cells:
            s = _src(c)
            if c['cell_type'] == 'markdown':
                r['md150'] += len(s.split()) > 150
                r['md_words'] += len(s.split())
                continue
            fl = _flags(s)
            if 'hide' not in fl:
                code = [l for l in s.splitlines() if l.strip() and not l.startswith('#|')]
                if code: sizes.append(len(code))
                if 'export' in fl: r['raise_'] += len(re.findall(r'\braise\b', s))
            if p.stem != 'index':
                r['fwd'] += sum(order.get(a or b, -1) > i for a, b in _IMPORT.findall(s))
            r['gpu_rel'] += 'gpu' in fl and bool(_REL.search(s))
            if 'hide' not in fl: r['test_fail'] += s.count('test_fail(')
            for o in c.get('outputs', []):
                r['figures'] += any(k.startswith('image/') for k in o.get('data', {}))
                r['noisy'] += bool(_NOISY.search(_out_text(o)))
        r['med'], r['long'] = (statistics.median(sizes), max(sizes)) if sizes else (0, 0)
        rows.append(r)
    return rows

def table(rows):
    cols = list(rows[0])
    lines = ['| ' + ' | '.join(cols) + ' |', '|' + '---|' * len(cols)]
    lines += ['| ' + ' | '.join(str(r[c]) for c in cols) + ' |' for r in rows]
    return '\n'.join(lines)

METHOD = ('00a_toy', '01_resize', '02_segment', '03_mask', '04_smooth', '05_inpaint', '06_noise_mask', '07_ddim')  # the method lessons

def lesson_problems(rows):
    "The method lessons' rhythm: short cells, few raises on the reading path, pictures."
    bad = []
    for r in rows:
        if r['notebook'] not in METHOD: continue
        for k, lim, worse in (('med', 3, 'over'), ('long', 25, 'over'), ('raise_', 3, 'over'), ('figures', 4, 'under')):
            if (r[k] > lim) if worse == 'over' else (r[k] < lim): bad.append(f"{r['notebook']}: {k}={r[k]} ({worse} {lim})")
    return bad

def problems(rows):
    bad = [f"{r['notebook']}: {k}={r[k]}" for r in rows for k in ('fwd', 'gpu_rel', 'md150', 'noisy', 'test_fail') if r[k]]
    bad += [f"{r['notebook']}: only {r['figures']} figures" for r in rows if r['notebook'] in METHOD[1:6] and r['figures'] < 3]
    return bad

if __name__ == '__main__':
    rows = audit()
    print(table(rows))
    if '--check' in sys.argv:
        bad = problems(rows) + (lesson_problems(rows) if '--lessons' in sys.argv else [])
        for b in bad: print('nb_audit:', b, file=sys.stderr)
        sys.exit(1 if bad else 0)
