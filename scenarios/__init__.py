"""Runnable studies, one module each, registered when imported: ``sim.scenario.get(name)``
imports the one it needs, ``sim.scenario.load_scenarios()`` all of them."""
