"""Agents on a schedule: a prompt Origami runs on a cron (a *scheduled agent*), made from
a result in Slack, whose every run is posted as a new thread in a channel and continues
there like any conversation.

- ``when``: the modal's choices, a custom cron, a cron in words;
- ``records``: what the app keeps of a schedule (its channel, who made it);
- ``manage``: create one from the modal, list them, pause, resume, delete (who may);
- ``runs``: the worker's poller, which finds each new run once and opens its thread.
"""
