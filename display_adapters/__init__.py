"""Display adapters: one driver per board kind, a registry, and the simulator.

A leaf package: no Flask, no `cms`. `base` defines what a driver offers
(`DisplayAdapter`: push a manifest, read status, poll plays, declared
capabilities) and its errors; `registry` lists the kinds (built-in and from the
`panoled.display_adapters` entry points); `options` checks a board's options
for its kind; `signing` signs and verifies messages between the CMS and boards.
"""
