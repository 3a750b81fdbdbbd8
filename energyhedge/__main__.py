"""Allow ``python -m energyhedge``."""

from energyhedge.cli import main

raise SystemExit(main())
