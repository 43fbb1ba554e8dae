"""Run every notebook top to bottom (as `nbdev-test` does, skipping cells flagged `gpu`/`slow`), one pytest test each.

`.ci/run` sets DIFFEDIT_LESSONS_ALONE=1: the lessons are then left to `tools/colab_check.py`, which runs each of them
alone in a fresh environment later in the same job, so CI does not run them twice."""
import importlib.util, os
from pathlib import Path
import pytest
import nbdev.test as nbtest  # the module, not `test_nb`, or pytest would collect it
from nbdev.config import get_config

cfg = get_config(Path(__file__).parent)
notebooks = sorted(p for p in cfg.nbs_path.glob('*.ipynb') if not p.name.startswith('_'))
flags = cfg.tst_flags.split()
_spec = importlib.util.spec_from_file_location('colab_check', cfg.config_path/'tools'/'colab_check.py')
_colab = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(_colab)
LESSONS = set(_colab.LESSONS)  # the notebooks tools/colab_check.py runs: its own list, so the two cannot drift apart

@pytest.mark.parametrize('nb', notebooks, ids=[p.stem for p in notebooks])
def test_notebook(nb):
    if os.environ.get('DIFFEDIT_LESSONS_ALONE') == '1' and nb.stem in LESSONS: pytest.skip('run alone by tools/colab_check.py in .ci/run')
    ok, secs = nbtest.test_nb(nb, skip_flags=flags, basepath=cfg.config_path, cell_timeout=cfg.cell_timeout)
    assert ok, f'{nb.name} failed (traceback above)'
