"""Approval requests beyond the web queue (SAF-3): email with signed links, Slack with buttons, Teams cards.

Every path ends in ``apps.safety.enforcement.approve`` / ``reject``: the same conditional claim, so an action
approved from any channel (or from two at once) still runs exactly once.
"""
