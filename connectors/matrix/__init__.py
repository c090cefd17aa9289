"""Matrix connector: ``ChatClient`` on matrix-nio with E2EE (vodozemac) and cross-signing."""
