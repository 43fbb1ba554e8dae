"""Write a notebook from a percent-format draft: `python tools/mknb.py drafts/03_mask.py nbs/03_mask.ipynb`.

Drafting tool for authors who prefer a text editor: `# %%` starts a code cell, `# %% [markdown]` a
markdown cell whose lines start with `# ` (stripped). The notebook is the source of truth afterwards.
"""
import json, re, secrets, sys
from pathlib import Path

def cells_from_percent(text):
    cells, kind, lines = [], None, []
    def flush():
        if kind is None: return
        src = '\n'.join(lines).strip('\n')
        if kind == 'markdown': src = '\n'.join(re.sub(r'^# ?', '', l) for l in src.split('\n'))
        if src.strip(): cells.append(dict(cell_type=kind, id=secrets.token_hex(4), metadata={}, source=src.splitlines(True),
                                          **({} if kind == 'markdown' else dict(execution_count=None, outputs=[]))))
    for line in text.split('\n'):
        m = re.match(r'^# %%\s*(\[markdown\])?\s*$', line)
        if m:
            flush(); kind, lines = ('markdown' if m[1] else 'code'), []
        elif kind is not None: lines.append(line)
    flush()
    return cells

def write_nb(cells, dest):
    nb = dict(cells=cells, metadata=dict(kernelspec=dict(display_name='python3', language='python', name='python3')),
              nbformat=4, nbformat_minor=5)
    Path(dest).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')

if __name__ == '__main__':
    src, dest = sys.argv[1:3]
    write_nb(cells_from_percent(Path(src).read_text()), dest)
