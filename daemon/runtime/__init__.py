"""The running daemon: ``wiring`` builds the components from the config (the one
place that knows the connectors), ``app`` runs them in one TaskGroup per phase,
``systemd`` and ``logs`` speak to the service manager and the journal.
"""
