"Setuptools entry point: package metadata comes from settings.ini, the version from diffedit/__init__.py."
from configparser import ConfigParser
from pathlib import Path
import re
from setuptools import setup, find_packages

here = Path(__file__).parent
cfg = ConfigParser(); cfg.read(here/'settings.ini')
cfg = cfg['DEFAULT']
version = re.search(r'^__version__\s*=\s*"([^"]+)"', (here/'diffedit'/'__init__.py').read_text(), re.M)[1]
licenses = {'apache2': 'Apache Software License 2.0'}
statuses = ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable']

setup(
    name=cfg['lib_name'],
    version=version,
    long_description=(here/'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    license=licenses[cfg['license']],
    author=cfg['author'], author_email=cfg['author_email'],
    keywords=cfg['keywords'].split(),
    classifiers=[f"Development Status :: {statuses[int(cfg['status'])-1]}",
                 'Programming Language :: Python :: 3', 'Topic :: Scientific/Engineering :: Artificial Intelligence'],
    python_requires=f">={cfg['min_python']}",
    packages=find_packages(include=['diffedit', 'diffedit.*']),
    include_package_data=True,
    package_data={'diffedit': ['toy_models/**/*']},
    install_requires=cfg['requirements'].split(),
    extras_require={k: cfg[f'{k}_requirements'].split() for k in ('nb', 'app', 'dev')},
    entry_points={'console_scripts': cfg['console_scripts'].split(),
                  'nbdev': [f"{cfg['lib_name']}={cfg['lib_name']}._modidx:d"]},
    zip_safe=False,
)
