"""Filing: a submission (from mail, chat or the CLI) becomes an agenda item.

``submission`` applies the rules and stores the item; ``tags`` reads the
subject tags that mail subjects and chat messages share.
"""
