"""The media library: campaign assets, uploads, renditions and approval."""
