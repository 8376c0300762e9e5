"""Process plumbing shared by the boundaries and the application: logs, metrics, systemd, retries."""
