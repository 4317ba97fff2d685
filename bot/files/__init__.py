"""Files shared with the app: which it takes (``limits``), and how each reaches the agent
(``attach``: downloaded from Slack, uploaded to the agent's Origami workspace, passed in
the run's attachments), once per Slack file however often a send is tried."""
