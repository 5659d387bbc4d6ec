from sim.cli import entry

raise SystemExit(entry())
