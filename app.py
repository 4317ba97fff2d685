"""The Slack CLI's entry point: ``slack run`` starts this file.

The CLI's start hook (from the ``slack-cli-hooks`` package, ``pip install -e '.[cli]'``)
runs ``app.py`` from the project root, with ``SLACK_BOT_TOKEN`` and ``SLACK_APP_TOKEN``
of the development app it installed: the app then runs in Socket Mode. It runs as
``python -m bot`` does, both halves in one process; the rest of the settings come from
``.env`` as usual.
"""

from bot.__main__ import main

if __name__ == "__main__":
    # The hook's own command-line arguments are not the app's: no role, the one process.
    main([])
