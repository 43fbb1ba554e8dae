"""Edit notebook cells from the shell (for authors and scripted changes): list, replace, insert, delete.

python tools/nbedit.py NB list                      # index, id, type, first line
python tools/nbedit.py NB show ID                   # a cell's source
python tools/nbedit.py NB replace ID FILE           # replace a cell's source with FILE's text (- = stdin)
python tools/nbedit.py NB insert AFTER_ID TYPE FILE # insert a new cell (code|markdown) after AFTER_ID ('top' = first)
python tools/nbedit.py NB delete ID
Outputs of replaced cells are cleared. Cell ids are kept stable (nbdev-export depends on them).
"""
import json, secrets, sys
from pathlib import Path

def load(p): return json.loads(Path(p).read_text())
def save(p, nb): Path(p).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
def find(nb, cid):
    for i, c in enumerate(nb['cells']):
        if c.get('id') == cid or str(i) == cid: return i
    sys.exit(f'no cell {cid}')
def text(f): return sys.stdin.read() if f == '-' else Path(f).read_text()
def cell(kind, src):
    c = dict(cell_type=kind, id=secrets.token_hex(4), metadata={}, source=src.rstrip('\n').splitlines(True))
    if kind == 'code': c.update(execution_count=None, outputs=[])
    return c

if __name__ == '__main__':
    p, cmd, *a = sys.argv[1:]
    nb = load(p)
    if cmd == 'list':
        for i, c in enumerate(nb['cells']): print(i, c.get('id'), c['cell_type'][:2], ''.join(c['source']).split('\n')[0][:70])
    elif cmd == 'show': print(''.join(nb['cells'][find(nb, a[0])]['source']))
    elif cmd == 'replace':
        c = nb['cells'][find(nb, a[0])]; c['source'] = text(a[1]).rstrip('\n').splitlines(True)
        if c['cell_type'] == 'code': c['outputs'], c['execution_count'] = [], None
        save(p, nb)
    elif cmd == 'insert':
        i = -1 if a[0] == 'top' else find(nb, a[0])
        nb['cells'].insert(i + 1, cell(a[1], text(a[2]))); save(p, nb); print(nb['cells'][i+1]['id'])
    elif cmd == 'delete': del nb['cells'][find(nb, a[0])]; save(p, nb)
