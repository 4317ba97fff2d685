"""What the manifest declares that the running app must agree with: the bot scopes it asks
for, and what each is for (the doctor names the feature a missing scope stops), and the
domains whose links Slack sends it to unfurl."""

from __future__ import annotations

# The bot scopes of slack-app-manifest.yml (oauth_config.scopes.bot) and what each is for;
# a test keeps the two the same. Kept here because an installed app has no manifest file.
MANIFEST_BOT_SCOPES: dict[str, str] = {
    "app_mentions:read": "@Origami starts a conversation",
    "channels:history": "thread replies in public channels",
    "groups:history": "thread replies in private channels",
    "im:history": "messages in DMs with the app",
    "mpim:history": "messages in group DMs",
    "chat:write": "answers, progress, questions, agent sessions and the thread status",
    "files:write": "Export CSV",
    "files:read": "files shared with a prompt",
    "users:read": "names in shared cards",
    "assistant:write": "suggested prompts in the Messages tab",
    "commands": "/origami",
    "links:read": "pasted table links",
    "links:write": "unfurling table links",
}

# slack-app-manifest.yml's features.unfurl_domains (a test keeps them the same). Slack
# sends link_shared for these domains and their subdomains only, so ORIGAMI_APP_URL's host
# must be one of them for pasted table links to unfurl (the doctor checks it).
MANIFEST_UNFURL_DOMAINS: tuple[str, ...] = ("origami.chat",)
