"""Schedule resolution for Panoled boards.

`scheduler.model` holds the plain frozen dataclasses the resolver takes and
returns; `scheduler.resolver.resolve` turns boards and schedule rules into one
timeline per board. Those two modules are pure: no Flask, no `cms`, no
database, no clock (the window to resolve is passed in), standard library only.
The service that publishes manifests on a schedule lives beside them and is the
only part of this package that talks to the rest of the application.
"""
