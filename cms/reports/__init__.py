"""Reports: the acceptance report page and its downloads."""
