"""Move imports out of a notebook's lesson cells into its hidden import cell.

nbdev's docs pre-processing executes every cell that contains an import (besides exported and show_doc
cells); a lesson cell that also uses earlier results then fails there. Usage:
`python tools/hoist_imports.py nbs/05_inpaint.ipynb ...` (prints what it moved; run nbdev-clean after)."""
import ast, json, sys

def _is_import_cell(src):
    try: tree = ast.parse(src)
    except SyntaxError: return False
    return bool(tree.body) and all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in tree.body)

def hoist(path):
    nb = json.load(open(path))
    code = [c for c in nb['cells'] if c['cell_type'] == 'code']
    src = lambda c: ''.join(c['source'])
    home = next((c for c in code if src(c).startswith('#| hide') and 'import' in src(c) and
                 _is_import_cell('\n'.join(l for l in src(c).split('\n') if not l.startswith('#|')))), None)
    if home is None: return print(f'{path}: no hidden import cell, skipped')
    moved = []
    for c in code:
        s = src(c)
        if c is home or 'google.colab' in s or s.lstrip().startswith(('#| export', '#| exporti', '#| exports')) or '#| eval: false' in s: continue
        body = '\n'.join(l if not l.startswith('#|') else '' for l in s.split('\n'))
        try: tree = ast.parse(body)
        except SyntaxError: continue
        imps = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
        if not imps or _is_import_cell(body): continue
        lines = s.split('\n')
        drop = set()
        for n in imps:
            if n.end_lineno != n.lineno: continue
            line = lines[n.lineno-1]
            if line.strip() != ast.get_source_segment(body, n).strip(): continue  # shares its line: leave it
            drop.add(n.lineno-1); moved.append(line.strip())
        c['source'] = '\n'.join(l for i, l in enumerate(lines) if i not in drop).splitlines(True)
    if moved:
        have = src(home).split('\n')
        home['source'] = '\n'.join(have + [m for m in dict.fromkeys(moved) if m not in have]).splitlines(True)
        json.dump(nb, open(path, 'w'), indent=1, ensure_ascii=False)
    print(f'{path}: moved {moved}')

if __name__ == '__main__':
    for p in sys.argv[1:]: hoist(p)
