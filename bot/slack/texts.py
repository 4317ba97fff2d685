"""Every sentence a user reads, in one place.

Constants are ready-to-send mrkdwn (or plain text where a Block Kit field takes only
plain text: button labels, titles). Functions that put a value into a sentence escape it
(``bot.slack.mrkdwn``), so an agent's or user's text never pings anyone. No sentence ever
carries exception text: problems get a fixed message per kind, with what to do next.
"""

from __future__ import annotations

import math
import re

from bot.domain import QUEUE_MAX
from bot.origami.models import RunStatus
from bot.problems import Problem, ProblemKind
from bot.slack.mrkdwn import clip_escaped, link, mention, one_line

# -- formatting helpers -------------------------------------------------------------------


def duration(seconds: float | None) -> str:
    """45s, 2m 05s, 1h 02m."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        seconds = 0
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def number(value: float) -> str:
    """1,234 for whole numbers, 12.5 otherwise."""
    if not math.isfinite(value):
        return "?"
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.1f}"


# People named in one message, at most (the rest are counted).
_NAMED_MAX = 10


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


# -- the first reply and the live progress line ---------------------------------------------

# The bot is Origami: it speaks for itself, in the first person.
ACK = "⏳ On it. I'm getting started…"
PROGRESS_TITLE = "⏳ *I'm working on it…*"
PROGRESS_PREVIEW = "I'm working on it…"
STOP = "Stop"
STOP_CURRENT = "Stop current run"
STOP_CONFIRM_TITLE = "Stop this run?"
STOP_CONFIRM_TEXT = "I stop after my current step. Everything built so far is kept."
STOP_CONFIRM_YES = "Stop it"
STOP_CONFIRM_NO = "Keep going"


def progress_line(
    *,
    steps_completed: int,
    elapsed_s: float,
    leads_found: int | None = None,
    queued: int = 0,
) -> str:
    """Step 12 · 2m 05s · 37 leads so far · 2 messages queued

    Steps taken, not a bar against the plan's maximum: a run seldom uses most of its
    steps, so "12/50" read as a run a quarter done when it was nearly finished."""
    parts = [f"Step {max(steps_completed, 0):,}", duration(elapsed_s)]
    if leads_found is not None:
        parts.append(f"{plural(leads_found, 'lead')} so far")
    if queued > 0:
        parts.append(f"{plural(queued, 'message')} queued")
    return " · ".join(parts)


def progress_final(
    status: RunStatus, *, elapsed_s: float, steps_completed: int, steps_max: int
) -> str:
    """What the progress line becomes when the run ends: steps taken, not against the
    maximum (3 of 50 read as a run 6 % done)."""
    took = duration(elapsed_s)
    steps = plural(steps_completed, "step")
    if status is RunStatus.COMPLETED:
        return f"✅ Finished in {took} · {steps}"
    if status is RunStatus.NEEDS_INPUT:
        return f"💬 Needs your input · {took} · {steps}"
    if status is RunStatus.CANCELLED:
        return f"⏹️ Stopped after {took} · {steps}"
    if status is RunStatus.INCOMPLETE:
        return f"⚠️ Stopped before finishing · {took} · {steps}"
    if status is RunStatus.STEP_CAP_HIT:
        return f"⚠️ Used all {max(steps_max, 1)} steps · {took}"
    if status is RunStatus.TIMED_OUT:
        return f"⚠️ Timed out after {took} · {steps}"
    if status is RunStatus.ERRORED:
        return f"❌ Failed after {took} · {steps}"
    return f"Ended after {took} · {steps}"


# -- results ----------------------------------------------------------------------------------

NOTHING_TO_SHOW = "✅ Done, but I found nothing to show this time."
CANCELLED_WITH_WORK = "⏹️ Stopped. Here is what I built so far."
CANCELLED_EMPTY = "⏹️ Stopped before anything was built."
NEXT_STEPS_TITLE = "*Suggested next steps*"
CONTINUE = "Continue"
RETRY = "Retry"
INCOMPLETE = (
    "I stopped before I finished this step. Press *Continue* to pick up where I left off, "
    "or reply with what to do next."
)
TIMED_OUT = (
    "I hit the 20-minute limit one run can take. Press *Continue* to pick up where I left off."
)
ERRORED = (
    "I ran into an error and couldn't finish this run. Press *Retry* to try again, "
    "or reply with a different request."
)


def step_cap_hit(steps_max: int) -> str:
    return (
        f"I used all {max(steps_max, 1)} steps one run can take on your plan. "
        "Press *Continue* to keep going from here."
    )


def unknown_status(raw: str) -> str:
    shown = f" ({clip_escaped(one_line(raw), 60)})" if raw.strip() else ""
    return (
        f"This run ended with a status I don't know yet{shown}. "
        "Check the result in Origami, or reply to keep going."
    )


def result_fallback(status: RunStatus, elapsed_s: float | None) -> str:
    """The notification line of a result's first message."""
    took = f" in {duration(elapsed_s)}" if elapsed_s is not None else ""
    if status is RunStatus.COMPLETED:
        return f"Done{took}."
    if status is RunStatus.NEEDS_INPUT:
        return "I need your input."
    if status is RunStatus.CANCELLED:
        return "Stopped. Here is what I built so far."
    if status is RunStatus.ERRORED:
        return "I couldn't finish this run."
    if status.can_continue:
        return "I stopped early. Press Continue to keep going."
    return f"Finished{took}."


# Slack's AI guidelines ask apps to say that answers come from AI.
AI_NOTE = "Answers are written by an AI agent and can be wrong: check a lead before you reach out."
FEEDBACK_GOOD = "Helpful"
FEEDBACK_BAD = "Not helpful"
FEEDBACK_GOOD_LABEL = "This answer was helpful"
FEEDBACK_BAD_LABEL = "This answer was not helpful"
FEEDBACK_THANKS_GOOD = "Thanks for the feedback! Glad this helped."
FEEDBACK_THANKS_BAD = (
    "Thanks for the feedback. Reply in the thread to tell me what to change, and I'll try again."
)
FEEDBACK_ALREADY = "You already gave feedback on this answer. Thanks!"
SHOW_STEPS = "Show steps"
STEPS_TITLE = "What I did"
NO_STEPS = "I used no tools you can see in this run: the answer above is all of it."
STEPS_SHOWN = "The steps of this run are already in the thread."


def steps_more(hidden: int, truncated: bool) -> str:
    parts = []
    if hidden > 0:
        parts.append(f"…and {plural(hidden, 'more step')}.")
    if truncated:
        parts.append("Origami cut this record short; open the run in Origami for all of it.")
    return " ".join(parts)


CONTINUED = "(continued)"
# The last section of a result whose text was cut (bot.slack.blocks.result_overflow).
RESULT_CUT = (
    "✂️ *The answer is too long to show here in full; this is its beginning.* "
    "The full answer is attached as a file."
)

# -- table cards ------------------------------------------------------------------------------

# A card's buttons sit side by side in a card about 260 px wide in Slack's thread pane:
# short labels, and the whole sentence for screen readers.
OPEN_IN_ORIGAMI = "Open"
SHARE_TO_CHANNEL = "Share"
EXPORT_CSV = "CSV"


def open_label(name: str) -> str:
    return f"Open {one_line(table_title(name))[:50]} in Origami"


def share_label(name: str) -> str:
    return f"Share {one_line(table_title(name))[:50]} to the channel"


def export_label(name: str) -> str:
    return f"Export {one_line(table_title(name))[:50]} as a CSV file"


def table_title(name: str) -> str:
    return name.strip() or "Untitled table"


def table_stats(lead_count: int, qualified: int | None) -> str:
    """24 leads · 12 qualified"""
    parts = [plural(lead_count, "lead")]
    if qualified is not None:
        parts.append(f"{qualified:,} qualified")
    return " · ".join(parts)


def table_body(created: bool, leads_added: int, credits_used: float) -> str:
    """What this run did to the table, and what it cost: "New table · 35 credits used"."""
    parts = []
    if created:
        parts.append("New table")
    elif leads_added > 0:
        parts.append(f"{plural(leads_added, 'lead')} added just now")
    if credits_used > 0:
        parts.append(f"{number(credits_used)} credits used")
    return " · ".join(parts)


def still_enriching(name: str, leads: int | None, *, several: bool = False) -> str:
    """Said while a table's cells are still being filled: in leads, not cells."""
    which = f"*{clip_escaped(one_line(table_title(name)), 150)}*: " if several else ""
    if leads is None:
        return f"⏳ {which}Some leads are still being enriched, so the numbers may still go up."
    return (
        f"⏳ {which}{plural(leads, 'lead')} {'is' if leads == 1 else 'are'} still being "
        "enriched, so the numbers may still go up."
    )


PREVIEW_LINK = "Profile"


def preview_note(name: str, shown: int, total: int) -> str:
    """Above a lead preview: which table, and how much of it."""
    what = f"*{clip_escaped(one_line(table_title(name)), 150)}*"
    if total > shown:
        return (
            f"The first {shown:,} of {plural(total, 'lead')} in {what}. Export CSV for all of them."
        )
    return f"{plural(shown, 'lead')} in {what}."


def table_fallback(name: str, lead_count: int) -> str:
    return f"Table {clip_escaped(one_line(name), 200)}: {plural(lead_count, 'lead')}"


def shared_by(user_id: str, thread_link: str | None) -> str:
    """Shared by <@U…> from <link|this thread>"""
    where = f" from {link(thread_link, 'this thread')}" if thread_link else ""
    return f"Shared by {mention(user_id)}{where}"


def csv_exported(user_id: str, lead_count: int) -> str:
    return f"{mention(user_id)} exported {plural(lead_count, 'lead')} as CSV."


# -- questions ----------------------------------------------------------------------------------

QUESTIONS_HINT = "Pick an answer for each question, then press *Send answers*."
SEND_ANSWERS = "Send answers"
NO_ANSWER = "(no answer)"
ANSWERS_SENT = "Answers sent to Origami."
OTHER_OPTIONS = "Options:"
ANSWER_DISPLAY_CHARS = 500


def questions_fallback(count: int) -> str:
    if count == 1:
        return "I have a question for you."
    return f"I have {count} questions for you."


def answered(user_id: str, text: str) -> str:
    """✅ <@U…> answered: *text*"""
    return f"✅ {mention(user_id)} answered: *{clip_escaped(one_line(text), ANSWER_DISPLAY_CHARS)}*"


def more_questions(count: int) -> str:
    return f"…and {plural(count, 'more question')}. Reply in the thread to answer them."


# -- the "Or something else" modal -----------------------------------------------------------

MODAL_TITLE = "Your answer"
MODAL_SUBMIT = "Send"
MODAL_CLOSE = "Cancel"
MODAL_INPUT_LABEL = "Your answer"
MODAL_PLACEHOLDER = "Type your answer. I read it as written."
ANSWER_EMPTY = "Write an answer first."


def answer_too_long(length: int, limit: int) -> str:
    return f"That's {length:,} characters; Origami takes at most {limit:,}. Please shorten it."


# -- problems -------------------------------------------------------------------------------------

PROMPT_MAX_CHARS = 10_000

# Problem.detail of OUT_OF_CREDITS: "<available> of <required>".
_CREDITS_DETAIL_RE = re.compile(r"(-?[0-9][0-9.,]{0,15}) of ([0-9][0-9.,]{0,15})")
_ACCOUNT_BLOCK_REASONS = {
    "payment_failed": "a payment failed",
    "spend_limit_reached": "the spend limit was reached",
    "settlement_pending": "a payment is still settling",
}

_PROBLEM_BUTTONS = {
    ProblemKind.OUT_OF_CREDITS: "Top up credits",
    ProblemKind.PLAN_REQUIRED: "Upgrade plan",
    ProblemKind.BUDGET_EXCEEDED: "Review budgets",
    ProblemKind.ACCOUNT_BLOCKED: "Fix billing",
    ProblemKind.PAYMENT_REQUIRED: "Open billing",
    ProblemKind.BAD_API_KEY: "Open Origami settings",
}
_DEFAULT_PROBLEM_BUTTON = "Open in Origami"


def problem_button(kind: ProblemKind) -> str:
    """The label of the link button that leads to the fix (``Problem.fix_url``)."""
    return _PROBLEM_BUTTONS.get(kind, _DEFAULT_PROBLEM_BUTTON)


# A workspace that installed the app but has no Origami key yet (many workspaces).
NOT_CONNECTED = (
    "This workspace has not connected Origami yet, so nothing was sent. A workspace admin "
    "can connect it in my *Home* tab (click my name, then *Home*), with an API key from "
    "Origami → Settings → Developers."
)


def problem(problem: Problem, *, retrying: bool = False) -> str:
    """The fixed, friendly sentence for a problem: what happened and what to do next."""
    kind = problem.kind
    detail = one_line(problem.detail or "")
    if kind is ProblemKind.NOT_CONNECTED:
        return NOT_CONNECTED
    if kind is ProblemKind.BAD_API_KEY:
        return (
            "Origami rejected the API key. An admin should set a valid `ORIGAMI_API_KEY` "
            "(Origami → Settings → Developers) and restart the app."
        )
    if kind is ProblemKind.OUT_OF_CREDITS:
        counts = _CREDITS_DETAIL_RE.fullmatch(detail)
        have = ""
        if counts is not None:
            have = f" You have {counts[1]} credits; a run needs at least {counts[2]}."
        return (
            "Your Origami workspace is out of credits, so this request was not sent."
            f"{have} Top up credits, then send your message again."
        )
    if kind is ProblemKind.PLAN_REQUIRED:
        return (
            "Your Origami plan doesn't include API access, so this request was not sent. "
            "An admin can upgrade the plan; then send your message again."
        )
    if kind is ProblemKind.BUDGET_EXCEEDED:
        names = f" ({clip_escaped(detail, 300)})" if detail else ""
        return (
            f"A credit budget in Origami is used up{names}, so this request was not sent. "
            "Topping up won't help: an admin needs to raise or reset the budget. "
            "Then send your message again."
        )
    if kind is ProblemKind.ACCOUNT_BLOCKED:
        reason = _ACCOUNT_BLOCK_REASONS.get(detail, clip_escaped(detail.replace("_", " "), 100))
        why = f" because {reason}" if reason else ""
        return (
            f"Origami has paused billing for this account{why}, so this request was not "
            "sent. An admin needs to fix billing in Origami; then send your message again."
        )
    if kind is ProblemKind.PAYMENT_REQUIRED:
        return (
            "Origami needs a billing update before it can run this, so the request was not "
            "sent. An admin should check billing in Origami."
        )
    if kind is ProblemKind.AGENT_NOT_FOUND:
        return (
            "The Origami agent behind this thread no longer exists. "
            "Start a new thread with @Origami to begin again."
        )
    if kind is ProblemKind.NOT_FOUND:
        return "Origami couldn't find that anymore; it may have been deleted."
    if kind is ProblemKind.PROMPT_EMPTY:
        return (
            "Your message was empty, so nothing was sent. Write what you need, for example: "
            "_find 20 seed-stage SaaS founders in Austin_."
        )
    if kind is ProblemKind.PROMPT_TOO_LONG:
        size = f"{int(detail):,}" if detail.isdigit() and detail.isascii() else "too many"
        return (
            f"Your message has {size} characters; Origami takes at most "
            f"{PROMPT_MAX_CHARS:,}. Shorten it and send it again."
        )
    if kind is ProblemKind.INVALID_REQUEST:
        return "Origami couldn't accept this request, so nothing ran. Try rephrasing it."
    if kind is ProblemKind.FORBIDDEN:
        return (
            "The Origami API key isn't allowed to do this. An admin should check the key's "
            "access in Origami."
        )
    if kind is ProblemKind.STORE_DOWN:
        return (
            "I can't reach my database right now, so I couldn't act on this and nothing "
            "was sent to Origami. Please try again in a minute."
        )
    if kind is ProblemKind.UNREACHABLE:
        if retrying:
            return (
                "Origami didn't answer, so your message was *not* sent yet. "
                "I'll try again by myself in a minute."
            )
        return "Origami didn't answer, so your message was *not* sent. Try again in a minute."
    if kind is ProblemKind.UNCONFIRMED:
        if retrying:
            return (
                "Origami is taking a while to confirm your message. I'm checking again "
                "under the same request, so nothing is started twice; the answer comes here."
            )
        return (
            "Origami never confirmed your message, though it may have received it. Check "
            "your agents in Origami before you send it again, so it doesn't run twice."
        )
    if kind is ProblemKind.RATE_LIMITED:
        if retrying:
            return (
                "Origami is busy with too many requests right now. "
                "Your message was not sent yet; I'll try again by myself in a minute."
            )
        return (
            "Origami is busy with too many requests right now, so your message was not "
            "sent. Try again in a minute."
        )
    if kind is ProblemKind.RUN_FAILING:
        return (
            "Origami's answer for this run couldn't be handled here, so I stopped watching "
            "it. Open it in Origami to see what it found, or press Retry to run it again."
        )
    if kind is ProblemKind.RUN_TOO_OLD:
        return (
            "This run didn't finish in the time any Origami run takes, so I stopped watching "
            "it. Open it in Origami to see what it found, or press Retry to run it again."
        )
    if kind is ProblemKind.NOT_SENT:
        count = int(detail) if detail.isdigit() and detail.isascii() else 0
        what = f"{plural(count, 'queued message')} were" if count > 1 else "Your queued message was"
        if count == 1:
            what = "1 queued message was"
        # Name the people whose messages could not go: they are the ones to send again.
        whose = ", ".join(mention(u) for u in problem.who[:_NAMED_MAX])
        if len(problem.who) > _NAMED_MAX:
            whose += f" and {plural(len(problem.who) - _NAMED_MAX, 'other')}"
        whose = f" ({whose})" if whose else ""
        return (
            f"{what} not sent{whose}, because this conversation couldn't start. "
            "Send it again once the problem above is fixed."
        )
    return (
        "Something went wrong on our side, and nothing was sent to Origami. Try again; "
        "if it keeps happening, let the admin of this app know."
    )


def low_credits(balance: float) -> str:
    return (
        f"Your Origami workspace has {number(max(balance, 0))} credits left. Top up soon, "
        "or the next runs will stop for lack of credits."
    )


# -- notes ----------------------------------------------------------------------------------------

USAGE_HINT = (
    "👋 Tell me who you're looking for and I'll find them. For example:\n"
    "> @Origami find 20 seed-stage SaaS founders in Austin\n"
    "Reply in the thread to refine the list; no need to mention me again."
)
FULL_ANSWER_TITLE = "The full answer"
FULL_ANSWER_COMMENT = "My answer was too long for Slack, so here it is in full."
BUTTONS_CLOSED = "The conversation has moved on, so these buttons are closed."
EXPIRED_BUTTONS = "These buttons are no longer active. Reply in the thread to keep going."
ALREADY_DONE = "That's already been taken care of."
ALREADY_SHARED = "This table was already shared to the channel."
TABLE_UNKNOWN = "Origami couldn't find this table anymore; it may have been deleted."
ALREADY_ANSWERED = "This question was already answered."
QUEUE_FULL = (
    f"This thread already has {QUEUE_MAX} messages waiting for Origami, so yours was not "
    "queued. Send it again once Origami has answered."
)
NOT_HERE = "That button belongs to another conversation, so nothing was done."
SHARE_A_FILE = (
    "Share the file in this thread (drag it in, or use + → Upload): a CSV, Excel, PDF or "
    "text file goes to the agent with the message you send it with."
)
_NOTES = {
    "share_a_file": SHARE_A_FILE,
    "queue_full": QUEUE_FULL,
    "not_here": NOT_HERE,
    "already_answered": ALREADY_ANSWERED,
    "expired": EXPIRED_BUTTONS,
    "already_done": ALREADY_DONE,
    "already_shared": ALREADY_SHARED,
    "table_unknown": TABLE_UNKNOWN,
    "thanks_good": FEEDBACK_THANKS_GOOD,
    "thanks_bad": FEEDBACK_THANKS_BAD,
    "feedback_given": FEEDBACK_ALREADY,
    "steps_shown": STEPS_SHOWN,
}


def note(name: str) -> str:
    """A short private note by name (``bot.domain.Note``)."""
    return _NOTES.get(name, ALREADY_DONE)


def already_answered(user_id: str, text: str) -> str:
    shown = clip_escaped(one_line(text), ANSWER_DISPLAY_CHARS)
    return f"This question was already answered by {mention(user_id)}: *{shown}*"


def choice_made(user_id: str, label: str) -> str:
    return f"{mention(user_id)} chose *{clip_escaped(one_line(label), ANSWER_DISPLAY_CHARS)}*"


def stopping(user_id: str) -> str:
    return f"⏹️ {mention(user_id)} asked me to stop."


def queued(position: int) -> str:
    """The busy period's one notice, updated in place as replies come in."""
    if position <= 1:
        return (
            "I'm still working on the last message. Yours is queued and will be "
            "sent when it finishes."
        )
    return (
        f"I'm still working on the last message. {position:,} messages are queued "
        "and will be sent, in order, when it finishes."
    )


def queue_sent(sent: int, left: int) -> str:
    if left > 0:
        return (
            f"Sent {plural(sent, 'waiting message')} to Origami; {left:,} more will follow "
            "when it answers."
        )
    what = "the waiting message" if sent == 1 else f"the {sent:,} waiting messages"
    return f"Sent {what} to Origami."


def waiting_for_slot(busy: int | None, limit: int | None, retry_after_s: float | None) -> str:
    if limit is not None and limit > 0:
        slots = f"All {plural(limit, 'run slot')} on your Origami plan are busy"
        if limit == 1:
            slots = "Your Origami plan's only run slot is busy"
    elif busy is not None and busy > 0:
        slots = f"All your Origami run slots are busy ({busy:,} runs going)"
    else:
        slots = "All your Origami run slots are busy"
    when = ""
    if retry_after_s is not None and math.isfinite(retry_after_s) and retry_after_s > 0:
        when = f" (next check in about {duration(retry_after_s)})"
    return f"⏳ {slots}. Your request will start by itself as soon as one frees up{when}."
