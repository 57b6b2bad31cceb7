"""Domain operations shared by the web UI, the API, the CLI and the scheduler."""
