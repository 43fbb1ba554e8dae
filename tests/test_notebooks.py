"Run every notebook top to bottom (as `nbdev-test` does, skipping cells flagged `gpu`/`slow`), one pytest test each."
from pathlib import Path
import pytest
import nbdev.test as nbtest  # the module, not `test_nb`, or pytest would collect it
from nbdev.config import get_config

cfg = get_config(Path(__file__).parent)
notebooks = sorted(p for p in cfg.nbs_path.glob('*.ipynb') if not p.name.startswith('_'))
flags = cfg.tst_flags.split()

@pytest.mark.parametrize('nb', notebooks, ids=[p.stem for p in notebooks])
def test_notebook(nb):
    ok, secs = nbtest.test_nb(nb, skip_flags=flags, basepath=cfg.config_path, cell_timeout=cfg.cell_timeout)
    assert ok, f'{nb.name} failed (traceback above)'
