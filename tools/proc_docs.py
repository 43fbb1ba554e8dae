"""The offline part of `nbdev-docs`: regenerate nbdev.yml and sidebar.yml and pre-process every notebook
into `_proc/` (runs show_doc and import cells) exactly as `nbdev-proc-nbs` does, without nbdev's
attempt to download Quarto first. Fails if any notebook would break the site. Quarto renders `_proc/`
on GitHub (see .github/workflows/deploy.yaml)."""
import os
from nbdev.config import get_config
from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar
from nbdev.doclinks import _build_modidx
from nbdev.serve import proc_nbs

cfg = get_config()
os.chdir(cfg.config_path)
refresh_quarto_yml()
_build_modidx()
nbdev_sidebar.__wrapped__(path=cfg.nbs_path)
cache = proc_nbs(n_workers=0, force=True)
print(f'processed {len(list(cache.glob("*.ipynb")))} notebooks into {cache}')
