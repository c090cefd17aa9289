"""Mail as bytes to mail as meaning: ``parse.parse_mail`` is the one entry point.

``parse`` orchestrates; ``headers`` and ``charsets`` decode, ``parts`` walks the
MIME tree, ``attachments`` applies limits (with ``tnef`` for winmail.dat and
``filenames`` for display names), ``html`` turns HTML into text, and
``signals`` reads auto-reply, list, bounce and authentication headers.
``worker`` runs the parsing in worker processes (``worker_main``), so that
only they import the parsing libraries: this package imports nothing itself.
"""
