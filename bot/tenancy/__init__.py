"""Who the app serves, and with which credentials.

One workspace (``SLACK_BOT_TOKEN``, ``ORIGAMI_API_KEY`` in the environment), or many:
each installs the app through Slack's OAuth flow and connects its own Origami key in App
Home. The rest of the app asks two questions and never knows which mode it runs in:

- ``bot.tenancy.slack.SlackFor.for_team(team)``: the Slack client for a workspace;
- ``bot.tenancy.origami.OrigamiFor.for_team(team)``: the Origami client for a workspace.

``team`` is always a workspace key (``bot.tenancy.workspace.Workspace.key``), the same that
scopes every Redis key. Installations, OAuth states and Origami keys live in a SQL
database (``bot.tenancy.database``); the keys are encrypted (``bot.tenancy.secrets``).
"""
