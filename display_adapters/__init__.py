"""Display adapters: one driver per board kind, a registry, and the simulator.

A leaf package: no Flask, no `cms`. For now it knows the board kinds and checks
their options; the drivers themselves (pushing manifests, reading status and play
logs) arrive with the display-adapter work.
"""
