"""Chat surfaces: the platforms besides the widget where people talk to Gaby (Slack, Teams; SRC-4).

``base`` is what every surface shares: the ``Inbound`` message a platform adapter builds from its event, the
``Outbound`` it registers to post in its threads, and ``receive``, which turns an inbound message into a conversation
message and an answer task. ``routing`` maps a workspace to its client (public schema); ``tasks`` answers and
delivers. One package per platform (``slack/``, ``teams/``) holds the rest.
"""
