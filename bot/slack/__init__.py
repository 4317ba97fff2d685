"""The Slack side: app and listeners, pure Block Kit builders, and the Presenter."""
