"""Media: upload validation, probing, thumbnails, board renditions, LED previews,
text banners and file storage.

A leaf package: no Flask and no `cms` imports; plain dataclasses in and out
(see media.types), and `media.errors.MediaRejected` for files that cannot be taken.
"""
