"""The application: the cycle's executor, the daemon and the commands, wiring core and adapters."""
