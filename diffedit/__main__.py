"`python -m diffedit ...` is the `diffedit` command."
import sys
from diffedit.cli import main
sys.exit(main())
