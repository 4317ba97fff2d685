"""The sentences of the workspace's settings: the note to a person the app may not answer,
App Home's settings section and its modal.

Apart from ``bot.slack.texts`` (already long); the same rules: fixed sentences, what to
do next, nothing from a payload unescaped.
"""

from __future__ import annotations

from bot.workspace_settings import NotAllowed

_NOTHING_SENT = "Nothing was sent to Origami."
NOT_ALLOWED: dict[NotAllowed, str] = {
    NotAllowed.CHANNEL: (
        "I don't answer in this channel: this workspace's admins chose the channels I work "
        f"in. {_NOTHING_SENT} Ask a workspace admin to add it in my *Home* tab, or talk to "
        "me in one of those channels or in a DM."
    ),
    NotAllowed.GROUP: (
        "Only members of some user groups can start agents in this workspace, and you're "
        f"not in one of them. {_NOTHING_SENT} Ask a workspace admin to add you to one (the "
        "choice is in my *Home* tab)."
    ),
    NotAllowed.UNCHECKED: (
        "Only members of some user groups can start agents in this workspace, and Slack "
        f"didn't tell me just now who is in them. {_NOTHING_SENT} Try again in a minute; "
        "if it keeps happening, let a workspace admin know."
    ),
    NotAllowed.UNREADABLE: (
        "I couldn't read this workspace's settings for me (who may start agents, and where), "
        f"so I'm not starting any for now. {_NOTHING_SENT} Try again in a minute; if it keeps "
        "happening, let a workspace admin know: saving the settings in my *Home* tab fixes it."
    ),
}


SETTINGS_TITLE = "Settings"
CHANGE = "Change settings"
CHANNELS_ALL = "*Answers in:* every channel I'm invited to (and DMs)."
CHANNELS_SOME = "*Answers in:* {channels} (and DMs)."
AUDIENCE_EVERYONE = "*Who may start agents:* everyone in the workspace."
AUDIENCE_GROUPS = "*Who may start agents:* members of {groups}."
PROMPTS_DEFAULT = "*Suggested prompts in my Messages tab:* the app's defaults."
PROMPTS_OWN = "*Suggested prompts in my Messages tab:* {count} of this workspace's own."
SETTINGS_UNREADABLE = (
    "*The saved settings couldn't be read* (perhaps another version of the app wrote them), "
    "so I start no agents for anyone until a workspace admin saves them again with "
    "*Change settings*."
)
MODAL_UNREADABLE = (
    "The saved settings couldn't be read, so these are the defaults: check them, then save "
    "to start answering again."
)
ONLY_ADMINS = (
    "Only a workspace admin or owner, or whoever installed the app, can change these settings."
)

MODAL_TITLE = "Origami settings"
MODAL_SUBMIT = "Save"
MODAL_CLOSE = "Cancel"
CHANNELS_LABEL = "Channels where I answer"
CHANNELS_HINT = "Leave empty to answer in every channel I'm invited to. DMs always work."
AUDIENCE_LABEL = "Who may start agents"
AUDIENCE_EVERYONE_OPTION = "Everyone"
AUDIENCE_GROUPS_OPTION = "Members of the user groups below"
GROUPS_LABEL = "User groups"
GROUPS_NONE = (
    "No user group could be listed (the workspace has none, or the app lacks the "
    "`usergroups:read` scope: reinstall it from the manifest). Everyone may start agents."
)
GROUPS_UNLISTED_LIMITED = (
    "Slack didn't list the workspace's user groups just now (or the app lacks the "
    "`usergroups:read` scope: reinstall it from the manifest), so who may start agents "
    "can't be changed here now. It stays as it is: members of {groups}. Saving changes the "
    "rest only; try again in a minute to change it."
)
PROMPT_TITLE_LABEL = "Suggested prompt {n}: title"
PROMPT_MESSAGE_LABEL = "Suggested prompt {n}: what it sends"
PROMPTS_HINT = "Leave all four empty to keep the app's defaults."

ERROR_GROUPS_NEEDED = "Choose at least one user group, or let everyone start agents."
ERROR_UNKNOWN_GROUP = "Choose from the workspace's user groups."
ERROR_TOO_MANY_CHANNELS = "Choose at most {n} channels."
ERROR_TOO_MANY_GROUPS = "Choose at most {n} user groups."
ERROR_BAD_CHANNEL = "Choose channels from the list."
ERROR_PROMPT_HALF = "Give both a title and what it sends, or leave both empty."
ERROR_PROMPT_TITLE = "A title is one line of at most {n} characters."
ERROR_PROMPT_MESSAGE = "At most {n} characters."
