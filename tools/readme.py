"""Write README.md from nbs/index.ipynb (`python tools/readme.py`; `--check` fails if README.md is stale).

On GitHub, `nbdev-docs` renders the README with Quarto; Quarto cannot be installed on the machines that
build this project, so this script does the same plain conversion here: markdown cells as they are,
code cells (not hidden) as Python blocks, image links made relative to the repository root."""
import json, re, sys
from pathlib import Path

root = Path(__file__).parent.parent

def render(nb_path=root/'nbs'/'index.ipynb'):
    nb = json.loads(Path(nb_path).read_text())
    parts = ['<!-- Generated from nbs/index.ipynb by tools/readme.py: edit the notebook, not this file. -->']
    for c in nb['cells']:
        src = ''.join(c['source'])
        lines = src.split('\n')
        if c['cell_type'] == 'markdown':
            parts.append(re.sub(r'(!\[[^\]]*\]\()(images/)', r'\1nbs/\2', src))
        elif c['cell_type'] == 'code' and not any(l.strip() == '#| hide' for l in lines):
            code = '\n'.join(l for l in lines if not l.startswith('#|')).strip('\n')
            if code: parts.append(f'```python\n{code}\n```')
    return '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    text, dest = render(), root/'README.md'
    if '--check' in sys.argv:
        if dest.read_text() != text: sys.exit('README.md is out of date with nbs/index.ipynb: run python tools/readme.py')
    else: dest.write_text(text)
